// Training checkpoints: a model folder plus optimizer state and trainer_state.json, written whole or not at all.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "modules/tensor/tensor.h"

namespace hanvit::app {

// RUN/checkpoints/step-00000120: config.json, model.safetensors (+ tokenizer and preprocessor files:
// a model folder that caption / vqa / train load as it is), optimizer.safetensors and trainer_state.json.
std::filesystem::path checkpoint_path(const std::filesystem::path& run_dir, int64_t step);

// The complete checkpoint with the highest step (a folder that holds trainer_state.json, so never a
// half-written one: those keep their temporary name until complete), or nullopt.
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& run_dir);

// What a checkpoint holds beside the model files.
struct CheckpointState {
  nlohmann::json trainer;  // trainer_state.json: step, loader position, RNG, counters, config
  std::vector<std::pair<std::string, Tensor>> optimizer;  // host tensors, "<param>.<slot>"
};

// Writes checkpoint_path(run_dir, step) atomically: `write_model(folder)` writes the model files into the
// temporary folder, then optimizer.safetensors and trainer_state.json (the last file: its presence marks
// a complete checkpoint) are written, every file fsynced, and the folder renamed into place. Afterwards
// only the newest `keep` checkpoints are kept, and temporary folders left by a killed run are removed.
// HANVIT_FAULT_KILL_IN_SAVE=STEP (fault injection for tests) kills the process with SIGKILL after the
// model files of that step's checkpoint are written.
void save_checkpoint(const std::filesystem::path& run_dir, int64_t step, const CheckpointState& state,
                     const std::function<void(const std::filesystem::path& folder)>& write_model, int64_t keep);

// Reads trainer_state.json and optimizer.safetensors of a checkpoint folder; errors name the file.
CheckpointState read_checkpoint_state(const std::filesystem::path& folder);

}  // namespace hanvit::app
