// Ember's MPI state, private to distributed/: the communicator Ember talks on, the lock that
// serialises MPI calls, error reporting and the polling wait with a timeout.
//
// Ember never calls MPI on MPI_COMM_WORLD itself but on a duplicate, so that a program's own MPI
// traffic cannot match Ember's. The communicator returns errors (MPI_ERRORS_RETURN) instead of
// aborting inside MPI, so that they become ember::Error with the collective's name and the rank.
#pragma once

#include <mpi.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <string_view>

namespace ember::dist::detail {

// The communicator (valid between init() and finalize() when a launcher started the job).
MPI_Comm communicator();
// Whether MPI is in use (a launcher started the job); false at world size 1 without one.
bool uses_mpi();
// Held around every MPI call: MPI is initialised with MPI_THREAD_SERIALIZED.
std::mutex& mpi_lock();

// Runs `cleanup` in finalize(), before MPI_Finalize (the NCCL backend frees its communicators).
void at_finalize(std::function<void()> cleanup);

// Throws ember::Error "dist::<what> (rank R of W): <call> failed: <MPI's error string>" unless
// status is MPI_SUCCESS.
void check_mpi(int status, std::string_view what, std::string_view call);

// Tests `request` until it completes, yielding then sleeping between tests, and throws
// ember::Error naming `what` once the init() timeout has passed. Takes mpi_lock() per test only.
void wait_for(MPI_Request& request, std::string_view what);
// One test of `request` (under the lock); true when it has completed.
bool test(MPI_Request& request, std::string_view what);

}  // namespace ember::dist::detail
