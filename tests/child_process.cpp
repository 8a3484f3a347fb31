// Child processes for death tests (see child_process.h).
#include "child_process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

extern char** environ;

namespace ember::testing {

namespace {

std::map<std::string, int (*)()>& bodies() {
  static std::map<std::string, int (*)()> registry;
  return registry;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

ChildBodyRegistration::ChildBodyRegistration(const char* name, int (*body)()) { bodies()[name] = body; }

int run_child_body(const std::string& name) {
  auto it = bodies().find(name);
  if (it == bodies().end()) {
    std::fprintf(stderr, "no child body named '%s'\n", name.c_str());
    return 2;
  }
  return it->second();
}

std::string ChildOutcome::describe() const {
  std::ostringstream text;
  if (timed_out) text << "timed out";
  else if (exited) text << "exited with code " << exit_code;
  else text << "killed by signal " << signal << " (" << strsignal(signal) << ")";
  text << "; output:\n" << output;
  return text.str();
}

ChildOutcome run_program(const std::vector<std::string>& argv, double timeout_seconds) {
  char log_path[] = "/tmp/ember_child_XXXXXX";
  const int log_fd = mkstemp(log_path);
  ChildOutcome outcome;
  if (log_fd < 0) {
    outcome.output = "cannot create a temporary file for the child's output";
    return outcome;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, log_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, log_fd, STDERR_FILENO);
  std::vector<std::string> words = argv;
  std::vector<char*> pointers;
  for (std::string& word : words) pointers.push_back(word.data());
  pointers.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, words.front().c_str(), &actions, nullptr, pointers.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(log_fd);
  if (spawned != 0) {
    outcome.output = std::string("cannot start ") + words.front() + ": " + std::strerror(spawned);
    unlink(log_path);
    return outcome;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      outcome.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!outcome.timed_out) {
    outcome.exited = WIFEXITED(status);
    outcome.exit_code = outcome.exited ? WEXITSTATUS(status) : -1;
    outcome.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
  outcome.output = read_file(log_path);
  unlink(log_path);
  return outcome;
}

ChildOutcome run_in_child(const std::string& name, double timeout_seconds) {
  return run_program({"/proc/self/exe", "--ember-child", name}, timeout_seconds);
}

}  // namespace ember::testing
