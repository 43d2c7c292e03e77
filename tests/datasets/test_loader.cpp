// The loader's token layout, padding and masks (token by token with a fake encoder), and the skipping of bad samples.
#include <catch2/catch.hpp>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

#include "datasets/formats/dataset_format.h"
#include "datasets/loader/loader.h"
#include "datasets/text/utf8.h"

using namespace hanvit::data;
using hanvit::DType;
using hanvit::Tensor;
namespace fs = std::filesystem;

namespace {

const fs::path kDir = fs::path(HANVIT_TEST_DATA) / "formats";

// One id per code point (its value), so expected tokens can be written as characters.
TextEncoder fake_encoder(int32_t user = 3, int32_t assistant = 4) {
  TextEncoder e;
  e.encode = [](std::string_view text) {
    std::vector<int32_t> ids;
    for (const char32_t c : hanvit::text::decode_utf8(text)) ids.push_back(static_cast<int32_t>(c));
    return ids;
  };
  e.bos = 1;
  e.eos = 2;
  e.pad = 0;
  e.user = user;
  e.assistant = assistant;
  return e;
}

// Decodes with OpenCV and shrinks to 2x2 RGB in [0, 1], as (3, 2, 2).
Tensor decode_2x2(const fs::path& path) {
  const cv::Mat bgr = cv::imread(path.string(), cv::IMREAD_COLOR);
  if (bgr.empty()) throw std::runtime_error("cannot decode image");
  cv::Mat small;
  cv::resize(bgr, small, cv::Size(2, 2), 0, 0, cv::INTER_AREA);
  Tensor t = Tensor::empty({3, 2, 2}, DType::f32);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 2; ++x) t.data<float>()[(c * 2 + y) * 2 + x] = small.at<cv::Vec3b>(y, x)[2 - c] / 255.0f;
  return t;
}

// Pixels made up from the image's file name: every value is the number in "<n>.png".
Tensor fabricated(const fs::path& path) { return Tensor::full({3, 2, 2}, std::stod(path.stem().string())); }

Sample make(SampleKind kind, const std::string& image, std::vector<Turn> turns,
            const std::vector<std::string>& refs = {}) {
  Sample s;
  s.kind = kind;
  s.image = image;
  s.turns = std::move(turns);
  s.references = refs.empty() && kind == SampleKind::caption ? std::vector<std::string>{s.turns[0].assistant} : refs;
  s.source = "test:" + image;
  return s;
}

std::vector<int32_t> ids(std::initializer_list<int32_t> specials_and_chars) { return specials_and_chars; }

std::vector<int32_t> row_i32(const Tensor& t, int64_t b) {
  const int64_t T = t.dim(1);
  return {t.data<int32_t>() + b * T, t.data<int32_t>() + (b + 1) * T};
}
std::vector<float> row_f32(const Tensor& t, int64_t b) {
  const int64_t T = t.dim(1);
  return {t.data<float>() + b * T, t.data<float>() + (b + 1) * T};
}
std::vector<uint8_t> row_u8(const Tensor& t, int64_t b) {
  const int64_t T = t.dim(1);
  return {t.data<uint8_t>() + b * T, t.data<uint8_t>() + (b + 1) * T};
}

}  // namespace

TEST_CASE("token layout of captions, VQA and conversations, token by token", "[loader]") {
  const TextEncoder e = fake_encoder();
  const TokenizedSample caption = lay_out_tokens(SampleKind::caption, {{"", "ab"}}, e, 0);
  CHECK(caption.tokens == ids({1, 'a', 'b', 2}));
  CHECK(caption.loss_mask == std::vector<float>{0, 1, 1, 1});

  const TokenizedSample vqa = lay_out_tokens(SampleKind::vqa, {{"q?", "네"}}, e, 0);
  CHECK(vqa.tokens == ids({1, 3, 'q', '?', 4, U'네', 2}));
  CHECK(vqa.loss_mask == std::vector<float>{0, 0, 0, 0, 0, 1, 1});

  const TokenizedSample chat = lay_out_tokens(SampleKind::conversation, {{"a", "b"}, {"c", "de"}}, e, 0);
  CHECK(chat.tokens == ids({1, 3, 'a', 4, 'b', 2, 3, 'c', 4, 'd', 'e', 2}));
  CHECK(chat.loss_mask == std::vector<float>{0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1});

  // Role tokens the tokenizer lacks are left out; so are bos/eos.
  TextEncoder bare = fake_encoder(-1, -1);
  bare.bos = -1;
  const TokenizedSample no_roles = lay_out_tokens(SampleKind::vqa, {{"q", "a"}}, bare, 0);
  CHECK(no_roles.tokens == ids({'q', 'a', 2}));
  CHECK(no_roles.loss_mask == std::vector<float>{0, 1, 1});

  // Cut from the end.
  const TokenizedSample cut = lay_out_tokens(SampleKind::conversation, {{"a", "b"}, {"c", "de"}}, e, 8);
  CHECK(cut.tokens == ids({1, 3, 'a', 4, 'b', 2, 3, 'c'}));
  CHECK(cut.loss_mask == std::vector<float>{0, 0, 0, 0, 1, 1, 0, 0});
}

TEST_CASE("batches pad tokens to the longest and carry attention and loss masks", "[loader]") {
  std::vector<Sample> samples = {
      make(SampleKind::caption, "/v/10.png", {{"", "ab"}}),
      make(SampleKind::vqa, "/v/20.png", {{"q?", "yes"}}, {"yes", "no"}),
      make(SampleKind::conversation, "/v/30.png", {{"a", "b"}, {"c", "d"}}),
      make(SampleKind::caption, "/v/40.png", {{"", "z"}}),
  };
  RecordLog log;
  LoaderOptions options;
  options.batch_size = 3;
  options.shuffle = false;
  Loader loader(samples, fabricated, fake_encoder(), options, log);
  REQUIRE(loader.steps_per_epoch() == 2);
  std::optional<Batch> b = loader.next();
  REQUIRE(b);
  REQUIRE(b->size() == 3);
  CHECK(b->indices == std::vector<size_t>{0, 1, 2});
  CHECK(b->sources == std::vector<std::string>{"test:/v/10.png", "test:/v/20.png", "test:/v/30.png"});
  CHECK(b->pixels.shape() == hanvit::Shape{3, 3, 2, 2});
  CHECK(b->pixels.data<float>()[0] == 10.0f);
  CHECK(b->pixels.data<float>()[12] == 20.0f);
  CHECK(b->pixels.data<float>()[35] == 30.0f);
  REQUIRE(b->tokens.shape() == hanvit::Shape{3, 11});
  CHECK(b->tokens.dtype() == DType::i32);
  CHECK(b->attention_mask.dtype() == DType::u8);
  CHECK(b->loss_mask.dtype() == DType::f32);
  CHECK(row_i32(b->tokens, 0) == ids({1, 'a', 'b', 2, 0, 0, 0, 0, 0, 0, 0}));
  CHECK(row_u8(b->attention_mask, 0) == std::vector<uint8_t>{1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0});
  CHECK(row_f32(b->loss_mask, 0) == std::vector<float>{0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0});
  CHECK(row_i32(b->tokens, 1) == ids({1, 3, 'q', '?', 4, 'y', 'e', 's', 2, 0, 0}));
  CHECK(row_u8(b->attention_mask, 1) == std::vector<uint8_t>{1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0});
  CHECK(row_f32(b->loss_mask, 1) == std::vector<float>{0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0});
  CHECK(row_i32(b->tokens, 2) == ids({1, 3, 'a', 4, 'b', 2, 3, 'c', 4, 'd', 2}));
  CHECK(row_u8(b->attention_mask, 2) == std::vector<uint8_t>(11, 1));
  CHECK(row_f32(b->loss_mask, 2) == std::vector<float>{0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1});
  b = loader.next();
  REQUIRE(b);
  CHECK(b->indices == std::vector<size_t>{3});
  CHECK(b->tokens.shape() == hanvit::Shape{1, 3});
  CHECK(loader.position().step == 2);
  CHECK_FALSE(loader.next());
  CHECK(loader.position().epoch == 1);
  CHECK(loader.position().step == 0);
  CHECK(log.skipped() == 0);
}

TEST_CASE("padding uses eos when the tokenizer has no pad; neither is an error", "[loader]") {
  TextEncoder e = fake_encoder();
  e.pad = -1;
  RecordLog log;
  LoaderOptions options;
  options.batch_size = 2;
  options.shuffle = false;
  Loader loader(
      {make(SampleKind::caption, "/v/1.png", {{"", "abc"}}), make(SampleKind::caption, "/v/2.png", {{"", "a"}})},
      fabricated, e, options, log);
  const Batch b = *loader.next();
  CHECK(row_i32(b.tokens, 1) == ids({1, 'a', 2, 2, 2}));
  CHECK(row_u8(b.attention_mask, 1) == std::vector<uint8_t>{1, 1, 1, 0, 0});
  e.eos = -1;
  CHECK_THROWS_WITH(Loader({}, fabricated, e, options, log),
                    "loader: the text encoder has neither a pad nor an eos id");
  options.rank = 2;
  options.world_size = 2;
  CHECK_THROWS_WITH(Loader({}, fabricated, fake_encoder(), options, log), "loader: rank 2 is not below world size 2");
}

TEST_CASE("an undecodable image is skipped with its path named, or stops a strict run", "[loader]") {
  RecordLog read_log;
  std::vector<Sample> samples = read_samples(kDir / "captions_bad.jsonl", "", {}, read_log);
  REQUIRE(samples.size() == 2);  // the good line and the one naming broken.png
  const std::string broken = (kDir / "images" / "broken.png").lexically_normal().string();
  REQUIRE(samples[1].image.string() == broken);
  LoaderOptions options;
  options.batch_size = 2;
  options.shuffle = false;
  options.workers = 2;
  RecordLog log;
  Loader loader(samples, decode_2x2, fake_encoder(), options, log);
  const Batch b = *loader.next();
  REQUIRE(b.size() == 1);
  CHECK(b.indices == std::vector<size_t>{0});
  CHECK(b.pixels.shape() == hanvit::Shape{1, 3, 2, 2});
  CHECK(b.pixels.data<float>()[0] == 1.0f);  // red.png: R = 255
  CHECK(b.pixels.data<float>()[4] == 0.0f);  // G
  CHECK(log.skipped() == 1);
  CHECK(log.messages() == std::vector<std::string>{broken + ": cannot decode image (sample " +
                                                   (kDir / "captions_bad.jsonl").string() + ":11)"});
  // Reported once, however many epochs see it.
  CHECK_FALSE(loader.next());
  CHECK(loader.next()->size() == 1);
  CHECK(log.skipped() == 1);

  RecordLog strict(true);
  Loader strict_loader(samples, decode_2x2, fake_encoder(), options, strict);
  CHECK_THROWS_WITH(strict_loader.next(), Catch::StartsWith(broken + ": cannot decode image"));
}

TEST_CASE("a batch whose every sample is bad is empty but still a step; wrong image shapes are bad", "[loader]") {
  const auto odd = [](const fs::path& path) {
    return path.stem() == "2"   ? Tensor::zeros({3, 4, 4})
           : path.stem() == "3" ? Tensor::zeros({1, 2, 2})
                                : fabricated(path);
  };
  std::vector<Sample> samples = {make(SampleKind::caption, "/v/1.png", {{"", "a"}}),
                                 make(SampleKind::caption, "/v/2.png", {{"", "b"}}),
                                 make(SampleKind::caption, "/v/3.png", {{"", "c"}}),
                                 make(SampleKind::vqa, "/v/4.png", {{"a long question", "a"}}, {"a"})};
  RecordLog log;
  LoaderOptions options;
  options.batch_size = 2;
  options.shuffle = false;
  options.max_tokens = 6;
  Loader loader(samples, odd, fake_encoder(), options, log);
  CHECK(loader.next()->indices == std::vector<size_t>{0});
  const Batch empty = *loader.next();
  CHECK(empty.size() == 0);
  CHECK_FALSE(empty.tokens.defined());
  CHECK(empty.step == 1);
  REQUIRE(log.messages().size() == 3);
  CHECK(log.messages()[0] == "/v/2.png: image is f32(3,4,4), the batch's first is f32(3,2,2) (sample test:/v/2.png)");
  CHECK(log.messages()[1] ==
        "/v/3.png: image function returned f32(1,2,2), expected f32 (3, H, W) (sample test:/v/3.png)");
  CHECK(log.messages()[2] == "test:/v/4.png: no target token within 6 tokens");
}

TEST_CASE("a caption sample trains on one of its captions per epoch, the same for the same seed", "[loader]") {
  std::vector<Sample> samples = {make(SampleKind::caption, "/v/1.png", {{"", "a"}}, {"a", "b", "c", "d"})};
  const auto targets = [&](uint64_t seed) {
    RecordLog log;
    LoaderOptions options;
    options.seed = seed;
    Loader loader(samples, fabricated, fake_encoder(), options, log);
    std::string seen;
    for (int epoch = 0; epoch < 40; ++epoch) {
      seen += static_cast<char>(row_i32(loader.next()->tokens, 0)[1]);
      CHECK_FALSE(loader.next());
    }
    return seen;
  };
  const std::string first = targets(5);
  CHECK(first == targets(5));
  CHECK(first != targets(6));
  for (const char c : std::string("abcd")) CHECK(first.find(c) != std::string::npos);  // 40 epochs reach all 4
  for (size_t e = 0; e < first.size(); ++e) CHECK(first[e] == "abcd"[pick_reference(5, e, 0, 4)]);
}

TEST_CASE("a sample the text encoder fails on is skipped with its source, from a worker too", "[loader]") {
  TextEncoder e = fake_encoder();
  const auto letters = e.encode;
  e.encode = [letters](std::string_view text) {
    if (text == "boom") throw std::runtime_error("cannot encode 'boom'");
    return letters(text);
  };
  RecordLog log;
  LoaderOptions options;
  options.batch_size = 2;
  options.shuffle = false;
  options.workers = 1;
  Loader loader(
      {make(SampleKind::caption, "/v/1.png", {{"", "boom"}}), make(SampleKind::caption, "/v/2.png", {{"", "ok"}})},
      fabricated, e, options, log);
  CHECK(loader.next()->indices == std::vector<size_t>{1});
  CHECK(log.messages() == std::vector<std::string>{"test:/v/1.png: text encoder: cannot encode 'boom'"});
}
