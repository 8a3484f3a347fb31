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
  explicit Error(const std::string& message, const char* file = nullptr, int line = 0)
      : std::runtime_error(message), file_(file), line_(line) {}
  // The source location of the EMBER_CHECK that failed (null and 0 for errors raised otherwise);
  // the test suite uses it to show that every check is reached by a test.
  const char* file() const noexcept { return file_; }
  int line() const noexcept { return line_; }

 private:
  const char* file_;
  int line_;
};

// Throws ember::Error with a formatted message. Kept out of line of the check itself so the
// happy path stays a single predictable branch.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

namespace detail {
template <typename... Args>
[[noreturn]] void fail_at(const char* file, int line, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...), file, line);
}
}  // namespace detail

}  // namespace ember

// EMBER_CHECK(cond, "op: message {}", value) throws ember::Error unless cond holds.
#define EMBER_CHECK(cond, ...)                                                \
  do {                                                                        \
    if (!(cond)) ::ember::detail::fail_at(__FILE__, __LINE__, __VA_ARGS__);   \
  } while (0)
