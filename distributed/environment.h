// The distributed environment: which process this is among how many, and its start and end.
//
// Ember runs one process per rank, launched by MPI (`mpirun -np 4 prog`, Slurm's `srun`, or any
// launcher that sets up an MPI job) and reaching the others through MPI (CPU tensors) and NCCL
// (CUDA tensors, collectives.h). init() joins the job when a launcher started this process and
// does nothing else otherwise: a program started on its own is rank 0 of a world of size 1, where
// every collective is the identity, so one binary serves both.
//
//   ember::dist::init();
//   if (ember::dist::rank() == 0) fmt::print("{} ranks\n", ember::dist::world_size());
//   ...
//   ember::dist::finalize();
//
// A rank that fails must not leave the others waiting: communication errors are returned (MPI's
// MPI_ERRORS_RETURN) and thrown as ember::Error naming the collective and the rank, every wait
// gives up after InitOptions::timeout, and abort() ends the whole job with a message.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace ember::dist {

// What started this process.
enum class Launcher { None, MpiRun, Slurm, Pmi };
std::string_view launcher_name(Launcher launcher);

struct InitOptions {
  // How long a collective or barrier may wait for the other ranks before it throws (a rank that
  // died or never joined). Generous: the first collective of a run waits for every rank's start-up.
  std::chrono::seconds timeout{300};
};

// Joins the job (MPI_Init_thread, MPI_THREAD_SERIALIZED) when a launcher started this process;
// otherwise sets up world size 1 without MPI. A second call does nothing.
void init(const InitOptions& options = {});
// Leaves the job (frees the communicators, MPI_Finalize). Safe to call when init() was not.
void finalize();
bool is_initialized();

// Which launcher the environment names (available before init()).
Launcher detect_launcher();

// This process's rank in [0, world_size()), the number of ranks, and the rank among the ranks on
// this machine (the CUDA device to use: rank -> GPU). Throw ember::Error before init().
int rank();
int world_size();
int local_rank();

// Waits until every rank has reached it (or throws after the timeout).
void barrier();

// Prints "ember::dist: rank R of W aborting the job: <message>" to stderr and ends every rank of
// the job (MPI_Abort); without a launcher, ends this process. Does not return.
[[noreturn]] void abort(std::string_view message, int exit_code = 1);

// The timeout init() was given.
std::chrono::seconds timeout();

}  // namespace ember::dist
