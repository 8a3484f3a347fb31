// The stop handler (see stop_signal.h). Only async-signal-safe work happens in the handler: an
// atomic exchange, and _exit on the second signal.
#include "stop_signal.h"

#include <unistd.h>

#include <csignal>

#include "exit_codes.h"

namespace copy_task {

namespace {

std::atomic<bool> requested{false};

extern "C" void on_stop_signal(int) {
  if (requested.exchange(true)) _exit(kInterrupted);  // the second Ctrl-C: stop now
}

}  // namespace

void install_stop_handler() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // a signal does not fail the I/O in progress
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

const std::atomic<bool>& stop_requested() { return requested; }

}  // namespace copy_task
