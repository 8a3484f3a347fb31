// Ctrl-C and SIGTERM for a long run: one handler for both. The first signal asks the run to stop
// (the training loop, the evaluation and the timing sweep poll stop_requested() at least once a
// second, write a checkpoint where one is meaningful, print the resume command and exit 130);
// a second signal ends the process at once with 130.
#pragma once

#include <atomic>
#include <cstdint>

namespace copy_task {

// --test-signal-at STEP:SIGNAL, a hook for the integration tests: right after training step STEP
// (its metrics row written, its checkpoint not yet), the process sends itself SIGNAL, as if a user
// or the OS had sent it at that moment, so that a test stops or kills a run at a step it chooses.
struct ScheduledSignal {
  std::int64_t step = 0;
  int signal = 0;  // SIGINT, SIGTERM or SIGKILL
};

void install_stop_handler();
const std::atomic<bool>& stop_requested();

}  // namespace copy_task
