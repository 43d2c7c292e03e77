// `hanvit train` as separate processes: SIGKILL in the middle of a checkpoint save and resume, SIGTERM's clean stop,
// and data parallelism (mpirun -np 2 equals one rank on the doubled batch, with and without ZeRO-1).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include "apps/train/checkpoint.h"
#include "apps/train/metrics_log.h"
#include "modules/io/safetensors.h"
#include "tests/train/train_test_support.h"

using namespace hanvit;
using namespace hanvit::app;
using namespace hanvit::app::testing;
using hanvit::testing::TempDir;

namespace {

// Starts `args` with the extra environment variable `env` ("NAME=value", or empty); returns the pid.
pid_t start(const std::vector<std::string>& args, const std::string& env = "") {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!env.empty()) ::putenv(const_cast<char*>(env.c_str()));
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

// Writes `config` as RUN/../NAME.json and returns the path.
std::string write_config(const TrainConfig& config, const std::filesystem::path& path) {
  std::ofstream(path) << config.to_json().dump(2);
  return path.string();
}

// The training loss of every logged step.
std::map<int64_t, double> train_losses(const std::filesystem::path& run_dir) {
  std::map<int64_t, double> losses;
  for (const MetricsRecord& r : read_metrics((run_dir / kMetricsFileName).string()))
    if (r.split == "train") losses[r.step] = r.values.at("loss");
  return losses;
}

std::map<std::string, std::vector<double>> weights(const std::filesystem::path& model_dir) {
  std::map<std::string, std::vector<double>> out;
  SafetensorsFolder folder(model_dir.string());
  for (const std::string& name : folder.names()) out[name] = folder.get(name).to_f64();
  return out;
}

}  // namespace

TEST_CASE("train/a run killed in the middle of a checkpoint save resumes and equals an uninterrupted run",
          "[train-process]") {
  TempDir dir("train-sigkill");
  TrainConfig config = tiny_config(dir.path / "straight");
  config.steps = 6;
  config.checkpoint_every = 2;
  CHECK(WEXITSTATUS(wait_for(start({HANVIT_BINARY, "train", write_config(config, dir.path / "straight.json"), "--quiet"}))) == 0);

  config.output = (dir.path / "killed").string();
  const std::string killed_config = write_config(config, dir.path / "killed.json");
  const int status = wait_for(start({HANVIT_BINARY, "train", killed_config, "--quiet"}, "HANVIT_FAULT_KILL_IN_SAVE=4"));
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  CHECK(latest_checkpoint(config.output) == checkpoint_path(config.output, 2));  // step 4's save never completed

  CHECK(WEXITSTATUS(wait_for(start({HANVIT_BINARY, "train", killed_config, "--quiet"}))) == 0);
  CHECK(train_losses(dir.path / "killed") == train_losses(dir.path / "straight"));
  CHECK(train_losses(dir.path / "killed").size() == 6u);
  CHECK(weights(dir.path / "killed" / "model") == weights(dir.path / "straight" / "model"));
  for (const auto& entry : std::filesystem::directory_iterator(dir.path / "killed" / "checkpoints"))
    CHECK(entry.path().filename().string().find(".tmp.") == std::string::npos);  // the torn save is cleaned up
}

TEST_CASE("train/SIGTERM saves a checkpoint and exits cleanly", "[train-process]") {
  TempDir dir("train-sigterm");
  TrainConfig config = tiny_config(dir.path / "run");
  config.steps = 100000;
  const pid_t pid = start({HANVIT_BINARY, "train", write_config(config, dir.path / "run.json"), "--quiet"});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!std::filesystem::exists(dir.path / "run" / kMetricsFileName) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ::kill(pid, SIGTERM);
  const int status = wait_for(pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  const std::optional<std::filesystem::path> saved = latest_checkpoint(dir.path / "run");
  REQUIRE(saved);
  CHECK(std::filesystem::exists(*saved / "model.safetensors"));
  CHECK_FALSE(std::filesystem::exists(dir.path / "run" / "model"));
}

#ifdef HANVIT_WITH_MPI
TEST_CASE("train/two MPI ranks equal one rank on the doubled batch, with and without ZeRO-1", "[train-process]") {
  TempDir dir("train-mpi");
  TrainConfig config = tiny_config(dir.path / "one");
  config.steps = 4;
  config.batch_size = 8;
  CHECK(WEXITSTATUS(wait_for(start({HANVIT_BINARY, "train", write_config(config, dir.path / "one.json"), "--quiet"}))) == 0);
  const auto one = train_losses(dir.path / "one");
  const auto one_weights = weights(dir.path / "one" / "model");
  REQUIRE(one.size() == 4u);
  for (const bool zero1 : {false, true}) {
    INFO("zero1 " << zero1);
    const std::string name = zero1 ? "two-zero1" : "two";
    config.output = (dir.path / name).string();
    config.zero1 = zero1;
    const int status = wait_for(start({HANVIT_MPIEXEC, "-n", "2", "--oversubscribe", "--allow-run-as-root", HANVIT_BINARY,
                                       "train", write_config(config, dir.path / (name + ".json")), "--quiet"}));
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    const auto two = train_losses(dir.path / name);
    REQUIRE(two.size() == one.size());
    for (const auto& [step, loss] : one) CHECK(two.at(step) == Approx(loss).epsilon(1e-5));
    const auto two_weights = weights(dir.path / name / "model");
    for (const auto& [tensor, values] : one_weights) {
      INFO(tensor);
      double worst = 0.0;
      for (size_t i = 0; i < values.size(); ++i) worst = std::max(worst, std::abs(values[i] - two_weights.at(tensor)[i]));
      CHECK(worst < 1e-4);
    }
  }
}
#endif
