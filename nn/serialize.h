// Checkpoints on disk: safetensors files (the Hugging Face format, readable by PyTorch, JAX, ...)
// and the crash-safe "write to a temporary file, then rename" that every checkpoint writer needs.
//
// A safetensors file is
//   8 bytes       N, the header length, little-endian uint64
//   N bytes       a UTF-8 JSON object {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]},
//                 ..., "__metadata__": {"key": "value", ...}}, padded with spaces to a multiple of 8
//   the rest      raw little-endian row-major tensor data; tensor `name` is bytes [b, e) of it
// Ember writes and reads F32, F64 and I64 tensors (float32, float64, int64).
#pragma once

#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <string_view>

#include "nn/module.h"
#include "nn/state_dict.h"

namespace ember::nn {

// Free-form string metadata stored in the header's "__metadata__" entry.
using Metadata = std::map<std::string, std::string>;

// Writes `tensors` to `path` in the safetensors format, tensor data laid out by decreasing element
// size, then name (so every tensor is aligned to its element size).
// Non-contiguous or CUDA tensors are copied to contiguous CPU memory first. Atomic: the file is
// written to a temporary `path.tmp.<pid>.<n>` and renamed over `path`, so `path` always holds either the old file or
// the complete new one. Any failure throws ember::Error naming the file.
void save_safetensors(const StateDict& tensors, const std::string& path, const Metadata& metadata = {});

// Reads a safetensors file, validating it as strictly as the reference implementation (sizes,
// JSON, UTF-8, dtypes, shapes, offsets that tile the data exactly, no duplicate keys). Any problem
// throws ember::Error whose message names the file and the problem. When `metadata` is given it
// receives the "__metadata__" entry (empty when the file has none).
StateDict load_safetensors(const std::string& path, Metadata* metadata = nullptr);
// The same for a safetensors image already in memory (a download, an embedded blob, a fuzzer's
// input), validated identically; `name` stands in for the path in error messages.
StateDict load_safetensors_from_memory(std::string_view bytes, Metadata* metadata = nullptr,
                                       const std::string& name = "<memory>");

// Writes a file atomically: `write` fills a stream for a temporary file beside `path`, named
// `path.tmp.<pid>.<n>` (unique to the process and the call), which is flushed to disk and
// renamed over `path`. On any failure (including an exception from `write`) the temporary file is
// removed, `path` is left untouched and ember::Error naming the file is thrown (exceptions from
// `write` propagate unchanged).
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);
void write_file_atomically(const std::string& path, const std::string& bytes);

// A module's state dict to/from a safetensors file (load is strict, see Module::load_state_dict).
void save(const Module& module, const std::string& path, const Metadata& metadata = {});
void load(Module& module, const std::string& path, bool strict = true);

}  // namespace ember::nn
