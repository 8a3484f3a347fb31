// libFuzzer target: the copy task's resume path, copy_task::load_checkpoint, on arbitrary bytes
// written to a file, restoring into a fresh tiny model, optimizer and scheduler each time (so a
// crash reproduces from its input alone). Every input must either resume or throw ember::Error.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>

#include "fuzz_run.h"

using namespace ember;

namespace {

// One scratch file per fuzzing process (libFuzzer's -jobs/-workers run several).
const std::string& scratch_path() {
  static const std::string path =
      (std::filesystem::temp_directory_path() / fmt::format("ember_fuzz_checkpoint_{}.safetensors", ::getpid())).string();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  {
    std::ofstream out(scratch_path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) return 0;  // a full disk is no finding
  }
  manual_seed(0);  // load_checkpoint restores the generator: start every input from the same state
  fuzz::TinyRun run;
  try {
    const copy_task::LoadedCheckpoint loaded = copy_task::load_checkpoint(scratch_path(), run.parts(), fuzz::tiny_identity(),
                                                                             /*max_step=*/1000, copy_task::Shard{});
    // A resumed run must be able to take a step: forward, backward, update.
    Tensor tokens = zeros({1, 3}, kInt64);
    Tensor loss = cross_entropy(run.model->forward(tokens), tokens);
    loss.backward();
    run.optimizer->step();
    run.scheduler->step();
    (void)loaded;
  } catch (const Error&) {
  }
  return 0;
}
