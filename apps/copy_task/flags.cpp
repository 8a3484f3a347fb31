// Flag value validators (see flags.h).
#include "flags.h"

#include <charconv>
#include <cmath>
#include <csignal>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace copy_task::flags {

namespace {

// The range in words: "1 to 1000000", "at least 0"...
std::string range_text(std::int64_t lo, std::int64_t hi) { return fmt::format("{} to {}", lo, hi); }

std::string range_text(double lo, double hi, bool lo_open, bool hi_open) {
  return fmt::format("{}{:g}, {:g}{}", lo_open ? "(" : "[", lo, hi, hi_open ? ")" : "]");
}

// Parses plain decimal text into an integer; returns an error message or "".
template <typename Int>
std::string parse_decimal(const std::string& text, Int& value) {
  const bool negative = !text.empty() && text[0] == '-';
  const std::string digits = negative ? text.substr(1) : text;
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
    return fmt::format("'{}' is not a whole number in decimal digits", text);
  if (digits.size() > 1 && digits[0] == '0')
    return fmt::format("'{}' has a leading zero (write plain decimal)", text);
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error == std::errc::result_out_of_range) return fmt::format("'{}' is too large", text);
  if (error != std::errc() || end != text.data() + text.size())
    return fmt::format("'{}' is not a whole number in decimal digits", text);
  return "";
}

// --test-signal-at's signals by name.
constexpr std::pair<std::string_view, int> kSignalNames[] = {{"INT", SIGINT}, {"TERM", SIGTERM}, {"KILL", SIGKILL}};
constexpr std::int64_t kLastSignalStep = 1000000000;

}  // namespace

CLI::Validator whole_number(std::int64_t lo, std::int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        std::int64_t value = 0;
        std::string error = parse_decimal(text, value);
        if (error.empty() && (value < lo || value > hi))
          error = fmt::format("{} is out of range", value);
        if (!error.empty()) return fmt::format("{} (accepted: whole numbers from {})", error, range_text(lo, hi));
        text = std::to_string(value);
        return "";
      },
      fmt::format("INT in {}", range_text(lo, hi)));
}

CLI::Validator unsigned_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::uint64_t value = 0;
        if (!text.empty() && text[0] == '-') return fmt::format("'{}' is negative (accepted: 0 to 2^64 - 1)", text);
        std::string error = parse_decimal(text, value);
        if (!error.empty()) return error + " (accepted: 0 to 2^64 - 1)";
        text = std::to_string(value);
        return "";
      },
      "UINT64");
}

CLI::Validator real_number(double lo, double hi, bool lo_open, bool hi_open) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        const std::string accepted = "accepted: finite numbers in " + range_text(lo, hi, lo_open, hi_open);
        double value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (text.empty() || error != std::errc() || end != text.data() + text.size())
          return fmt::format("'{}' is not a number ({})", text, accepted);
        if (!std::isfinite(value)) return fmt::format("{} is not finite ({})", text, accepted);
        const bool below = lo_open ? value <= lo : value < lo;
        const bool above = hi_open ? value >= hi : value > hi;
        if (below || above) return fmt::format("{} is out of range ({})", text, accepted);
        text = fmt::format("{}", value);  // shortest text that reads back to the same double
        return "";
      },
      "FLOAT in " + range_text(lo, hi, lo_open, hi_open));
}

std::vector<std::int64_t> parse_list(const std::string& text) {
  std::vector<std::int64_t> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) values.push_back(std::stoll(item));
  return values;
}

CLI::Validator number_list(std::int64_t lo, std::int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        const std::string accepted = fmt::format("accepted: whole numbers from {}, separated by commas", range_text(lo, hi));
        if (text.empty() || text.front() == ',' || text.back() == ',' || text.find(",,") != std::string::npos)
          return fmt::format("'{}' has an empty item ({})", text, accepted);
        std::vector<std::string> canonical;
        std::set<std::int64_t> seen;
        std::stringstream in(text);
        std::string item;
        while (std::getline(in, item, ',')) {
          std::int64_t value = 0;
          std::string error = parse_decimal(item, value);
          if (error.empty() && (value < lo || value > hi)) error = fmt::format("{} is out of range", value);
          if (error.empty() && !seen.insert(value).second) error = fmt::format("{} is listed twice", value);
          if (!error.empty()) return fmt::format("{} ({})", error, accepted);
          canonical.push_back(std::to_string(value));
        }
        text = fmt::format("{}", fmt::join(canonical, ","));
        return "";
      },
      fmt::format("LIST of INT in {}", range_text(lo, hi)));
}

CLI::Validator step_and_signal() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const std::string accepted =
            fmt::format("accepted: STEP:SIGNAL, a step from {} and INT, TERM or KILL", range_text(1, kLastSignalStep));
        const auto colon = text.find(':');
        if (colon == std::string::npos) return fmt::format("'{}' has no ':' ({})", text, accepted);
        std::int64_t step = 0;
        std::string error = parse_decimal(text.substr(0, colon), step);
        if (error.empty() && (step < 1 || step > kLastSignalStep)) error = fmt::format("step {} is out of range", step);
        const std::string_view name = std::string_view(text).substr(colon + 1);
        bool known = false;
        for (const auto& [signal_name, number] : kSignalNames) known = known || signal_name == name;
        if (error.empty() && !known) error = fmt::format("'{}' is not a signal this hook sends", name);
        return error.empty() ? "" : fmt::format("{} ({})", error, accepted);
      },
      "STEP:SIGNAL");
}

ScheduledSignal parse_step_and_signal(const std::string& text) {
  const auto colon = text.find(':');
  ScheduledSignal scheduled{std::stoll(text.substr(0, colon)), 0};
  for (const auto& [name, number] : kSignalNames)
    if (name == std::string_view(text).substr(colon + 1)) scheduled.signal = number;
  return scheduled;
}

CLI::Validator plain_path() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (text.empty()) return "the path is empty";
        for (unsigned char c : text)
          if (c < 0x20 || c == 0x7F) return "the path contains a control character (newline, tab, ...)";
        return "";
      },
      "PATH");
}

}  // namespace copy_task::flags
