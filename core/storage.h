// Storage: one reference-counted block of device memory that tensors and their views share.
//
// A Storage owns its bytes and frees them through the allocator of its device when the last
// tensor referring to it goes away. Views (transpose, slice, ...) share one Storage and differ only
// in shape, strides and offset.
//
// The storage also carries the version counter of autograd's in-place checks (as PyTorch's, one
// per block of memory, so every view sees it): every in-place write (add_, copy_, fill_, optimizer
// steps, ...) bumps it, tensors saved for backward remember the version they were saved at, and
// backward refuses to use one that has changed since (autograd/node.h).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/device.h"

namespace ember {

class Storage {
 public:
  // Allocates nbytes on device. CPU memory is 64-byte aligned; CUDA memory comes from the caching
  // allocator in cuda/, through the device hooks (core/device_hooks.h).
  Storage(std::size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  std::size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

  std::uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void* data_ = nullptr;
  std::size_t nbytes_ = 0;
  Device device_;
  std::atomic<std::uint64_t> version_{0};
};

using StoragePtr = std::shared_ptr<Storage>;

}  // namespace ember
