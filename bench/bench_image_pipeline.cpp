// Benchmark: images/s of decode + CLIP preprocessing (224 px) on 2 threads vs Hugging Face's CLIPImageProcessor.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "datasets/image/decode.h"
#include "datasets/image/preprocess.h"

namespace fs = std::filesystem;

namespace {

constexpr int kImages = 200;
constexpr int kThreads = 2;
constexpr int kRepeats = 3;

// Photo-like 640x480 JPEGs (quality 90): gradients, filled shapes and sensor-like noise.
std::vector<std::string> write_images(const fs::path& dir) {
  std::mt19937 rng(2026);
  std::vector<std::string> paths;
  for (int i = 0; i < kImages; ++i) {
    const bool portrait = i % 5 == 0;
    const int w = portrait ? 480 : 640, h = portrait ? 640 : 480;
    cv::Mat bgr(h, w, CV_8UC3);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        bgr.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>((x + i * 13) % 256), static_cast<uint8_t>(y * 255 / h),
                                            static_cast<uint8_t>((x * y / 97 + i) % 256));
    for (int s = 0; s < 12; ++s) {
      const cv::Scalar colour(rng() % 256, rng() % 256, rng() % 256);
      cv::circle(bgr, {static_cast<int>(rng() % w), static_cast<int>(rng() % h)}, 10 + static_cast<int>(rng() % 80),
                 colour, cv::FILLED);
    }
    cv::Mat noise(h, w, CV_8UC3);
    cv::randn(noise, cv::Scalar::all(0), cv::Scalar::all(6));
    bgr += noise;
    const fs::path path = dir / ("image_" + std::to_string(1000 + i) + ".jpg");
    if (!cv::imwrite(path.string(), bgr, {cv::IMWRITE_JPEG_QUALITY, 90}))
      throw std::runtime_error("cannot write " + path.string());
    paths.push_back(path.string());
  }
  return paths;
}

// Each thread takes the next image, decodes it and preprocesses it; the best of kRepeats runs.
double hanvit_images_per_second(const std::vector<std::string>& paths) {
  const hanvit::data::PreprocessOptions clip = hanvit::data::preprocess_preset("clip");
  double best = 0.0;
  for (int r = 0; r < kRepeats; ++r) {
    std::atomic<size_t> next{0};
    std::atomic<double> checksum{0.0};
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&] {
        double local = 0.0;
        for (size_t i = next++; i < paths.size(); i = next++) {
          const hanvit::Tensor values = hanvit::data::preprocess(hanvit::data::decode_image_file(paths[i]), clip);
          local += values.data<float>()[0];
        }
        checksum = checksum + local;
      });
    for (std::thread& thread : threads) thread.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, static_cast<double>(paths.size()) / seconds);
  }
  return best;
}

std::string run_command(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("cannot run: " + command);
  std::string out;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe.get())) out.append(buffer, n);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string python;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--python" && i + 1 < argc) {
      python = argv[++i];
    } else {
      std::fprintf(stderr, "usage: bench_image_pipeline [--python PATH_TO_VENV_PYTHON]\n");
      return 2;
    }
  }
  const fs::path dir = fs::temp_directory_path() / ("hanvit_bench_images_" + std::to_string(getpid()));
  fs::create_directories(dir);
  try {
    const std::vector<std::string> paths = write_images(dir);
    std::printf("%d JPEGs (640x480 and 480x640, quality 90) in %s\n", kImages, dir.c_str());
    const double ours = hanvit_images_per_second(paths);
    std::printf("hanvit  decode + CLIP preprocess (224), %d threads:        %8.1f images/s\n", kThreads, ours);
    if (python.empty()) {
      std::printf("reference skipped: pass --python PATH (the venv python of scripts/make_venv.sh)\n");
    } else {
      const std::string script = std::string(HANVIT_SOURCE_DIR) + "/scripts/bench_image_pipeline_hf.py";
      const std::string out = run_command("'" + python + "' '" + script + "' --dir '" + dir.string() + "' --workers " +
                                          std::to_string(kThreads) + " 2>/dev/null");
      const size_t json_start = out.find('{');
      if (json_start == std::string::npos)
        throw std::runtime_error("the reference script printed no result (run it by hand to see why): " + script);
      const nlohmann::json ref = nlohmann::json::parse(out.substr(json_start));
      const double pil = ref.at("pil").get<double>();
      std::printf("HF %s CLIPImageProcessor (PIL path), %d processes: %8.1f images/s   hanvit is %.1fx\n",
                  ref.at("transformers").get<std::string>().c_str(), kThreads, pil, ours / pil);
      if (ref.at("fast").is_null())
        std::printf("HF fast path: %s\n", ref.at("fast_note").get<std::string>().c_str());
      else
        std::printf("HF CLIPImageProcessor (fast path), %d processes:        %8.1f images/s   hanvit is %.1fx\n",
                    kThreads, ref.at("fast").get<double>(), ours / ref.at("fast").get<double>());
    }
  } catch (const std::exception& e) {
    fs::remove_all(dir);
    std::fprintf(stderr, "bench_image_pipeline: %s\n", e.what());
    return 1;
  }
  fs::remove_all(dir);
  return 0;
}
