// gnuplot for copy_task's pictures, started without a shell, pictures renamed into place.
//
// gnuplot runs as a child process (posix_spawnp with an argument vector) on a script file; every
// path in the script is data in gnuplot's single-quoted string syntax (gnuplot_quoted), so an
// --out such as "it's here" or "x';touch PWNED;echo '" is a folder name, never a command. A script
// draws each picture under its temporary name (temporary_picture), and render_pictures renames them
// once gnuplot has succeeded and every one is non-empty, so a failure (a full disk) leaves no
// half-drawn or empty PNG behind.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace copy_task {

struct PlotOutcome {
  std::optional<std::string> note;  // what was not drawn, and why (for the log and report.md)
  bool failed = false;              // gnuplot is installed but failed: an environment failure
};

// A string literal of gnuplot's syntax holding `text` exactly (single quotes, '' for ').
std::string gnuplot_quoted(const std::string& text);

// The name the script must draw `picture` under.
std::string temporary_picture(const std::string& picture);

// Writes `script` to script_path, runs gnuplot on it with its standard error in log_path, and
// renames every picture (a final path) from its temporary name into place. No note when all were
// drawn; a note without failure when gnuplot is not installed.
PlotOutcome render_pictures(const std::string& script, const std::vector<std::string>& pictures,
                            const std::string& script_path, const std::string& log_path);

}  // namespace copy_task
