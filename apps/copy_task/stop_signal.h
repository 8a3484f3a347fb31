// Ctrl-C and SIGTERM for a long run: one handler for both. The first signal asks the run to stop
// (the training loop, the evaluation and the timing sweep poll stop_requested() at least once a
// second, write a checkpoint where one is meaningful, print the resume command and exit 130);
// a second signal ends the process at once with 130.
#pragma once

#include <atomic>

namespace copy_task {

void install_stop_handler();
const std::atomic<bool>& stop_requested();

}  // namespace copy_task
