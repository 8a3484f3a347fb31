// ember::Error and the EMBER_CHECK macro.
//
// Every failure a user can cause (bad shapes, dtypes, devices, files) is reported by throwing
// ember::Error with a message that names the op and the offending values, e.g.
//   matmul: cannot multiply [2, 3] by [4, 5]: inner dimensions 3 and 4 differ
// Messages are built with fmt, and only on the failure path.
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>
#include <string>

namespace ember {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws ember::Error with a formatted message. Kept out of line of the check itself so the
// happy path stays a single predictable branch.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace ember

// EMBER_CHECK(cond, "op: message {}", value) throws ember::Error unless cond holds.
#define EMBER_CHECK(cond, ...)            \
  do {                                    \
    if (!(cond)) ::ember::fail(__VA_ARGS__); \
  } while (0)
