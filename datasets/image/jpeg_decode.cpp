// JPEG decoding through libjpeg with errors turned into exceptions (setjmp kept to plain-data frames).
#include "datasets/image/jpeg_decode.h"

#include <csetjmp>
#include <cstdio>
#include <stdexcept>

#include <jpeglib.h>

namespace hanvit::data {
namespace {

struct JpegErrors {
  jpeg_error_mgr manager;  // first, so libjpeg's pointer to it is a pointer to the whole
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void on_error(j_common_ptr info) {
  auto* errors = reinterpret_cast<JpegErrors*>(info->err);
  (*info->err->format_message)(info, errors->message);
  std::longjmp(errors->jump, 1);
}

void on_message(j_common_ptr) {}  // warnings (e.g. extraneous bytes) are not errors for us

// The decoder's state; only plain data lives in the frames a longjmp can cross.
struct JpegDecoder {
  jpeg_decompress_struct info;
  JpegErrors errors;
  bool created = false;

  JpegDecoder() {
    info.err = jpeg_std_error(&errors.manager);
    errors.manager.error_exit = on_error;
    errors.manager.output_message = on_message;
  }
  ~JpegDecoder() {
    if (created) jpeg_destroy_decompress(&info);
  }
};

bool read_header(JpegDecoder& d, const uint8_t* data, size_t size) {
  if (setjmp(d.errors.jump)) return false;
  jpeg_create_decompress(&d.info);
  d.created = true;
  jpeg_mem_src(&d.info, data, static_cast<unsigned long>(size));
  jpeg_read_header(&d.info, TRUE);
  return true;
}

bool read_pixels(JpegDecoder& d, J_COLOR_SPACE out_space, uint8_t* out, size_t stride) {
  if (setjmp(d.errors.jump)) return false;
  d.info.out_color_space = out_space;
  jpeg_start_decompress(&d.info);
  while (d.info.output_scanline < d.info.output_height) {
    JSAMPROW row = out + d.info.output_scanline * stride;
    jpeg_read_scanlines(&d.info, &row, 1);
  }
  jpeg_finish_decompress(&d.info);
  return true;
}

}  // namespace

std::optional<cv::Mat> decode_jpeg(std::span<const uint8_t> bytes, const std::string& name) {
  JpegDecoder decoder;
  const auto corrupt = [&]() {
    return std::invalid_argument("image '" + name + "': corrupt JPEG data (" + decoder.errors.message + ")");
  };
  if (!read_header(decoder, bytes.data(), bytes.size())) throw corrupt();
  const J_COLOR_SPACE space = decoder.info.jpeg_color_space;
  if (space == JCS_CMYK || space == JCS_YCCK) return std::nullopt;
  const bool gray = space == JCS_GRAYSCALE;
  cv::Mat image(static_cast<int>(decoder.info.image_height), static_cast<int>(decoder.info.image_width),
                gray ? CV_8UC1 : CV_8UC3);
  if (!read_pixels(decoder, gray ? JCS_GRAYSCALE : JCS_RGB, image.data, image.step)) throw corrupt();
  return image;
}

}  // namespace hanvit::data
