// Image pipeline parity with Hugging Face: decode and CLIP/SigLIP/ViT preprocessing against the PIL-path fixture.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "datasets/image/decode.h"
#include "datasets/image/preprocess.h"
#include "modules/io/safetensors.h"

using namespace hanvit;
using namespace hanvit::data;

namespace {

const std::string kDir = std::string(HANVIT_TEST_DATA) + "/image/";

struct FixtureImage {
  const char* name;
  const char* file;
  bool lossless;  // PNG and BMP decode to the same bytes as PIL; JPEG and WebP decoders may round differently
};

// Written by scripts/make_image_fixture.py.
constexpr FixtureImage kImages[] = {
    {"rgb_300x199", "rgb_300x199.png", true},       {"tall_120x333", "tall_120x333.png", true},
    {"gray_257x181", "gray_257x181.png", true},     {"rgba_211x173", "rgba_211x173.png", true},
    {"gray16_190x150", "gray16_190x150.png", true}, {"rgb16_120x100", "rgb16_120x100.png", true},
    {"exif6_320x240", "exif6_320x240.jpg", false},  {"lossy_250x190", "lossy_250x190.webp", false},
    {"bgr_121x81", "bgr_121x81.bmp", true},
};
constexpr const char* kProcessors[] = {"clip", "siglip", "vit"};

const SafetensorsFile& expected() {
  static const SafetensorsFile file(kDir + "expected.safetensors");
  return file;
}

struct Difference {
  double mean = 0.0, max = 0.0;
};

// |a - b| over two 8-bit images of the same shape, in [0, 1] units; `b` is u8 (H, W, 3).
Difference rgb_difference(const cv::Mat& a, const Tensor& b) {
  REQUIRE(b.shape() == Shape{a.rows, a.cols, 3});
  const uint8_t* ref = b.data<uint8_t>();
  Difference d;
  for (int y = 0; y < a.rows; ++y)
    for (int i = 0; i < a.cols * 3; ++i) {
      const double e = std::abs(a.ptr<uint8_t>(y)[i] - ref[static_cast<size_t>(y) * a.cols * 3 + i]) / 255.0;
      d.mean += e;
      d.max = std::max(d.max, e);
    }
  d.mean /= static_cast<double>(a.total()) * 3;
  return d;
}

}  // namespace

TEST_CASE("decoded fixture images match PIL's load_image (EXIF transpose + convert RGB)", "[image]") {
  for (const FixtureImage& image : kImages) {
    const cv::Mat rgb = decode_image_file(kDir + image.file);
    const Difference d = rgb_difference(rgb, expected().get(std::string(image.name) + "/rgb"));
    INFO(image.name << ": mean " << d.mean * 255 << "/255, max " << d.max * 255 << "/255");
    if (image.lossless) {
      CHECK(d.max == 0.0);
    } else {
      CHECK(d.mean <= 1.0 / 255);
      CHECK(d.max <= 3.0 / 255);
    }
  }
}

TEST_CASE("CLIP, SigLIP and ViT presets match the Hugging Face PIL processors on every fixture image", "[image]") {
  double worst_mean = 0.0, worst_max = 0.0;
  for (const FixtureImage& image : kImages) {
    const cv::Mat rgb = decode_image_file(kDir + image.file);
    for (const char* processor : kProcessors) {
      const std::string key = std::string(image.name) + "/" + processor;
      const PreprocessOptions options = preprocess_preset(processor);
      const Tensor values = preprocess(rgb, options);  // (3, 224, 224)
      REQUIRE(values.shape() == Shape{3, 224, 224});
      const Tensor pixels = expected().get(key + "/pixels");  // u8 (3, 224, 224)
      REQUIRE(pixels.shape() == Shape{3, 224, 224});
      // Undo the normalisation and compare in [0, 1] units.
      const float* v = values.data<float>();
      const uint8_t* p = pixels.data<uint8_t>();
      Difference d;
      for (int64_t i = 0; i < values.numel(); ++i) {
        const int c = static_cast<int>(i / (224 * 224));
        const double ours = static_cast<double>(v[i]) * options.std[c] + options.mean[c];
        const double e = std::abs(ours - p[i] / 255.0);
        d.mean += e;
        d.max = std::max(d.max, e);
      }
      d.mean /= static_cast<double>(values.numel());
      INFO(key << ": mean " << d.mean * 255 << "/255, max " << d.max * 255 << "/255");
      CHECK(d.mean <= 1.0 / 255);
      CHECK(d.max <= 3.0 / 255);
      if (image.lossless) CHECK(d.max < 1e-6);  // the resampler is exact: only f32 rounding of the undo remains
      worst_mean = std::max(worst_mean, d.mean);
      worst_max = std::max(worst_max, d.max);

      // The f32 values themselves, bit for bit, where the 8-bit pixels agree.
      const Tensor window = expected().get(key + "/window");  // f32 (3, 32, 32) = pixel_values[:, 96:128, 96:128]
      const Tensor ours = values.slice(1, 96, 128).slice(2, 96, 128).contiguous();
      if (image.lossless) CHECK(ours.to_f64() == window.to_f64());
    }
  }
  INFO("worst over all images and processors: mean " << worst_mean * 255 << "/255, max " << worst_max * 255 << "/255");
  CHECK(worst_max <= 3.0 / 255);
}

TEST_CASE("EXIF orientation 6 is applied by default and can be turned off", "[image]") {
  const std::string path = kDir + "exif6_320x240.jpg";
  const cv::Mat upright = decode_image_file(path);
  CHECK(upright.cols == 240);
  CHECK(upright.rows == 320);
  const cv::Mat stored = decode_image_file(path, {.apply_exif_orientation = false});
  CHECK(stored.cols == 320);
  CHECK(stored.rows == 240);
  const Difference d = rgb_difference(stored, expected().get("exif6_320x240/rgb_raw"));
  CHECK(d.max <= 3.0 / 255);
  // Orientation 6 means "rotate 90° clockwise to display": the stored top-left corner ends up top-right.
  cv::Mat rotated;
  cv::rotate(stored, rotated, cv::ROTATE_90_CLOCKWISE);
  CHECK(cv::norm(rotated, upright, cv::NORM_INF) == 0.0);
}
