// Image decoding: header check and pixel cap, libjpeg for JPEG and cv::imdecode for the rest, then PIL-compatible
// conversion to 8-bit RGB.
#include "datasets/image/decode.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>
#include <vector>

#include "datasets/image/exif_orientation.h"
#include "datasets/image/image_header.h"
#include "datasets/image/jpeg_decode.h"

namespace hanvit::data {
namespace {

[[noreturn]] void fail(const std::string& name, const std::string& problem) {
  throw std::invalid_argument("image '" + name + "': " + problem);
}

// libjpeg fills a truncated scan with gray and only warns, so a JPEG must reach its end-of-image
// marker. Inside entropy-coded data 0xFF is always followed by 0x00 or a restart marker, so the
// bytes FF D9 after the first start-of-scan can only be that marker.
bool jpeg_has_end_marker(std::span<const uint8_t> bytes) {
  static constexpr uint8_t kStartOfScan[] = {0xFF, 0xDA}, kEndOfImage[] = {0xFF, 0xD9};
  const auto scan = std::search(bytes.begin(), bytes.end(), std::begin(kStartOfScan), std::end(kStartOfScan));
  return std::search(scan, bytes.end(), std::begin(kEndOfImage), std::end(kEndOfImage)) != bytes.end();
}

// 16-bit samples to 8 bits the way PIL opens them: gray ("I;16") converts to "L" by clipping at
// 255, colour PNGs are read keeping the high byte of each sample.
cv::Mat to_8bit(const cv::Mat& image) {
  cv::Mat out;
  if (image.channels() == 1)
    image.convertTo(out, CV_8U);  // saturates: values above 255 become 255
  else
    image.convertTo(out, CV_8U, 1.0 / 256.0, -127.5 / 256.0);  // (v - 127.5) / 256 is never a tie: rounds to v >> 8
  return out;
}

// `image` in OpenCV's channel order (BGR, BGRA) to RGB; `rgb_order` when it is RGB already.
cv::Mat to_rgb(const cv::Mat& image, const std::string& name, bool rgb_order) {
  cv::Mat rgb;
  switch (image.channels()) {
    case 1:
      cv::cvtColor(image, rgb, cv::COLOR_GRAY2RGB);
      break;
    case 2: {  // gray + alpha: keep the gray plane
      cv::Mat gray;
      cv::extractChannel(image, gray, 0);
      cv::cvtColor(gray, rgb, cv::COLOR_GRAY2RGB);
      break;
    }
    case 3:
      if (rgb_order) return image;
      cv::cvtColor(image, rgb, cv::COLOR_BGR2RGB);
      break;
    case 4:
      cv::cvtColor(image, rgb, cv::COLOR_BGRA2RGB);
      break;
    default:
      fail(name, "unsupported channel count " + std::to_string(image.channels()));
  }
  return rgb;
}

}  // namespace

cv::Mat decode_image(std::span<const uint8_t> bytes, const std::string& name, const DecodeOptions& options) {
  const ImageHeader header = read_image_header(bytes, name);
  const char* format = image_format_name(header.format);
  const uint64_t pixels = uint64_t{header.width} * header.height;
  if (pixels > options.max_pixels)
    fail(name, std::string(format) + " of " + std::to_string(header.width) + "x" + std::to_string(header.height) +
                   " pixels exceeds the limit of " + std::to_string(options.max_pixels) + " pixels");
  if (header.format == ImageFormat::jpeg && !jpeg_has_end_marker(bytes))
    fail(name, "truncated JPEG data (no end-of-image marker)");

  cv::Mat decoded;
  bool rgb_order = false;  // libjpeg gives RGB, OpenCV BGR
  if (header.format == ImageFormat::jpeg) {
    if (std::optional<cv::Mat> jpeg = decode_jpeg(bytes, name)) {
      decoded = std::move(*jpeg);
      rgb_order = true;
    }
  }
  if (!rgb_order) {  // not a JPEG, or a CMYK / YCCK one
    try {
      const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8U, const_cast<uint8_t*>(bytes.data()));
      decoded = cv::imdecode(buffer, cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception& e) {
      fail(name, std::string("corrupt ") + format + " data (" + e.err + ")");
    }
  }
  if (decoded.empty()) fail(name, std::string("corrupt or truncated ") + format + " data");
  if (decoded.cols != static_cast<int>(header.width) || decoded.rows != static_cast<int>(header.height))
    fail(name, std::string(format) + " decoded to " + std::to_string(decoded.cols) + "x" +
                   std::to_string(decoded.rows) + " pixels, its header says " + std::to_string(header.width) + "x" +
                   std::to_string(header.height));
  if (decoded.depth() == CV_16U)
    decoded = to_8bit(decoded);
  else if (decoded.depth() != CV_8U)
    fail(name, std::string("unsupported ") + format + " sample type");

  cv::Mat rgb = to_rgb(decoded, name, rgb_order);
  if (options.apply_exif_orientation) rgb = apply_exif_orientation(rgb, read_exif_orientation(bytes, header.format));
  return rgb;
}

cv::Mat decode_image_file(const std::string& path, const DecodeOptions& options) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("image '" + path + "': cannot open (" + std::strerror(errno) + ")");
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) throw std::runtime_error("image '" + path + "': read error");
  return decode_image(bytes, path, options);
}

}  // namespace hanvit::data
