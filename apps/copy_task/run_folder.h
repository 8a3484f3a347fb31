// The output folder of a run: created (or reopened) and locked for the life of the process, so two
// runs can never write one folder, with run.json recording the configuration that the run was
// started with (config.h says how --resume uses it).
#pragma once

#include <string>

#include "config.h"

namespace copy_task {

class RunFolder {
 public:
  // Creates config.out for a new run and writes run.json, or reopens it on --resume; takes the
  // folder's lock (DIR/.lock, flock). Throws BadInput when another run holds the lock and
  // EnvironmentFailure when the folder cannot be created or written.
  explicit RunFolder(const Config& config);
  ~RunFolder();
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;

  // A new run's folder is removed again (all of it) when the run ends on bad input, so that such
  // a run leaves nothing behind; a resumed run's folder is never removed.
  void discard_if_new();

 private:
  std::string path_;
  bool fresh_ = false;    // a new run (the folder was absent or empty)
  bool created_ = false;  // this process created the folder
  int lock_fd_ = -1;
};

}  // namespace copy_task
