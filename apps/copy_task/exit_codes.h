// How copy_task ends, and the two kinds of failure that decide its exit code.
//
//   0    success
//   1    environment failure: I/O (disk full, permissions), out of memory, anything unexpected
//   2    bad input: a flag, the output folder, a corrupt or mismatched checkpoint or run.json
//   130  interrupted (SIGINT/SIGTERM): a checkpoint was written where one is meaningful, and the
//        resume command was printed
// Code that knows which kind a failure is throws BadInput or EnvironmentFailure; main() maps any
// other ember::Error to 1.
#pragma once

#include <ember/ember.h>

namespace copy_task {

enum ExitCode : int {
  kSuccess = 0,
  kEnvironmentFailure = 1,
  kBadInput = 2,
  kInterrupted = 130,
};

struct BadInput : ember::Error {
  using ember::Error::Error;
};

struct EnvironmentFailure : ember::Error {
  using ember::Error::Error;
};

template <typename... Args>
[[noreturn]] void bad_input(fmt::format_string<Args...> format, Args&&... args) {
  throw BadInput(fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void environment_failure(fmt::format_string<Args...> format, Args&&... args) {
  throw EnvironmentFailure(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace copy_task
