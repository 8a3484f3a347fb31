// Storage: one reference-counted block of device memory that tensors and their views share.
//
// A Storage owns its bytes and frees them through the allocator of its device when the last
// tensor referring to it goes away. Views (transpose, slice, ...) share one Storage and differ only
// in shape, strides and offset.
#pragma once

#include <cstddef>
#include <memory>

#include "core/device.h"

namespace ember {

class Storage {
 public:
  // Allocates nbytes on device. CPU memory is 64-byte aligned; CUDA memory comes from the caching
  // allocator in cuda/.
  Storage(std::size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  std::size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  std::size_t nbytes_ = 0;
  Device device_;
};

using StoragePtr = std::shared_ptr<Storage>;

}  // namespace ember
