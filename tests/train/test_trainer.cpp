// The training loop in process: the loss falls, a stopped run resumes bit for bit, frozen parameters stay
// untouched, non-finite gradients are skipped and then stop the run, bad configs and data are refused.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <iterator>

#include "apps/train/checkpoint.h"
#include "apps/train/stop_signal.h"
#include "modules/dist/communicator.h"
#include "modules/io/safetensors.h"
#include "tests/train/train_test_support.h"

using namespace hanvit;
using namespace hanvit::app;
using namespace hanvit::app::testing;
using hanvit::testing::TempDir;

namespace {

TrainSummary run(const TrainConfig& config, const TrainHooks& hooks = {}) {
  std::unique_ptr<Communicator> comm = make_communicator(Device::cpu());
  TrainHooks quiet = hooks;
  quiet.progress = false;
  return train(config, *comm, quiet);
}

// Every tensor of a model folder's weights, by name.
std::map<std::string, std::vector<double>> weights(const std::filesystem::path& model_dir) {
  std::map<std::string, std::vector<double>> out;
  SafetensorsFolder folder(model_dir.string());
  for (const std::string& name : folder.names()) out[name] = folder.get(name).to_f64();
  return out;
}

std::map<std::string, std::vector<double>> weights_of_file(const std::filesystem::path& file) {
  std::map<std::string, std::vector<double>> out;
  SafetensorsFile tensors(file.string());
  for (const std::string& name : tensors.names()) out[name] = tensors.get(name).to_f64();
  return out;
}

}  // namespace

TEST_CASE("train/the loss falls on a tiny run", "[train]") {
  TempDir dir("train-falls");
  TrainConfig config = tiny_config(dir.path);
  config.steps = 40;
  const TrainSummary summary = run(config);
  REQUIRE(summary.losses.size() == 40u);
  double first = 0.0, last = 0.0;
  for (int i = 0; i < 5; ++i) {
    first += summary.losses[static_cast<size_t>(i)] / 5;
    last += summary.losses[summary.losses.size() - 1 - static_cast<size_t>(i)] / 5;
  }
  INFO("mean loss of the first 5 steps " << first << ", of the last 5 " << last);
  CHECK(last < 0.75 * first);
  CHECK(std::filesystem::exists(dir.path / "model" / "config.json"));
  CHECK(std::filesystem::exists(dir.path / "metrics.jsonl"));
  CHECK(latest_checkpoint(dir.path) == checkpoint_path(dir.path, 40));
}

TEST_CASE("train/a run stopped by a signal resumes from its checkpoint bit for bit", "[train]") {
  TempDir straight("train-straight"), stopped("train-stopped");
  TrainConfig config = tiny_config(straight.path);
  config.steps = 8;
  config.workers = 2;  // decoding threads must not change the order
  const TrainSummary whole = run(config);

  config.output = stopped.path.string();
  TrainHooks stop_at_4;
  stop_at_4.after_gradients = [](int64_t step, const Tensor&) {
    if (step == 3) request_stop();
  };
  const TrainSummary first = run(config, stop_at_4);
  clear_stop_request();
  CHECK(first.stopped);
  CHECK(first.last_step == 4);
  CHECK_FALSE(std::filesystem::exists(stopped.path / "model"));
  const TrainSummary second = run(config);
  CHECK(second.first_step == 4);
  REQUIRE(first.losses.size() == 4u);
  REQUIRE(second.losses.size() == 4u);
  for (size_t i = 0; i < 8; ++i) {
    INFO("step " << i);
    CHECK(whole.losses[i] == (i < 4 ? first.losses[i] : second.losses[i - 4]));
  }
  CHECK(weights(straight.path / "model") == weights(stopped.path / "model"));
}

TEST_CASE("train/the fusion preset leaves the vision tower and the decoder bit-identical", "[train]") {
  TempDir dir("train-frozen");
  TrainConfig config = tiny_config(dir.path);
  config.preset = "fusion";
  config.steps = 3;
  run(config);
  const auto before = weights(config.model), after = weights(dir.path / "model");
  REQUIRE(before.size() == after.size());
  size_t changed = 0;
  for (const auto& [name, values] : before) {
    INFO(name);
    const bool fusion = name.rfind("fusion.", 0) == 0;
    if (!fusion) CHECK(after.at(name) == values);
    changed += after.at(name) != values ? 1 : 0;
  }
  CHECK(changed > 10);
}

TEST_CASE("train/a learning-rate multiplier of zero holds its parameters still", "[train]") {
  TempDir dir("train-lr-scales");
  TrainConfig config = tiny_config(dir.path);
  config.steps = 3;
  config.optimizer.lr_scales = {{"vision.*", 0.0}};
  run(config);
  const auto before = weights(config.model), after = weights(dir.path / "model");
  size_t vision = 0, moved = 0;
  for (const auto& [name, values] : before) {
    if (name.rfind("vision.", 0) == 0) {
      ++vision;
      CHECK(after.at(name) == values);
    } else {
      moved += after.at(name) != values ? 1 : 0;
    }
  }
  CHECK(vision > 5);
  CHECK(moved > 10);
}

TEST_CASE("train/non-finite gradients skip the step, and too many in a row stop the run", "[train]") {
  TempDir dir("train-nonfinite");
  TrainConfig config = tiny_config(dir.path);
  config.steps = 4;
  TrainHooks poison_step_1;
  poison_step_1.after_gradients = [](int64_t step, const Tensor& grad) {
    if (step == 1) grad.data<float>()[7] = NAN;
  };
  const TrainSummary summary = run(config, poison_step_1);
  CHECK(summary.skipped_steps == 1);
  CHECK(std::isnan(summary.losses[1]));
  CHECK(std::isfinite(summary.losses[2]));

  TempDir again("train-nonfinite-stop");
  config.output = again.path.string();
  config.max_bad_steps = 2;
  TrainHooks poison_all;
  poison_all.after_gradients = [](int64_t, const Tensor& grad) { grad.data<float>()[0] = INFINITY; };
  CHECK_THROWS_WITH(run(config, poison_all), Catch::Contains("2 steps in a row had a non-finite loss or gradient"));
}

TEST_CASE("train/bad configs and data are refused with the key or file named", "[train]") {
  const nlohmann::json good = tiny_config("/tmp/unused").to_json();
  auto refused = [&](const std::string& key, const nlohmann::json& value) {
    nlohmann::json config = good;
    config[key] = value;
    try {
      TrainConfig::from_json(config, "config 'x.json'");
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(refused("learning_rate", 0.1) == "config 'x.json'.learning_rate: unknown key");
  CHECK(refused("steps", "many") == "config 'x.json'.steps: must be an integer");
  CHECK(refused("batch_size", 0) == "config 'x.json'.batch_size: must be >= 1");
  CHECK(refused("preset", "most") == "config 'x.json'.preset: 'most' is not one of full, fusion, lora, none");
  CHECK(refused("grad_accum", 3) == "config 'x.json': batch_size 8 is not a multiple of grad_accum 3");
  CHECK(refused("optimizer", {{"lr", -1.0}}) == "config 'x.json'.optimizer.lr: must be a finite number >= 0");
  CHECK(refused("train_data", nlohmann::json::array()) ==
        "config 'x.json': train_data: at least one dataset is required");

  nlohmann::json overridden = good;
  apply_overrides(overridden, {"optimizer.lr=0.5", "steps=12", "preset=fusion"});
  const TrainConfig parsed = TrainConfig::from_json(overridden, "config");
  CHECK(parsed.optimizer.lr == 0.5);
  CHECK(parsed.steps == 12);
  CHECK(parsed.preset == "fusion");
  CHECK_THROWS_WITH(apply_overrides(overridden, {"steps"}), Catch::Contains("expected KEY=VALUE"));

  TempDir dir("train-bad-data");
  TrainConfig missing = tiny_config(dir.path);
  missing.train_data = {{(dir.path / "nowhere.jsonl").string(), "", 1.0}};
  CHECK_THROWS_WITH(run(missing), Catch::Contains("nowhere.jsonl"));
  TrainConfig too_big = tiny_config(dir.path);
  too_big.batch_size = 4096;
  CHECK_THROWS_WITH(run(too_big), Catch::Contains("lower batch_size or add data"));
}

TEST_CASE("train/a damaged checkpoint stops the resume, naming the file, and stays as it was", "[train]") {
  TempDir dir("train-damaged");
  TrainConfig config = tiny_config(dir.path);
  config.steps = 2;
  run(config);
  const std::filesystem::path state = checkpoint_path(dir.path, 2) / "trainer_state.json";
  { std::ofstream(state) << "{\"step\": 2,"; }
  config.steps = 4;
  CHECK_THROWS_WITH(run(config), Catch::StartsWith("checkpoint '" + checkpoint_path(dir.path, 2).string() +
                                                     "' trainer_state.json is not valid JSON"));
  std::ifstream in(state);
  CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == "{\"step\": 2,");
  CHECK(latest_checkpoint(dir.path) == checkpoint_path(dir.path, 2));
}

TEST_CASE("train/YAML configs read as JSON", "[train]") {
  TempDir dir("train-yaml");
  const std::filesystem::path path = dir.path / "run.yaml";
  std::FILE* file = std::fopen(path.c_str(), "w");
  REQUIRE(file);
  std::fputs("model: m\noutput: \"out\"\nsteps: 20\nfreeze: [\"vision.*\"]\noptimizer:\n  lr: 3.0e-4\n  clip: 1\n"
             "  lr_scales: {\"vision.*\": 0.1}\n"
             "zero1: true\ntrain_data:\n  - path: a.jsonl\n    weight: 2.5\n",
             file);
  std::fclose(file);
  const TrainConfig config = TrainConfig::from_json(read_config_file(path.string()), "config");
  CHECK(config.model == "m");
  CHECK(config.output == "out");
  CHECK(config.steps == 20);
  CHECK(config.freeze == std::vector<std::string>{"vision.*"});
  CHECK(config.optimizer.lr == 3.0e-4);
  CHECK(config.optimizer.clip == 1.0);
  CHECK(config.optimizer.lr_scales == std::vector<std::pair<std::string, double>>{{"vision.*", 0.1}});
  CHECK(config.zero1);
  REQUIRE(config.train_data.size() == 1u);
  CHECK(config.train_data[0].weight == 2.5);
  CHECK_THROWS_WITH(read_config_file((dir.path / "none.yaml").string()), Catch::Contains("none.yaml"));
  const std::filesystem::path broken = dir.path / "broken.yml";
  std::FILE* bad = std::fopen(broken.c_str(), "w");
  REQUIRE(bad);
  std::fputs("steps: [1, 2\n", bad);
  std::fclose(bad);
  CHECK_THROWS_WITH(read_config_file(broken.string()), Catch::StartsWith("config '" + broken.string() + "': "));
}

TEST_CASE("train/the lora preset trains adapters and exports them merged", "[train]") {
  TempDir dir("train-lora");
  TrainConfig config = tiny_config(dir.path);
  config.preset = "lora";
  config.lora.targets = {"language.*.q_proj", "fusion.*.v_proj"};
  config.lora.rank = 4;
  config.lora.dropout = 0.1;
  config.steps = 4;
  config.optimizer.lr = 2e-2;
  const TrainSummary summary = run(config);
  CHECK(std::isfinite(summary.losses.back()));
  CHECK(std::filesystem::exists(dir.path / "adapter" / "adapter_config.json"));
  const auto adapters = weights_of_file(dir.path / "adapter" / "adapter_model.safetensors");
  CHECK(adapters.size() == 4u);  // one decoder layer and one gated block, A and B each
  const auto before = weights(config.model), after = weights(dir.path / "model");
  for (const auto& [name, values] : before) {
    INFO(name);
    const bool merged = name.find("q_proj") != std::string::npos && name.rfind("language.", 0) == 0;
    const bool fusion = name.rfind("fusion.", 0) == 0;
    if (merged || fusion) continue;
    CHECK(after.at(name) == values);
  }
  CHECK(after.at("language.model.layers.0.self_attn.q_proj.weight") !=
        before.at("language.model.layers.0.self_attn.q_proj.weight"));
  CHECK(after.count("language.model.layers.0.self_attn.q_proj.lora_A.weight") == 0u);
}
