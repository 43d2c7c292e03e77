// How this process was launched: world size, rank and local rank read from the launcher's
// environment variables (Open MPI, MPICH / PMI, PMIx, Slurm) without initialising anything.
#pragma once

#include <string>

namespace hanvit {

struct LaunchEnv {
  int ranks = 1;       // world size
  int rank = 0;        // this process's rank in [0, ranks)
  int local_rank = 0;  // rank among the processes on this node (selects the GPU)
  // Where the values came from, for messages: "OMPI_COMM_WORLD_SIZE=2", or "" when not launched.
  std::string source;
  // An MPI launcher started this process (mpirun / mpiexec / srun --mpi): MPI can be initialised.
  bool mpi = false;
};

// Reads, in this order: OMPI_COMM_WORLD_SIZE / _RANK / _LOCAL_RANK (Open MPI); PMI_SIZE /
// PMI_RANK / MPI_LOCALRANKID (MPICH, Intel MPI); SLURM_NTASKS + SLURM_PROCID / SLURM_LOCALID
// (srun; an MPI launch only with PMIX_RANK or PMI_RANK beside them, i.e. srun --mpi=...).
// A single process when none is set. Throws naming the variable when a value is not a number
// or out of range, or when PMIX_RANK comes without any world size.
LaunchEnv launch_env();
// The world size alone: launch_env().ranks.
int launched_ranks();

}  // namespace hanvit
