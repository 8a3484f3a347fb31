// Death tests: code that may crash runs in a child process of the test binary, so a crash fails
// one test case instead of killing the runner (and every case after it).
//
//   EMBER_CHILD_BODY(two_threads_one_leaf) { ...; return 0; }     // exit code 0 = success
//   TEST_CASE("...") { CHECK(run_in_child("two_threads_one_leaf").succeeded()); }
//
// The child is this binary started again (posix_spawn of /proc/self/exe, never fork: a forked
// child of an OpenMP program can hang in its first parallel region) with `--ember-child NAME`,
// which tests/main.cpp hands to run_child_body instead of doctest.
#pragma once

#include <string>
#include <vector>

namespace ember::testing {

struct ChildOutcome {
  bool exited = false;    // ended by exit(), not by a signal or the timeout
  int exit_code = -1;
  int signal = 0;         // the signal that ended it, if any
  bool timed_out = false;
  std::string output;     // its stdout and stderr together
  bool succeeded() const { return exited && exit_code == 0; }
  std::string describe() const;
};

// Runs the body registered as `name` in a child process, killing it after timeout_seconds.
ChildOutcome run_in_child(const std::string& name, double timeout_seconds = 120);

// Runs a program (looked up on PATH) with these arguments, no shell involved. A program that
// cannot be started gives exited == false, signal == 0, and the reason in output.
ChildOutcome run_program(const std::vector<std::string>& argv, double timeout_seconds = 120);

// The child's side: runs the named body and returns its exit code (2 for an unknown name).
int run_child_body(const std::string& name);

struct ChildBodyRegistration {
  ChildBodyRegistration(const char* name, int (*body)());
};

}  // namespace ember::testing

#define EMBER_CHILD_BODY(name)                                                              \
  static int ember_child_body_##name();                                                     \
  static const ::ember::testing::ChildBodyRegistration ember_child_registration_##name{     \
      #name, &ember_child_body_##name};                                                     \
  static int ember_child_body_##name()
