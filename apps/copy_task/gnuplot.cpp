// gnuplot without a shell (see gnuplot.h).
#include "gnuplot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <ember/ember.h>

extern char** environ;

namespace copy_task {

namespace {

namespace fs = std::filesystem;

struct GnuplotResult {
  bool missing = false;  // no gnuplot on PATH
  bool ok = false;
  std::string error;     // gnuplot's standard error, or why it could not run
};

// Runs `gnuplot SCRIPT` with its standard error in `log`; no shell is involved.
GnuplotResult run_gnuplot(const std::string& script_path, const std::string& log_path) {
  GnuplotResult result;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::string program = "gnuplot", script = script_path;
  char* argv[] = {program.data(), script.data(), nullptr};
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    result.missing = spawned == ENOENT;
    result.error = fmt::format("cannot start gnuplot: {}", std::strerror(spawned));
    return result;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::ifstream log(log_path);
  std::stringstream text;
  text << log.rdbuf();
  // The child's exec failing (gnuplot vanished between lookup and start) reads as exit 127.
  result.missing = WIFEXITED(status) && WEXITSTATUS(status) == 127 && text.str().empty();
  result.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  result.error = result.ok ? "" : fmt::format("gnuplot {}: {}",
                                              WIFEXITED(status) ? fmt::format("exited with {}", WEXITSTATUS(status))
                                                                : fmt::format("was killed by signal {}", WTERMSIG(status)),
                                              text.str().empty() ? "(no message)" : text.str());
  return result;
}

void remove_quietly(const std::string& path) {
  std::error_code ignored;
  fs::remove(path, ignored);
}

// "loss.png and time_vs_n.png", "a.png, b.png and c.png".
std::string file_names(const std::vector<std::string>& pictures) {
  std::string names;
  for (std::size_t i = 0; i < pictures.size(); ++i) {
    if (i > 0) names += i + 1 == pictures.size() ? " and " : ", ";
    names += fs::path(pictures[i]).filename().string();
  }
  return names;
}

}  // namespace

std::string gnuplot_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string temporary_picture(const std::string& picture) { return fmt::format("{}.tmp.{}", picture, ::getpid()); }

PlotOutcome render_pictures(const std::string& script, const std::vector<std::string>& pictures,
                            const std::string& script_path, const std::string& log_path) {
  const std::string names = file_names(pictures);
  try {
    ember::nn::write_file_atomically(script_path, script);
  } catch (const ember::Error& e) {
    return {fmt::format("{} not drawn: {}", names, e.what()), true};
  }
  const GnuplotResult run = run_gnuplot(script_path, log_path);
  bool drawn = run.ok;
  for (const auto& picture : pictures) {
    std::error_code ec;
    drawn = drawn && fs::file_size(temporary_picture(picture), ec) > 0 && !ec;
  }
  PlotOutcome outcome;
  if (drawn) {
    for (const auto& picture : pictures) {
      std::error_code ec;
      fs::rename(temporary_picture(picture), picture, ec);
      if (ec) {
        outcome = {fmt::format("{} not drawn: cannot rename {} to {}: {}", names, temporary_picture(picture), picture,
                               ec.message()), true};
        break;
      }
    }
  }
  for (const auto& picture : pictures) remove_quietly(temporary_picture(picture));
  if (run.missing) {
    remove_quietly(log_path);
    return {fmt::format("gnuplot is not installed (apt-get install gnuplot-nox): {} were not drawn", names), false};
  }
  if (!run.ok) return {fmt::format("{} not drawn: {} (script: {})", names, run.error, script_path), true};
  if (!drawn && !outcome.failed)
    return {fmt::format("{} not drawn: gnuplot wrote an empty picture (disk full?); script: {}", names, script_path),
            true};
  remove_quietly(log_path);
  return outcome;
}

}  // namespace copy_task
