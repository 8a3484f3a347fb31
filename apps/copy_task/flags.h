// Strict readers for copy_task's flag values, as CLI11 validators.
//
// CLI11 alone reads "010" as 8 (octal) and "0x10" as 16, saturates out-of-range integers, lets NaN
// through range checks and prints DBL_MAX in full. Each validator here checks the text before
// CLI11 converts it: whole numbers in plain decimal within a range (overflow detected), finite
// reals within a range, comma-separated lists without empty or repeated items. A validator that
// accepts rewrites the text into its canonical decimal form, so CLI11's own conversion cannot read
// it differently. Messages name the value and the accepted range in words. A choice (choices.h) is
// read by add_choice straight into its enum.
#pragma once

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <vector>

#include "choices.h"
#include "stop_signal.h"  // ScheduledSignal

namespace copy_task::flags {

// A whole number in [lo, hi], decimal digits with an optional leading '-'.
CLI::Validator whole_number(std::int64_t lo, std::int64_t hi);
// A whole number in [0, 2^64 - 1] (seeds).
CLI::Validator unsigned_number();
// A finite real in the range; lo_open/hi_open exclude the end.
CLI::Validator real_number(double lo, double hi, bool lo_open = false, bool hi_open = false);
// Comma-separated whole numbers in [lo, hi]: no empty item, no repeats.
CLI::Validator number_list(std::int64_t lo, std::int64_t hi);
// A path without control characters (newlines would break the files that name it).
CLI::Validator plain_path();

// STEP:SIGNAL for --test-signal-at: a step from 1 to 10^9 and INT, TERM or KILL.
CLI::Validator step_and_signal();

// The items of a list number_list accepted.
std::vector<std::int64_t> parse_list(const std::string& text);
// The value step_and_signal accepted.
ScheduledSignal parse_step_and_signal(const std::string& text);

// Adds option `name`, whose value is one of E's names exactly (anything else is refused with the
// list of names), stored into `target` as the enum.
template <Choice E>
CLI::Option* add_choice(CLI::App& app, const std::string& name, E& target, const std::string& description) {
  CLI::Validator one_of_names(
      [](std::string& text) -> std::string {
        const std::optional<E> value = parse_choice<E>(text);
        if (!value) return fmt::format("'{}' is not one of {}", text, choice_names<E>());
        text = std::to_string(static_cast<int>(*value));  // CLI11 reads an enum as its number
        return "";
      },
      "{" + choice_names<E>() + "}");
  return app.add_option(name, target, description)->transform(one_of_names)->type_name("NAME");
}

}  // namespace copy_task::flags
