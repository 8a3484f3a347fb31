// CPU strided copy (with dtype conversion and broadcasting) and fill.
#include <algorithm>
#include <cstring>

#include "ops/copy.h"
#include "ops/cpu/loops.h"

namespace ember::cpu {
namespace {

void copy_cpu(const Tensor& src, const Tensor& dst) {
  if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous() &&
      src.shape() == dst.shape()) {
    std::memcpy(dst.raw_data(), src.raw_data(), dst.numel() * element_size(dst.dtype()));
    return;
  }
  std::array<Shape, 2> strides{dst.strides(), broadcast_strides(src.shape(), src.strides(), dst.shape())};
  dispatch_storage(dst.dtype(), [&]<typename To>() {
    dispatch_storage(src.dtype(), [&]<typename Ti>() {
      To* pd = dst.data_ptr<To>();
      const Ti* ps = src.data_ptr<Ti>();
      for_each_row<2>(dst.shape(), strides, [&](const Offsets<2>& o, std::int64_t n, const Offsets<2>& s) {
        unary_row(pd + o[0], s[0], ps + o[1], s[1], n, [](Ti v) { return static_cast<To>(v); });
      });
    });
  });
}

void fill_cpu(const Tensor& dst, double value) {
  dispatch_storage(dst.dtype(), [&]<typename T>() {
    const T v = static_cast<T>(value);
    T* p = dst.data_ptr<T>();
    std::array<Shape, 1> strides{dst.strides()};
    for_each_row<1>(dst.shape(), strides, [&](const Offsets<1>& o, std::int64_t n, const Offsets<1>& s) {
      if (s[0] == 1) {
        std::fill(p + o[0], p + o[0] + n, v);
      } else {
        for (std::int64_t i = 0; i < n; ++i) p[o[0] + i * s[0]] = v;
      }
    });
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::copy_stub, DeviceType::CPU, copy_cpu);
EMBER_REGISTER_KERNEL(kernels::fill_stub, DeviceType::CPU, fill_cpu);

}  // namespace ember::cpu
