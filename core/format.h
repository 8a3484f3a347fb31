// Printing tensors with fmt (and iostreams), in PyTorch's style:
//   tensor([[ 1.0000,  2.0000],
//           [ 3.0000,  4.0000]], shape=[2, 2], dtype=float32)
// Tensors over 1000 elements show the first and last 3 entries of each dim around "...".
#pragma once

#include <ostream>
#include <string>

#include <fmt/format.h>

#include "core/tensor.h"

namespace ember {

std::string to_string(const Tensor& t);
std::ostream& operator<<(std::ostream& os, const Tensor& t);

}  // namespace ember

template <>
struct fmt::formatter<ember::Tensor> : fmt::formatter<std::string_view> {
  auto format(const ember::Tensor& t, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(ember::to_string(t), ctx);
  }
};
