// Augmentations and preprocessing options: seeded determinism, crop bounds, jitter, the flip's text rule, padding.
#include <catch2/catch.hpp>
#include <cmath>

#include "datasets/image/augment.h"
#include "datasets/image/preprocess.h"

using namespace hanvit;
using namespace hanvit::data;
using Catch::Matchers::Contains;

namespace {

cv::Mat test_image(int width, int height) {
  cv::Mat rgb(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      rgb.at<cv::Vec3b>(y, x) =
          cv::Vec3b(static_cast<uint8_t>(x * 7), static_cast<uint8_t>(y * 5), static_cast<uint8_t>((x * y) % 256));
  return rgb;
}

bool same(const cv::Mat& a, const cv::Mat& b) { return a.size() == b.size() && cv::norm(a, b, cv::NORM_INF) == 0.0; }

}  // namespace

TEST_CASE("random resized crop is deterministic per seed and stays inside its ranges", "[image]") {
  const cv::Mat image = test_image(160, 90);
  Rng a(7), b(7), c(8);
  const cv::Mat crop_a = random_resized_crop(image, 32, {}, a);
  CHECK(crop_a.size() == cv::Size(32, 32));
  CHECK(same(crop_a, random_resized_crop(image, 32, {}, b)));
  CHECK_FALSE(same(crop_a, random_resized_crop(image, 32, {}, c)));

  const ResizedCropOptions options{.scale_min = 0.3, .scale_max = 0.6, .ratio_min = 0.5, .ratio_max = 2.0};
  Rng rng(123);
  for (int i = 0; i < 500; ++i) {
    const cv::Rect box = sample_resized_crop(160, 90, options, rng);
    REQUIRE((box.x >= 0 && box.y >= 0 && box.x + box.width <= 160 && box.y + box.height <= 90));
    const double area = static_cast<double>(box.area()) / (160 * 90);
    const double ratio = static_cast<double>(box.width) / box.height;
    // Rounding w and h to pixels moves area and ratio a little past the drawn values.
    CHECK((area > 0.3 * 0.95 && area < 0.6 * 1.05));
    CHECK((ratio > 0.5 * 0.93 && ratio < 2.0 * 1.07));
  }
  // No draw can fit a 1:1 to 1:1 crop of 90% in a 10:1 strip: the fallback is the centered clamped-ratio crop.
  Rng strip(1);
  CHECK(sample_resized_crop(100, 10, {.scale_min = 0.9, .ratio_min = 1.0, .ratio_max = 1.0}, strip) ==
        cv::Rect(45, 0, 10, 10));
  CHECK_THROWS_WITH(sample_resized_crop(10, 10, {.scale_min = 0.0}, strip), Contains("scale range"));
}

TEST_CASE("colour jitter is deterministic, identity at zero strength, and bounded", "[image]") {
  const cv::Mat image = test_image(40, 30);
  cv::Mat unchanged = image.clone();
  Rng zero(3);
  color_jitter(unchanged, {}, zero);
  CHECK(same(unchanged, image));

  const ColorJitterOptions options{.brightness = 0.4, .contrast = 0.4, .saturation = 0.4};
  cv::Mat a = image.clone(), b = image.clone();
  Rng ra(5), rb(5);
  color_jitter(a, options, ra);
  color_jitter(b, options, rb);
  CHECK(same(a, b));
  CHECK_FALSE(same(a, image));

  // Brightness alone scales every sample by one factor in [0.5, 1.5].
  cv::Mat bright = image.clone();
  Rng rc(11);
  color_jitter(bright, {.brightness = 0.5}, rc);
  const double factor = cv::sum(bright)[0] / cv::sum(image)[0];
  CHECK((factor >= 0.5 - 0.01 && factor <= 1.5 + 0.01));
  for (int y = 0; y < image.rows; ++y)
    for (int x = 0; x < image.cols; ++x) {
      const double expected = std::min(255.0, std::round(image.at<cv::Vec3b>(y, x)[0] * factor));
      REQUIRE(std::abs(bright.at<cv::Vec3b>(y, x)[0] - expected) <= 1.0);
    }
}

TEST_CASE("flip_korean_positions swaps 왼쪽 and 오른쪽 everywhere at once", "[image]") {
  CHECK(flip_korean_positions("빨간 원이 왼쪽 위에 있고, 파란 별이 오른쪽에 있다.") ==
        "빨간 원이 오른쪽 위에 있고, 파란 별이 왼쪽에 있다.");
  CHECK(flip_korean_positions("왼쪽왼쪽 오른쪽오른쪽 가운데") == "오른쪽오른쪽 왼쪽왼쪽 가운데");
  CHECK(flip_korean_positions("위 아래 가운데") == "위 아래 가운데");
  CHECK_THROWS_WITH(flip_korean_positions("\xff"), Contains("invalid UTF-8"));
}

TEST_CASE("horizontal flip rewrites the caption or is refused for position-sensitive text", "[image]") {
  const cv::Mat image = test_image(6, 4);
  cv::Mat rgb = image.clone();
  std::string text = "검은 하트가 왼쪽 아래에 있다.";
  Rng rng(9);
  REQUIRE(HorizontalFlip(FlipText::swap_sides, 1.0).apply(rgb, text, rng));
  CHECK(text == "검은 하트가 오른쪽 아래에 있다.");
  CHECK(rgb.at<cv::Vec3b>(2, 0) == image.at<cv::Vec3b>(2, 5));

  CHECK_THROWS_WITH(HorizontalFlip(FlipText::position_sensitive, 0.5), Contains("horizontal flip refused"));
  const HorizontalFlip off(FlipText::position_sensitive, 0.0);
  cv::Mat kept = image.clone();
  std::string answer = "왼쪽";
  for (int i = 0; i < 20; ++i) CHECK_FALSE(off.apply(kept, answer, rng));
  CHECK(answer == "왼쪽");
  CHECK(same(kept, image));
  CHECK_THROWS(HorizontalFlip(FlipText::swap_sides, 1.5));

  // With p = 0.5 the same seed gives the same sequence of decisions.
  const HorizontalFlip half(FlipText::swap_sides, 0.5);
  Rng r1(42), r2(42);
  int flips = 0;
  for (int i = 0; i < 200; ++i) {
    cv::Mat m1 = image.clone(), m2 = image.clone();
    std::string t1 = "왼쪽", t2 = "왼쪽";
    const bool f1 = half.apply(m1, t1, r1);
    REQUIRE(f1 == half.apply(m2, t2, r2));
    flips += f1;
  }
  CHECK((flips > 60 && flips < 140));
}

TEST_CASE("pad to square centres the image on the fill colour, and a windowed resize equals resize then crop",
          "[image]") {
  const cv::Mat image = test_image(4, 2);
  PreprocessOptions options = preprocess_preset("plain");
  options.size = 4;
  options.mode = ResizeMode::pad_square;
  options.pad_fill = {9, 8, 7};
  const cv::Mat square = resize_for_model(image, options);  // 4x4: no resampling, just the canvas
  REQUIRE(square.size() == cv::Size(4, 4));
  CHECK(square.at<cv::Vec3b>(0, 3) == cv::Vec3b(9, 8, 7));
  CHECK(square.at<cv::Vec3b>(3, 0) == cv::Vec3b(9, 8, 7));
  CHECK(same(square(cv::Rect(0, 1, 4, 2)), image));
  CHECK(preprocess_preset("clip").pad_fill == std::array<uint8_t, 3>{122, 116, 104});

  const Tensor values = preprocess(image, options);  // plain: x / 255
  CHECK(values.shape() == Shape{3, 4, 4});
  CHECK(values.data<float>()[0] == Approx(9.0 / 255));

  const cv::Mat big = test_image(97, 61);
  for (Interpolation interpolation : {Interpolation::bicubic, Interpolation::bilinear}) {
    const cv::Mat full = resize_antialiased(big, {50, 140}, interpolation);
    const cv::Rect window(7, 30, 31, 44);
    CHECK(same(resize_antialiased(big, {50, 140}, interpolation, window), full(window)));
  }
  CHECK_THROWS_WITH(preprocess_preset("dino"), Contains("unknown preprocessing preset 'dino'"));
  options.mode = ResizeMode::shortest_edge_crop;
  options.crop = 5;
  CHECK_THROWS_WITH(resize_for_model(image, options), Contains("crop 5 must be in [1, size 4]"));
}
