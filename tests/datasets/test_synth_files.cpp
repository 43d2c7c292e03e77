// The synthetic dataset on disk: byte-for-byte determinism (seed, thread count, split sizes) and refused inputs.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "datasets/synth/writer.h"

namespace fs = std::filesystem;
using hanvit::data::SynthOptions;
using hanvit::data::write_synth_dataset;

namespace {

fs::path temp_folder(const std::string& name) {
  const fs::path folder = fs::temp_directory_path() / ("hanvit_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(folder);
  return folder;
}

// Every file under root (relative path -> bytes).
std::map<std::string, std::string> read_tree(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(root))
    if (entry.is_regular_file()) {
      std::ostringstream bytes;
      bytes << std::ifstream(entry.path(), std::ios::binary).rdbuf();
      files[fs::relative(entry.path(), root).string()] = bytes.str();
    }
  return files;
}

SynthOptions small(const fs::path& out, uint64_t seed, unsigned threads) {
  SynthOptions options;
  options.out = out;
  options.train = 25;
  options.val = 6;
  options.test = 7;
  options.size = 40;
  options.seed = seed;
  options.threads = threads;
  return options;
}

}  // namespace

TEST_CASE("synth output is byte-for-byte a function of the seed, whatever the thread count", "[synth]") {
  const fs::path root = temp_folder("synth_determinism");
  write_synth_dataset(small(root / "a", 5, 2));
  write_synth_dataset(small(root / "b", 5, 1));
  write_synth_dataset(small(root / "c", 5, 3));
  write_synth_dataset(small(root / "d", 6, 2));
  const auto a = read_tree(root / "a");
  REQUIRE(a.size() == 25 + 6 + 7 + 3 * 3);  // images + three JSONL files per split
  CHECK(a.count("train/images/000024.png") == 1);
  CHECK(a.count("test/vqa.jsonl") == 1);
  CHECK(read_tree(root / "b") == a);
  CHECK(read_tree(root / "c") == a);
  const auto d = read_tree(root / "d");
  for (const char* file : {"train/captions.jsonl", "val/objects.jsonl", "test/vqa.jsonl", "test/images/000000.png"}) {
    INFO(file);
    CHECK(d.at(file) != a.at(file));
  }

  // Each split has its own stream: other split sizes leave the test split as it was.
  SynthOptions more_train = small(root / "e", 5, 2);
  more_train.train = 3;
  more_train.val = 0;
  write_synth_dataset(more_train);
  const auto e = read_tree(root / "e");
  CHECK(!fs::exists(root / "e" / "val"));  // a split of 0 images is not written
  for (const auto& [path, bytes] : a)
    if (path.starts_with("test/")) {
      INFO(path);
      CHECK(e.at(path) == bytes);
    }
  CHECK(e.at("train/images/000002.png") == a.at("train/images/000002.png"));  // and a prefix of train
  fs::remove_all(root);
}

TEST_CASE("synth refuses a non-empty split folder before writing anything; --overwrite replaces only its own files",
          "[synth]") {
  const fs::path root = temp_folder("synth_overwrite");
  fs::create_directories(root / "test");
  std::ofstream(root / "test" / "notes.txt") << "mine";
  SynthOptions options = small(root, 1, 2);
  CHECK_THROWS_WITH(write_synth_dataset(options),
                    (root / "test").string() + ": folder is not empty (pass --overwrite to replace it)");
  CHECK(!fs::exists(root / "train"));  // refused before train was written
  CHECK(read_tree(root).size() == 1);

  options.overwrite = true;
  write_synth_dataset(options);
  CHECK(fs::exists(root / "test" / "notes.txt"));
  CHECK(fs::exists(root / "test" / "images" / "000006.png"));

  // A smaller second run leaves no image of the first behind.
  options.train = 4;
  write_synth_dataset(options);
  size_t train_images = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(root / "train" / "images")) ++train_images;
  CHECK(train_images == 4);
  options.overwrite = false;
  CHECK_THROWS_WITH(write_synth_dataset(options), Catch::Contains("train: folder is not empty"));
  fs::remove_all(root);
}

TEST_CASE("synth rejects bad options with the option named", "[synth]") {
  const fs::path root = temp_folder("synth_bad");
  SynthOptions options = small(root, 0, 2);
  options.size = 23;
  CHECK_THROWS_WITH(write_synth_dataset(options), "--size 23: must be between 24 and 2048 pixels");
  options.size = 2049;
  CHECK_THROWS_AS(write_synth_dataset(options), std::invalid_argument);
  options.size = 24;
  options.val = 1000001;
  CHECK_THROWS_WITH(write_synth_dataset(options), "--val 1000001: at most 1000000 images per split (6-digit names)");
  options.train = options.val = options.test = 0;
  CHECK_THROWS_WITH(write_synth_dataset(options), "--train, --val and --test are all 0: no images to write");
  CHECK(!fs::exists(root));

  fs::create_directories(root);
  std::ofstream(root / "file") << "not a folder";
  options = small(root / "file" / "out", 0, 2);
  CHECK_THROWS_WITH(
      write_synth_dataset(options),
      Catch::Contains("--out: cannot create folder '" + (root / "file" / "out" / "train" / "images").string()));
  options = small(root / "file", 0, 2);
  options.overwrite = true;
  std::ofstream(root / "train") << "a file where a split folder goes";
  options.out = root;
  CHECK_THROWS_WITH(write_synth_dataset(options), (root / "train").string() + ": exists and is not a folder");
  fs::remove_all(root);
}
