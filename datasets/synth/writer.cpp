// The synthetic dataset writer: argument checks, split folders, threaded image making, atomic JSONL files.
#include "datasets/synth/writer.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "datasets/synth/example.h"
#include "datasets/synth/render.h"
#include "modules/io/atomic_file.h"

namespace hanvit::data {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;  // keys in insertion order

constexpr size_t kMaxSplitImages = 1000000;  // images/000000.png .. images/999999.png
constexpr const char* kJsonlFiles[] = {"captions.jsonl", "vqa.jsonl", "objects.jsonl"};

// The three JSONL texts of one image: one caption line, its VQA lines, one objects line.
struct ImageLines {
  std::string captions, vqa, objects;
  size_t questions = 0;
};

std::string image_name(size_t index) {
  char name[32];
  std::snprintf(name, sizeof name, "images/%06zu.png", index);
  return name;
}

std::string dump_line(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::strict) + "\n"; }

ImageLines make_image(const SynthOptions& options, SynthSplit split, size_t index, const fs::path& folder) {
  const SynthExample example = make_synth_example(options.seed, split, index, options.size);
  const std::string image = image_name(index);

  std::vector<uchar> png;
  if (!cv::imencode(".png", render_scene(example.scene), png))
    throw std::runtime_error((folder / image).string() + ": PNG encoding failed");
  const fs::path path = folder / image;
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
  file.close();
  if (!file) throw std::runtime_error(path.string() + ": cannot write image");

  ImageLines lines;
  lines.captions = dump_line(Json{{"image", image}, {"caption", example.caption}});
  lines.questions = example.questions.size();
  for (const QuestionAnswer& qa : example.questions)
    lines.vqa += dump_line(Json{{"image", image}, {"question", qa.question}, {"answer", qa.answer}});
  Json objects = Json::array();
  for (const SynthObject& o : example.scene.objects)
    objects.push_back(Json{{"colour", kSynthColours[o.colour].adjective},
                           {"shape", shape_name(o.shape)},
                           {"position", kSynthPositions[o.cell]},
                           {"box", {o.box.x0, o.box.y0, o.box.x1, o.box.y1}}});
  lines.objects = dump_line(Json{{"image", image}, {"objects", objects}});
  return lines;
}

// Makes images [0, count) of a split on `threads` threads, thread t taking the t-th of equal
// contiguous index ranges; reports progress from this thread; rethrows the first failure.
std::vector<ImageLines> make_split(const SynthOptions& options, SynthSplit split, size_t count,
                                   const fs::path& folder) {
  std::vector<ImageLines> lines(count);
  std::atomic<size_t> done{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::condition_variable finished;
  size_t running = options.threads;
  std::exception_ptr first_error;

  auto work = [&](size_t begin, size_t end) {
    try {
      for (size_t i = begin; i < end && !failed; ++i) {
        lines[i] = make_image(options, split, i, folder);
        ++done;
      }
    } catch (...) {
      std::lock_guard lock(mutex);
      if (!first_error) first_error = std::current_exception();
      failed = true;
    }
    std::lock_guard lock(mutex);
    --running;
    finished.notify_all();
  };

  std::vector<std::thread> workers;
  for (size_t t = 0; t < options.threads; ++t)
    workers.emplace_back(work, count * t / options.threads, count * (t + 1) / options.threads);
  {
    std::unique_lock lock(mutex);
    while (!finished.wait_for(lock, std::chrono::milliseconds(100), [&] { return running == 0; }))
      if (options.progress) options.progress(split_name(split), done, count);
  }
  for (std::thread& worker : workers) worker.join();
  if (first_error) std::rethrow_exception(first_error);
  if (options.progress) options.progress(split_name(split), count, count);
  return lines;
}

void write_jsonl(const fs::path& path, const std::vector<ImageLines>& lines, std::string ImageLines::*field) {
  write_file_atomically(path.string(), [&](const WriteBytes& write) {
    for (const ImageLines& image : lines) write((image.*field).data(), (image.*field).size());
  });
}

void check_options(const SynthOptions& options) {
  if (options.size < kSynthMinSize || options.size > kSynthMaxSize)
    throw std::invalid_argument("--size " + std::to_string(options.size) + ": must be between " +
                                std::to_string(kSynthMinSize) + " and " + std::to_string(kSynthMaxSize) + " pixels");
  for (const auto& [name, count] :
       {std::pair{"--train", options.train}, {"--val", options.val}, {"--test", options.test}})
    if (count > kMaxSplitImages)
      throw std::invalid_argument(std::string(name) + " " + std::to_string(count) + ": at most " +
                                  std::to_string(kMaxSplitImages) + " images per split (6-digit names)");
  if (options.train + options.val + options.test == 0)
    throw std::invalid_argument("--train, --val and --test are all 0: no images to write");
  if (options.threads == 0) throw std::invalid_argument("threads: must be at least 1");
  if (options.out.empty()) throw std::invalid_argument("--out: no output folder given");
}

// A split folder may be absent or empty; a non-empty one only with overwrite.
void check_split_folder(const fs::path& folder, bool overwrite) {
  std::error_code error;
  if (!fs::exists(folder, error)) return;
  if (!fs::is_directory(folder)) throw std::runtime_error(folder.string() + ": exists and is not a folder");
  if (!overwrite && !fs::is_empty(folder))
    throw std::runtime_error(folder.string() + ": folder is not empty (pass --overwrite to replace it)");
}

// Creates OUT/<split>/images, first removing what a previous run wrote there (images/ and the
// JSONL files, nothing else).
void prepare_split_folder(const fs::path& folder) {
  std::error_code error;
  fs::remove_all(folder / "images", error);
  for (const char* name : kJsonlFiles) fs::remove(folder / name, error);
  error.clear();
  fs::create_directories(folder / "images", error);
  if (error)
    throw std::runtime_error("--out: cannot create folder '" + (folder / "images").string() + "': " + error.message());
}

}  // namespace

SynthSummary write_synth_dataset(const SynthOptions& options) {
  check_options(options);
  const size_t counts[] = {options.train, options.val, options.test};  // in kSynthSplits order
  for (SynthSplit split : kSynthSplits)                                // refuse before writing anything
    if (counts[static_cast<size_t>(split)] > 0) check_split_folder(options.out / split_name(split), options.overwrite);
  SynthSummary summary;
  for (SynthSplit split : kSynthSplits) {
    const size_t count = counts[static_cast<size_t>(split)];
    if (count == 0) continue;
    const fs::path folder = options.out / split_name(split);
    prepare_split_folder(folder);
    const std::vector<ImageLines> lines = make_split(options, split, count, folder);
    write_jsonl(folder / kJsonlFiles[0], lines, &ImageLines::captions);
    write_jsonl(folder / kJsonlFiles[1], lines, &ImageLines::vqa);
    write_jsonl(folder / kJsonlFiles[2], lines, &ImageLines::objects);
    summary.images += count;
    for (const ImageLines& image : lines) summary.questions += image.questions;
  }
  return summary;
}

}  // namespace hanvit::data
