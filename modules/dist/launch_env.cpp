// Launcher detection from environment variables.
#include "modules/dist/launch_env.h"

#include <charconv>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

namespace hanvit {
namespace {

const char* env(const char* name) { return std::getenv(name); }

// The integer value of variable `name`, in [min, max].
int env_int(const char* name, int min, int max) {
  const char* value = env(name);
  if (!value) throw std::invalid_argument("launcher variable " + std::string(name) + " is not set");
  std::string_view text(value);
  int parsed = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (error != std::errc() || end != text.data() + text.size() || text.empty() || parsed < min || parsed > max)
    throw std::invalid_argument("launcher variable " + std::string(name) + "='" + std::string(text) +
                                "' is not an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  return parsed;
}

LaunchEnv read(const char* size_name, const char* rank_name, const char* local_rank_name, bool mpi) {
  LaunchEnv launch;
  launch.ranks = env_int(size_name, 1, 1 << 24);
  launch.rank = env_int(rank_name, 0, launch.ranks - 1);
  launch.local_rank = env(local_rank_name) ? env_int(local_rank_name, 0, launch.ranks - 1) : 0;
  launch.source = std::string(size_name) + "=" + std::to_string(launch.ranks);
  launch.mpi = mpi;
  return launch;
}

}  // namespace

LaunchEnv launch_env() {
  if (env("OMPI_COMM_WORLD_SIZE"))
    return read("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", true);
  if (env("PMI_SIZE")) return read("PMI_SIZE", "PMI_RANK", "MPI_LOCALRANKID", true);
  if (env("SLURM_NTASKS") && env("SLURM_PROCID"))
    return read("SLURM_NTASKS", "SLURM_PROCID", "SLURM_LOCALID", env("PMIX_RANK") || env("PMI_RANK"));
  if (env("PMIX_RANK"))
    throw std::invalid_argument(
        "launcher variable PMIX_RANK is set but no world size is (OMPI_COMM_WORLD_SIZE, "
        "PMI_SIZE or SLURM_NTASKS)");
  return {};
}

int launched_ranks() { return launch_env().ranks; }

}  // namespace hanvit
