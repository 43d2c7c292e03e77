// Image decoding: every bad-input kind gets a one-line error naming the input; PIL-style channel conversions.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <opencv2/imgcodecs.hpp>
#include <vector>

#include "datasets/image/decode.h"
#include "datasets/image/image_header.h"

using namespace hanvit::data;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

const std::string kDir = std::string(HANVIT_TEST_DATA) + "/image/";

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

std::vector<uint8_t> encode(const cv::Mat& image, const std::string& ext) {
  std::vector<uint8_t> bytes;
  REQUIRE(cv::imencode(ext, image, bytes));
  return bytes;
}

// A PNG signature and IHDR declaring width x height, followed by a few bytes of nothing.
std::vector<uint8_t> png_claiming(uint32_t width, uint32_t height) {
  std::vector<uint8_t> b = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  for (uint32_t v : {width, height})
    for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(v >> shift));
  b.insert(b.end(), {8, 2, 0, 0, 0, 0, 0, 0, 0});  // depth 8, RGB, CRC (unchecked here)
  return b;
}

void require_error(const std::vector<uint8_t>& bytes, const std::string& name, const std::string& part) {
  try {
    decode_image(bytes, name);
    FAIL("decoding " << name << " did not throw");
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    INFO(message);
    CHECK(message.starts_with("image '" + name + "': "));
    CHECK_THAT(message, Contains(part));
    CHECK(message.find('\n') == std::string::npos);
  }
}

}  // namespace

TEST_CASE("decode errors name the input: empty, unknown, corrupt, truncated, missing", "[image]") {
  require_error({}, "empty.png", "empty file");
  const std::string gif = "GIF89a\x01\x00\x01\x00";
  require_error({gif.begin(), gif.end()}, "anim.gif", "unknown image format");

  std::vector<uint8_t> png = read_bytes(kDir + "rgb_300x199.png");
  REQUIRE(png.size() > 1000);
  std::vector<uint8_t> corrupt = png;
  std::fill(corrupt.begin() + 100, corrupt.begin() + 400, 0x55);  // inside the first IDAT: CRC and zlib fail
  require_error(corrupt, "corrupt.png", "corrupt or truncated PNG data");
  require_error({png.begin(), png.begin() + static_cast<long>(png.size() / 2)}, "half.png",
                "corrupt or truncated PNG data");
  require_error({png.begin(), png.begin() + 20}, "header.png", "truncated or malformed PNG header");

  const std::vector<uint8_t> jpeg = read_bytes(kDir + "exif6_320x240.jpg");
  require_error({jpeg.begin(), jpeg.begin() + static_cast<long>(jpeg.size() / 2)}, "half.jpg",
                "truncated JPEG data (no end-of-image marker)");
  require_error({jpeg.begin(), jpeg.begin() + 30}, "start.jpg", "truncated JPEG data before the frame header");
  std::vector<uint8_t> bad_table = jpeg;  // a Huffman table whose 16 code counts sum past 256
  const uint8_t kHuffmanTable[] = {0xFF, 0xC4};
  const auto dht = std::search(bad_table.begin(), bad_table.end(), std::begin(kHuffmanTable), std::end(kHuffmanTable));
  REQUIRE(dht != bad_table.end());
  std::fill(dht + 5, dht + 21, 0x20);
  require_error(bad_table, "table.jpg", "corrupt JPEG data (Bogus Huffman table definition)");

  const std::vector<uint8_t> webp = read_bytes(kDir + "lossy_250x190.webp");
  require_error({webp.begin(), webp.begin() + static_cast<long>(webp.size() / 2)}, "half.webp",
                "corrupt or truncated WebP data");

  const std::string missing = (fs::temp_directory_path() / "hanvit_no_such_image.png").string();
  CHECK_THROWS_WITH(decode_image_file(missing), Contains("image '" + missing + "': cannot open"));
}

TEST_CASE("the pixel cap refuses a decompression bomb from its header", "[image]") {
  // 100000 x 100000 would need 30 GB; the header alone is enough to refuse it.
  require_error(png_claiming(100000, 100000), "bomb.png", "PNG of 100000x100000 pixels exceeds the limit of 67108864");
  // 9000 x 9000 (81 Mpx) is within OpenCV's own limit, so only our cap stops it.
  require_error(png_claiming(9000, 9000), "big.png", "exceeds the limit of 67108864 pixels");
  // A lower cap applies to real images too.
  const std::vector<uint8_t> png = read_bytes(kDir + "rgb_300x199.png");
  CHECK_THROWS_WITH(decode_image(png, "small.png", {.max_pixels = 300 * 198}),
                    Contains("PNG of 300x199 pixels exceeds the limit of 59400 pixels"));
  CHECK(decode_image(png, "small.png", {.max_pixels = 300 * 199}).size() == cv::Size(300, 199));
}

TEST_CASE("image headers give format and size for PNG, JPEG, WebP and BMP", "[image]") {
  const struct {
    const char* file;
    ImageFormat format;
    uint32_t width, height;
  } cases[] = {{"rgb_300x199.png", ImageFormat::png, 300, 199},
               {"exif6_320x240.jpg", ImageFormat::jpeg, 320, 240},
               {"lossy_250x190.webp", ImageFormat::webp, 250, 190},
               {"bgr_121x81.bmp", ImageFormat::bmp, 121, 81}};
  for (const auto& c : cases) {
    const ImageHeader header = read_image_header(read_bytes(kDir + c.file), c.file);
    CHECK(header.format == c.format);
    CHECK(header.width == c.width);
    CHECK(header.height == c.height);
  }
  cv::Mat image(7, 5, CV_8UC3, cv::Scalar(1, 2, 3));  // lossless WebP: the VP8L header
  const ImageHeader lossless = read_image_header(encode(image, ".webp"), "x.webp");
  CHECK((lossless.width == 5 && lossless.height == 7));
}

TEST_CASE("gray, alpha and 16-bit images convert to 8-bit RGB like PIL's convert to RGB", "[image]") {
  const cv::Mat gray(3, 4, CV_8UC1, cv::Scalar(77));
  cv::Mat rgb = decode_image(encode(gray, ".png"), "gray.png");
  REQUIRE(rgb.type() == CV_8UC3);
  CHECK(rgb.at<cv::Vec3b>(1, 2) == cv::Vec3b(77, 77, 77));

  const cv::Mat bgra(2, 2, CV_8UC4, cv::Scalar(10, 20, 30, 0));  // fully transparent: the colour is kept
  rgb = decode_image(encode(bgra, ".png"), "alpha.png");
  CHECK(rgb.at<cv::Vec3b>(0, 0) == cv::Vec3b(30, 20, 10));

  const cv::Mat gray16(2, 2, CV_16UC1, cv::Scalar(300));  // PIL clips "I;16" at 255
  CHECK(decode_image(encode(gray16, ".png"), "gray16.png").at<cv::Vec3b>(1, 1) == cv::Vec3b(255, 255, 255));
  const cv::Mat gray16_low(2, 2, CV_16UC1, cv::Scalar(200));
  CHECK(decode_image(encode(gray16_low, ".png"), "low16.png").at<cv::Vec3b>(0, 1) == cv::Vec3b(200, 200, 200));

  const cv::Mat bgr16(2, 2, CV_16UC3, cv::Scalar(0x12FF, 0x3400, 0xFFFF));  // high byte of each sample
  CHECK(decode_image(encode(bgr16, ".png"), "rgb16.png").at<cv::Vec3b>(0, 0) == cv::Vec3b(0xFF, 0x34, 0x12));

  const cv::Mat bgr(2, 3, CV_8UC3, cv::Scalar(1, 2, 3));
  CHECK(decode_image(encode(bgr, ".bmp"), "x.bmp").at<cv::Vec3b>(1, 2) == cv::Vec3b(3, 2, 1));
}
