// Run folders (see run_folder.h).
#include "run_folder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "exit_codes.h"

namespace copy_task {

namespace fs = std::filesystem;

RunFolder::RunFolder(const Config& config) : path_(config.out), fresh_(!config.resumed) {
  std::error_code ec;
  if (fresh_) {
    created_ = !fs::exists(path_, ec);
    fs::create_directories(path_, ec);
    if (ec || !fs::is_directory(path_))
      bad_input("--out {}: cannot create the folder: {}", path_, ec ? ec.message() : "not a directory");
  }
  const std::string lock_path = path_ + "/.lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) {
    const int error = errno;
    discard_if_new();
    bad_input("--out {}: the folder is not writable: {}: {}", path_, lock_path, std::strerror(error));
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(lock_fd_);
    lock_fd_ = -1;
    fresh_ = created_ = false;  // the folder belongs to the run holding the lock: never remove it
    if (error == EWOULDBLOCK)
      bad_input("another copy_task run is writing '{}' (it holds {}); wait for it, or use another --out", path_,
                lock_path);
    environment_failure("cannot lock '{}': {}", lock_path, std::strerror(error));
  }
  if (fresh_) {
    // Another run may have started in the same empty folder just before us and finished already.
    for (const auto& entry : fs::directory_iterator(path_, ec)) {
      if (entry.path().filename() == ".lock") continue;
      fresh_ = created_ = false;
      bad_input("--out {}: another run wrote into the folder while this one started; use another --out", path_);
    }
    try {
      ember::nn::write_file_atomically(path_ + "/run.json", to_json(config).dump(2) + "\n");
    } catch (const ember::Error& e) {
      discard_if_new();
      environment_failure("{}", e.what());
    }
  }
}

RunFolder::~RunFolder() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

void RunFolder::discard_if_new() {
  if (!fresh_) return;
  std::error_code ignored;
  if (created_) {
    fs::remove_all(path_, ignored);
  } else {  // the folder was there, empty: empty it again
    for (const auto& entry : fs::directory_iterator(path_, ignored)) fs::remove_all(entry.path(), ignored);
  }
  fresh_ = created_ = false;
}

}  // namespace copy_task
