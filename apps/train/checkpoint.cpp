// Checkpoint folders: atomic write with fault injection, newest-complete lookup, pruning, reading back.
#include "apps/train/checkpoint.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>

#include "modules/io/atomic_file.h"
#include "modules/io/atomic_folder.h"
#include "modules/io/json_strict.h"
#include "modules/io/safetensors.h"

namespace hanvit::app {
namespace fs = std::filesystem;
namespace {

constexpr const char* kPrefix = "step-";
constexpr const char* kTrainerState = "trainer_state.json";
constexpr const char* kOptimizerFile = "optimizer.safetensors";

// The step of a folder named step-NNNNNNNN, or -1 for any other name (temporary folders included).
int64_t step_of(const fs::path& folder) {
  const std::string name = folder.filename().string();
  if (name.rfind(kPrefix, 0) != 0 || name.size() == 5) return -1;
  int64_t step = 0;
  for (size_t i = 5; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    step = step * 10 + (name[i] - '0');
  }
  return step;
}

// Complete checkpoints by step.
std::map<int64_t, fs::path> complete_checkpoints(const fs::path& run_dir) {
  std::map<int64_t, fs::path> found;
  const fs::path dir = run_dir / "checkpoints";
  if (!fs::is_directory(dir)) return found;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const int64_t step = step_of(entry.path());
    if (step >= 0 && fs::is_regular_file(entry.path() / kTrainerState)) found[step] = entry.path();
  }
  return found;
}

void prune(const fs::path& run_dir, int64_t keep) {
  const fs::path dir = run_dir / "checkpoints";
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".tmp.") != std::string::npos || name.find(".old.") != std::string::npos) fs::remove_all(entry.path());
  }
  std::map<int64_t, fs::path> found = complete_checkpoints(run_dir);
  while (static_cast<int64_t>(found.size()) > keep) {
    fs::remove_all(found.begin()->second);
    found.erase(found.begin());
  }
}

}  // namespace

fs::path checkpoint_path(const fs::path& run_dir, int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "%s%08lld", kPrefix, static_cast<long long>(step));
  return run_dir / "checkpoints" / name;
}

std::optional<fs::path> latest_checkpoint(const fs::path& run_dir) {
  const std::map<int64_t, fs::path> found = complete_checkpoints(run_dir);
  if (found.empty()) return std::nullopt;
  return found.rbegin()->second;
}

void save_checkpoint(const fs::path& run_dir, int64_t step, const CheckpointState& state,
                     const std::function<void(const fs::path&)>& write_model, int64_t keep) {
  const char* fault = std::getenv("HANVIT_FAULT_KILL_IN_SAVE");
  const bool kill_now = fault != nullptr && std::atoll(fault) == step;
  const std::string trainer_text = state.trainer.dump(2) + "\n";
  write_folder_atomically(checkpoint_path(run_dir, step), true, [&](const fs::path& temp) {
    write_model(temp);
    if (kill_now) std::raise(SIGKILL);
    save_safetensors((temp / kOptimizerFile).string(), state.optimizer);
    write_text_atomically((temp / kTrainerState).string(), trainer_text);
  });
  prune(run_dir, keep);
}

CheckpointState read_checkpoint_state(const fs::path& folder) {
  CheckpointState state;
  state.trainer = read_json_file_strict((folder / kTrainerState).string(),
                                        "checkpoint '" + folder.string() + "' " + kTrainerState);
  const SafetensorsFile optimizer((folder / kOptimizerFile).string());
  for (const std::string& name : optimizer.names()) state.optimizer.emplace_back(name, optimizer.get(name).clone());
  return state;
}

}  // namespace hanvit::app
