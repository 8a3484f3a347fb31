// init(), finalize(), rank queries, barrier() and abort() (environment.h), and the MPI plumbing
// every collective shares (mpi_runtime.h): the communicator, the lock, errors and timed waits.
#include "distributed/environment.h"

#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "distributed/mpi_runtime.h"

namespace ember::dist {

namespace {

// The process's place in the job, set by init().
struct Runtime {
  bool initialized = false;
  bool uses_mpi = false;
  bool we_initialized_mpi = false;  // false when the program had called MPI_Init itself
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::chrono::seconds timeout{300};
  MPI_Comm comm = MPI_COMM_NULL;
  std::vector<std::function<void()>> cleanups;
};

Runtime& runtime() {
  static Runtime state;
  return state;
}

bool has_env(const char* name) { return std::getenv(name) != nullptr; }

const Runtime& initialized_runtime(std::string_view what) {
  const Runtime& state = runtime();
  EMBER_CHECK(state.initialized, "dist::{}: call ember::dist::init() first", what);
  return state;
}

}  // namespace

std::string_view launcher_name(Launcher launcher) {
  switch (launcher) {
    case Launcher::None: return "none";
    case Launcher::MpiRun: return "mpirun";
    case Launcher::Slurm: return "srun";
    case Launcher::Pmi: return "PMI";
  }
  return "unknown";
}

Launcher detect_launcher() {
  if (has_env("OMPI_COMM_WORLD_SIZE")) return Launcher::MpiRun;
  // A Slurm job step (srun); a batch script alone has SLURM_PROCID but no step id.
  if (has_env("SLURM_STEP_ID") && has_env("SLURM_PROCID")) return Launcher::Slurm;
  if (has_env("PMIX_RANK") || has_env("PMI_RANK") || has_env("PMI_SIZE")) return Launcher::Pmi;
  return Launcher::None;
}

void init(const InitOptions& options) {
  Runtime& state = runtime();
  if (state.initialized) return;
  EMBER_CHECK(options.timeout.count() > 0, "dist::init: the timeout must be positive, got {} s",
              options.timeout.count());
  state.timeout = options.timeout;
  if (detect_launcher() == Launcher::None) {
    state.initialized = true;  // world size 1, no MPI
    return;
  }
  int already = 0;
  MPI_Initialized(&already);
  if (!already) {
    int provided = 0;
    const int status = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
    EMBER_CHECK(status == MPI_SUCCESS, "dist::init: MPI_Init_thread failed with code {} (launcher: {})",
                status, launcher_name(detect_launcher()));
    EMBER_CHECK(provided >= MPI_THREAD_SERIALIZED,
                "dist::init: this MPI provides thread level {}, Ember needs MPI_THREAD_SERIALIZED ({})", provided,
                static_cast<int>(MPI_THREAD_SERIALIZED));
    state.we_initialized_mpi = true;
  }
  // Errors come back as codes on every communicator, MPI_COMM_WORLD included.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_dup(MPI_COMM_WORLD, &state.comm);
  MPI_Comm_set_errhandler(state.comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(state.comm, &state.rank);
  MPI_Comm_size(state.comm, &state.world_size);
  MPI_Comm node = MPI_COMM_NULL;
  detail::check_mpi(MPI_Comm_split_type(state.comm, MPI_COMM_TYPE_SHARED, state.rank, MPI_INFO_NULL, &node),
                    "init", "MPI_Comm_split_type");
  MPI_Comm_rank(node, &state.local_rank);
  MPI_Comm_free(&node);
  state.uses_mpi = true;
  state.initialized = true;
}

void finalize() {
  Runtime& state = runtime();
  if (!state.initialized) return;
  for (auto it = state.cleanups.rbegin(); it != state.cleanups.rend(); ++it) (*it)();
  state.cleanups.clear();
  if (state.uses_mpi) {
    MPI_Comm_free(&state.comm);
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (state.we_initialized_mpi && !finalized) MPI_Finalize();
  }
  state = Runtime{};
}

bool is_initialized() { return runtime().initialized; }
int rank() { return initialized_runtime("rank").rank; }
int world_size() { return initialized_runtime("world_size").world_size; }
int local_rank() { return initialized_runtime("local_rank").local_rank; }
std::chrono::seconds timeout() { return runtime().timeout; }

void barrier() {
  const Runtime& state = initialized_runtime("barrier");
  if (!state.uses_mpi) return;
  MPI_Request request = MPI_REQUEST_NULL;
  {
    std::lock_guard lock(detail::mpi_lock());
    detail::check_mpi(MPI_Ibarrier(state.comm, &request), "barrier", "MPI_Ibarrier");
  }
  detail::wait_for(request, "barrier");
}

void abort(std::string_view message, int exit_code) {
  const Runtime& state = runtime();
  std::fprintf(stderr, "ember::dist: rank %d of %d aborting the job: %.*s\n", state.rank, state.world_size,
               static_cast<int>(message.size()), message.data());
  std::fflush(stderr);
  if (state.uses_mpi) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

namespace detail {

MPI_Comm communicator() { return initialized_runtime("communicator").comm; }
bool uses_mpi() { return runtime().uses_mpi; }

std::mutex& mpi_lock() {
  static std::mutex lock;
  return lock;
}

void at_finalize(std::function<void()> cleanup) { runtime().cleanups.push_back(std::move(cleanup)); }

void check_mpi(int status, std::string_view what, std::string_view call) {
  if (status == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(status, text, &length) != MPI_SUCCESS) length = 0;
  const Runtime& state = runtime();
  fail("dist::{} (rank {} of {}): {} failed: {} (MPI error {})", what, state.rank, state.world_size, call,
       std::string_view(text, static_cast<std::size_t>(length)), status);
}

bool test(MPI_Request& request, std::string_view what) {
  int done = 0;
  std::lock_guard lock(mpi_lock());
  check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what, "MPI_Test");
  return done != 0;
}

void wait_for(MPI_Request& request, std::string_view what) {
  using Clock = std::chrono::steady_clock;
  const Runtime& state = runtime();
  const auto deadline = Clock::now() + state.timeout;
  // Yield first (a reduction between ranks on one machine takes microseconds), then sleep: ranks
  // oversubscribing their cores must not spin against the rank they wait for.
  for (int polls = 0; !test(request, what); ++polls) {
    if (polls < 64) {
      std::this_thread::yield();
      continue;
    }
    EMBER_CHECK(Clock::now() < deadline,
                "dist::{} (rank {} of {}): no answer from the other ranks after {} s: a rank has died, hangs, "
                "or did not call the same collective",
                what, state.rank, state.world_size, state.timeout.count());
    std::this_thread::sleep_for(std::chrono::microseconds(polls < 1000 ? 20 : 500));
  }
}

}  // namespace detail

}  // namespace ember::dist
