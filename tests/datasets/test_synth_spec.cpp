// The synthetic shapes dataset against DESIGN.md §5, re-derived independently from objects.jsonl and the PNG pixels.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "datasets/formats/jsonl_file.h"
#include "datasets/synth/writer.h"

namespace fs = std::filesystem;
using hanvit::data::JsonlRecord;
using hanvit::data::read_jsonl;
using hanvit::data::RecordLog;

namespace {

// The spec's words, written out again here rather than taken from the generator's tables.
const std::vector<std::string> kColours = {"빨간", "주황", "노란", "초록", "파란", "보라", "검은"};
const std::vector<std::string> kShapes = {"원", "사각형", "삼각형", "별", "하트", "마름모"};
const std::vector<std::string> kPositions = {"왼쪽 위", "위",        "오른쪽 위", "왼쪽",       "가운데",
                                             "오른쪽",  "왼쪽 아래", "아래",      "오른쪽 아래"};

bool vowel_final(const std::string& shape) { return shape == "하트" || shape == "마름모"; }
std::string subject(const std::string& shape) { return shape + (vowel_final(shape) ? "가" : "이"); }
std::string topic(const std::string& shape) { return shape + (vowel_final(shape) ? "는" : "은"); }
size_t index_of(const std::vector<std::string>& words, const std::string& word) {
  const auto it = std::find(words.begin(), words.end(), word);
  REQUIRE(it != words.end());
  return static_cast<size_t>(it - words.begin());
}

struct Object {
  std::string colour, shape, position;
  int x0, y0, x1, y1;
};

struct Image {
  std::vector<Object> objects;
  std::string caption;
  std::vector<std::pair<std::string, std::string>> qa;
};

// Reads a split's three JSONL files (strictly: any bad line fails) into images keyed by path.
std::map<std::string, Image> read_split(const fs::path& folder) {
  std::map<std::string, Image> images;
  RecordLog strict(true);
  read_jsonl(folder / "objects.jsonl", strict, [&](const JsonlRecord& r) {
    Image& image = images[r.value.at("image").get<std::string>()];
    for (const auto& o : r.value.at("objects")) {
      const auto& box = o.at("box");
      REQUIRE(box.size() == 4);
      image.objects.push_back({o.at("colour"), o.at("shape"), o.at("position"), box[0], box[1], box[2], box[3]});
    }
  });
  read_jsonl(folder / "captions.jsonl", strict, [&](const JsonlRecord& r) {
    REQUIRE(images.count(r.value.at("image").get<std::string>()) == 1);
    images[r.value.at("image")].caption = r.value.at("caption");
  });
  read_jsonl(folder / "vqa.jsonl", strict, [&](const JsonlRecord& r) {
    REQUIRE(images.count(r.value.at("image").get<std::string>()) == 1);
    images[r.value.at("image")].qa.emplace_back(r.value.at("question"), r.value.at("answer"));
  });
  return images;
}

std::string expected_caption(const std::vector<Object>& objects) {
  std::string caption;
  for (size_t i = 0; i < objects.size(); ++i) {
    if (i > 0) caption += " 있고, ";
    caption += objects[i].colour + " " + subject(objects[i].shape) + " " + objects[i].position + "에";
  }
  return caption + " 있다.";
}

// Every question a scene could be asked, with its kind (0-4) and its answer, or no answer
// where the spec forbids asking it about this scene.
std::map<std::string, std::pair<int, std::optional<std::string>>> possible_questions(
    const std::vector<Object>& objects) {
  std::map<std::string, std::pair<int, std::optional<std::string>>> q;
  const auto count = [&](auto predicate) { return std::count_if(objects.begin(), objects.end(), predicate); };
  for (const std::string& shape : kShapes) {
    std::optional<std::string> answer;
    if (count([&](const Object& o) { return o.shape == shape; }) == 1)
      for (const Object& o : objects)
        if (o.shape == shape) answer = o.colour + "색";
    q[topic(shape) + " 무슨 색인가요?"] = {0, answer};
  }
  for (const std::string& position : kPositions) {
    std::optional<std::string> answer;
    for (const Object& o : objects)
      if (o.position == position) answer = o.shape;
    q[position + "에 있는 도형은 무엇인가요?"] = {1, answer};
  }
  for (const std::string& colour : kColours)
    for (const std::string& shape : kShapes) {
      const auto n = count([&](const Object& o) { return o.colour == colour && o.shape == shape; });
      std::optional<std::string> where;
      if (n == 1)
        for (const Object& o : objects)
          if (o.colour == colour && o.shape == shape) where = o.position;
      q[colour + " " + topic(shape) + " 어디에 있나요?"] = {2, where};
      q[colour + " " + subject(shape) + " 있나요?"] = {4, n > 0 ? "네" : "아니요"};
    }
  const std::vector<std::string> counts = {"한 개", "두 개", "세 개"};
  q["도형은 모두 몇 개인가요?"] = {3, counts.at(objects.size() - 1)};
  return q;
}

// Which question kinds the spec makes eligible for a scene.
std::set<int> eligible_kinds(const std::vector<Object>& objects) {
  std::set<int> kinds = {1, 3, 4};
  for (const Object& a : objects) {
    size_t same_shape = 0, same_pair = 0;
    for (const Object& b : objects) {
      same_shape += a.shape == b.shape;
      same_pair += a.shape == b.shape && a.colour == b.colour;
    }
    if (same_shape == 1) kinds.insert(0);
    if (same_pair == 1) kinds.insert(2);
  }
  return kinds;
}

using Bgr = cv::Vec3b;

// Pixel rules of one decoded image; ink[colour name] collects each colour's RGB across images.
void check_pixels(const cv::Mat& image, int size, const std::vector<Object>& objects, std::map<std::string, Bgr>& ink,
                  std::map<std::string, std::vector<double>>& fill,
                  std::map<std::string, std::vector<double>>& bottom) {
  REQUIRE(image.rows == size);
  REQUIRE(image.cols == size);
  REQUIRE(image.type() == CV_8UC3);
  const auto inside = [](const Object& o, int x, int y) { return x >= o.x0 && x < o.x1 && y >= o.y0 && y < o.y1; };
  std::optional<Bgr> background;
  int unlike_background = 0;  // pixels outside every box that differ from the first such pixel
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x)
      if (std::none_of(objects.begin(), objects.end(), [&](const Object& o) { return inside(o, x, y); })) {
        const Bgr p = image.at<Bgr>(y, x);
        if (!background) background = p;
        unlike_background += p != *background;
      }
  REQUIRE(background);
  CHECK(unlike_background == 0);  // plain
  CHECK(std::min({(*background)[0], (*background)[1], (*background)[2]}) >= 200);

  for (const Object& o : objects) {
    const size_t cell = index_of(kPositions, o.position);
    const int cx0 = static_cast<int>(cell % 3) * size / 3, cx1 = static_cast<int>(cell % 3 + 1) * size / 3;
    const int cy0 = static_cast<int>(cell / 3) * size / 3, cy1 = static_cast<int>(cell / 3 + 1) * size / 3;
    CHECK(o.x0 >= cx0);
    CHECK(o.x1 <= cx1);
    CHECK(o.y0 >= cy0);
    CHECK(o.y1 <= cy1);
    for (const double ratio : {double(o.x1 - o.x0) / (cx1 - cx0), double(o.y1 - o.y0) / (cy1 - cy0)}) {
      CHECK(ratio >= 0.5);
      CHECK(ratio <= 0.9);
    }
    std::optional<Bgr> colour;
    int ink_pixels = 0, bottom_row_ink = 0, foreign = 0;
    int left = o.x1, right = o.x0 - 1, top = o.y1, lowest = o.y0 - 1;
    for (int y = o.y0; y < o.y1; ++y)
      for (int x = o.x0; x < o.x1; ++x) {
        const Bgr p = image.at<Bgr>(y, x);
        if (p == *background) continue;
        if (!colour) colour = p;
        foreign += p != *colour;  // neither the background nor this object's one colour
        ++ink_pixels;
        bottom_row_ink += y == o.y1 - 1;
        left = std::min(left, x), right = std::max(right, x), top = std::min(top, y), lowest = std::max(lowest, y);
      }
    REQUIRE(colour);  // the object is drawn
    CHECK(foreign == 0);
    CHECK(std::min({(*colour)[0], (*colour)[1], (*colour)[2]}) < 150);  // saturated
    CHECK(left == o.x0);                                                // the box is the object's tight bounding box
    CHECK(right == o.x1 - 1);
    CHECK(top == o.y0);
    CHECK(lowest == o.y1 - 1);
    const auto [it, added] = ink.emplace(o.colour, *colour);
    CHECK(it->second == *colour);  // one exact colour per colour name
    if (o.x1 - o.x0 >= 12) {       // smaller shapes are too coarse to tell apart
      fill[o.shape].push_back(double(ink_pixels) / ((o.x1 - o.x0) * (o.y1 - o.y0)));
      bottom[o.shape].push_back(double(bottom_row_ink) / (o.x1 - o.x0));
    }
  }
}

fs::path temp_folder(const std::string& name) {
  const fs::path folder = fs::temp_directory_path() / ("hanvit_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(folder);
  return folder;
}

}  // namespace

TEST_CASE("synth dataset follows the spec: captions, questions, answers, eligibility, pixels", "[synth]") {
  const fs::path out = temp_folder("synth_spec");
  std::map<std::string, Bgr> ink;
  std::map<std::string, std::vector<double>> fill, bottom;  // ink / box area, ink / width of the bottom row
  size_t existence_yes = 0, existence_all = 0, images_seen = 0;
  std::map<size_t, size_t> object_counts;

  for (const int size : {64, 25, 97}) {
    hanvit::data::SynthOptions options;
    options.out = out / std::to_string(size);
    options.size = size;
    options.seed = 11;
    options.train = size == 64 ? 300 : 40;
    options.val = 5;
    options.test = 5;
    const auto summary = hanvit::data::write_synth_dataset(options);
    CHECK(summary.images == options.train + 10);

    for (const char* split : {"train", "val", "test"}) {
      const fs::path folder = options.out / split;
      const std::map<std::string, Image> images = read_split(folder);
      const size_t expected_images = std::string(split) == "train" ? options.train : 5;
      REQUIRE(images.size() == expected_images);
      size_t index = 0;
      for (const auto& [path, image] : images) {
        INFO(folder.string() << "/" << path << ": " << image.caption);
        char name[32];
        std::snprintf(name, sizeof name, "images/%06zu.png", index++);
        CHECK(path == name);
        ++images_seen;

        // Objects: 1-3, known words, distinct cells in reading order.
        REQUIRE(!image.objects.empty());
        REQUIRE(image.objects.size() <= 3);
        ++object_counts[image.objects.size()];
        for (size_t i = 0; i < image.objects.size(); ++i) {
          index_of(kColours, image.objects[i].colour);
          index_of(kShapes, image.objects[i].shape);
          if (i > 0)
            CHECK(index_of(kPositions, image.objects[i - 1].position) <
                  index_of(kPositions, image.objects[i].position));
        }

        CHECK(image.caption == expected_caption(image.objects));

        // Questions: every one allowed and answered right; one of each eligible kind.
        const auto possible = possible_questions(image.objects);
        std::multiset<int> asked;
        for (const auto& [question, answer] : image.qa) {
          INFO(question << " -> " << answer);
          const auto it = possible.find(question);
          REQUIRE(it != possible.end());
          REQUIRE(it->second.second.has_value());
          CHECK(answer == *it->second.second);
          asked.insert(it->second.first);
          if (it->second.first == 4) {
            ++existence_all;
            existence_yes += answer == "네";
          }
        }
        const std::set<int> eligible = eligible_kinds(image.objects);
        CHECK(asked == std::multiset<int>(eligible.begin(), eligible.end()));

        const cv::Mat pixels = cv::imread((folder / path).string(), cv::IMREAD_UNCHANGED);
        check_pixels(pixels, size, image.objects, ink, fill, bottom);
      }
    }
  }
  CHECK(images_seen == 300 + 40 + 40 + 30);
  for (size_t n = 1; n <= 3; ++n) CHECK(object_counts[n] > images_seen / 5);
  const double yes = double(existence_yes) / double(existence_all);
  CHECK(yes >= 0.35);
  CHECK(yes <= 0.65);

  // Seven distinct colours; six shapes, told apart by how much of their box and of its bottom
  // row they fill (a triangle stands on its base, the others end in a point or a curve).
  CHECK(ink.size() == 7);
  std::set<std::vector<uchar>> distinct;
  for (const auto& [name, bgr] : ink) distinct.insert({bgr[0], bgr[1], bgr[2]});
  CHECK(distinct.size() == 7);
  REQUIRE(fill.size() == 6);
  const std::map<std::string, std::pair<double, double>> fill_range = {
      {"사각형", {1.0, 1.0}},  {"원", {0.72, 0.9}},     {"하트", {0.58, 0.75}},
      {"삼각형", {0.48, 0.6}}, {"마름모", {0.48, 0.6}}, {"별", {0.3, 0.5}},
  };
  for (const auto& [shape, ratios] : fill) {
    INFO(shape);
    CHECK(*std::min_element(ratios.begin(), ratios.end()) >= fill_range.at(shape).first);
    CHECK(*std::max_element(ratios.begin(), ratios.end()) <= fill_range.at(shape).second);
    const bool flat_bottom = shape == "사각형" || shape == "삼각형";
    for (const double ratio : bottom.at(shape)) CHECK((flat_bottom ? ratio == 1.0 : ratio <= 0.5));
  }
  fs::remove_all(out);
}
