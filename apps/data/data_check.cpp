// `hanvit data check`: reads dataset files with their formats and reports bad records and missing or undecodable
// images.
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <set>
#include <string>
#include <vector>

#include "apps/commands.h"
#include "datasets/formats/dataset_format.h"

namespace hanvit::app {
namespace {

// How many skip reasons are printed per file (the counts cover all of them).
constexpr size_t kShownReasons = 10;

struct CheckOptions {
  std::vector<std::string> files;
  std::string format;
  std::string image_root;
  std::string language = "ko";
  bool strict = false;
  bool decode = false;
};

void print_reasons(const data::RecordLog& log) {
  for (size_t i = 0; i < log.messages().size() && i < kShownReasons; ++i)
    std::printf("  %s\n", log.messages()[i].c_str());
  if (log.skipped() > kShownReasons) std::printf("  ... and %zu more\n", log.skipped() - kShownReasons);
}

// Decodes each distinct image once with OpenCV; failures go to `log`, named by image path.
void decode_images(const std::vector<data::Sample>& samples, data::RecordLog& log) {
  std::map<std::filesystem::path, const data::Sample*> images;
  for (const data::Sample& sample : samples) images.emplace(sample.image, &sample);
  for (const auto& [path, sample] : images) {
    const cv::Mat decoded = cv::imread(path.string(), cv::IMREAD_COLOR);
    if (decoded.empty())
      log.skip(path.string(), "cannot decode the image (sample " + sample->source + ")");
    else
      log.accept();
  }
}

void check_file(const std::string& file, const CheckOptions& options) {
  data::FormatOptions format_options;
  format_options.image_root = options.image_root;
  format_options.language = options.language == "en" ? data::CaptionLanguage::english : data::CaptionLanguage::korean;
  const data::DatasetFormat& format =
      options.format.empty() ? data::detect_format(file) : data::find_format(options.format);
  data::RecordLog log(options.strict);
  const std::vector<data::Sample> samples = format.read(file, format_options, log);
  std::printf("%s (%.*s): %zu records read, %zu skipped\n", file.c_str(), static_cast<int>(format.name.size()),
              format.name.data(), log.accepted() + log.skipped(), log.skipped());
  print_reasons(log);
  std::fflush(stdout);  // before a later file's error reaches stderr
  if (!options.decode) return;
  data::RecordLog decode_log(options.strict);
  decode_images(samples, decode_log);
  std::printf("  %zu images decoded, %zu undecodable\n", decode_log.accepted(), decode_log.skipped());
  print_reasons(decode_log);
  std::fflush(stdout);
}

}  // namespace

void add_data_check_command(CLI::App& data) {
  std::string formats;
  for (const std::string& name : data::list_formats()) formats += (formats.empty() ? "" : ", ") + name;
  CLI::App* check = data.add_subcommand("check", "Read dataset files, report bad records and missing images");
  auto options = std::make_shared<CheckOptions>();
  check->add_option("files", options->files, "Dataset files (.jsonl / .json)")->required();
  check->add_option("--format", options->format, "Format of every file (" + formats + "); default: detected per file");
  check->add_option("--image-root", options->image_root,
                    "Folder that relative image paths resolve against (default: each file's folder)");
  check->add_option("--language", options->language, "Captions to read when a COCO file has both: ko or en")
      ->capture_default_str()
      ->check(CLI::IsMember({"ko", "en"}));
  check->add_flag("--strict", options->strict, "Stop with an error at the first bad record or image");
  check->add_flag("--decode", options->decode, "Also decode every image with OpenCV");
  check->callback([options] {
    for (const std::string& file : options->files) check_file(file, *options);
  });
}

}  // namespace hanvit::app
