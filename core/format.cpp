// Tensor printing (see format.h).
#include "core/format.h"

#include <algorithm>
#include <cmath>

namespace ember {

namespace {

constexpr std::int64_t kSummarizeAbove = 1000;
constexpr std::int64_t kEdgeItems = 3;

struct Printer {
  const std::vector<double>& values;
  const Shape& shape;
  bool integer;
  bool summarize;
  int width;
  std::string out;

  std::string element(double v) const {
    return integer ? fmt::format("{:>{}}", static_cast<long long>(v), width)
                   : fmt::format("{:>{}.4f}", v, width);
  }

  // Prints the sub-tensor starting at flat index `base`, at depth `d` (indent = 7 + d).
  void print(std::size_t d, std::int64_t base) {
    if (d == shape.size()) {
      out += element(values[base]);
      return;
    }
    const std::int64_t n = shape[d];
    std::int64_t inner = 1;
    for (std::size_t k = d + 1; k < shape.size(); ++k) inner *= shape[k];
    out += '[';
    const bool cut = summarize && n > 2 * kEdgeItems;
    for (std::int64_t i = 0; i < n; ++i) {
      if (cut && i == kEdgeItems) {
        out += d + 1 == shape.size() ? "..., " : fmt::format("...,\n{:{}}", "", 8 + d);
        i = n - kEdgeItems;
      }
      print(d + 1, base + i * inner);
      if (i + 1 < n) {
        out += ',';
        out += d + 1 == shape.size() ? std::string(" ") : std::string(shape.size() - d - 1, '\n') + std::string(8 + d, ' ');
      }
    }
    out += ']';
  }
};

}  // namespace

std::string to_string(const Tensor& t) {
  if (!t.defined()) return "tensor(undefined)";
  std::vector<double> values = t.to_vector<double>();
  const bool integer = t.dtype() == kInt64;
  int width = 1;
  for (double v : values) {
    std::string s = integer ? fmt::format("{}", static_cast<long long>(v)) : fmt::format("{:.4f}", v);
    width = std::max(width, static_cast<int>(s.size()));
  }
  Printer printer{values, t.shape(), integer, t.numel() > kSummarizeAbove, width, {}};
  if (t.numel() == 0) {
    printer.out = "[]";
  } else {
    printer.print(0, 0);
  }
  std::string suffix = fmt::format("shape={}, dtype={}", t.shape(), t.dtype());
  if (!t.device().is_cpu()) suffix += fmt::format(", device={}", t.device());
  if (t.requires_grad()) suffix += ", requires_grad=true";
  return fmt::format("tensor({}, {})", printer.out, suffix);
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << to_string(t); }

}  // namespace ember
