// Error rows: a bad call and the fragments its ember::Error message must contain. The op table's
// entries carry theirs; tests/test_error_inputs.cpp holds the rows of everything that is not an op
// (tensors, modules, files, optimizers). Every row anywhere is registered here, so that one test can
// show that every EMBER_CHECK in ops/ and nn/ is reached by some row.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

namespace ember::testing {

enum class Needs { Nothing, Cuda, NoCuda };

struct ErrorRow {
  std::string what;  // the op or module, and what is wrong with the input
  std::function<void()> call;
  std::vector<std::string> fragments;
  Needs needs = Needs::Nothing;
};

// Where an error came from: "ops/matmul.cpp:42" (relative to the source root), or "" for errors not
// raised by EMBER_CHECK.
struct RowOutcome {
  std::string failure;  // empty when the row threw the right ember::Error
  std::string site;
};

// Runs one row: it must throw ember::Error (no other exception, no crash, no silent success) whose
// message contains every fragment.
RowOutcome run_error_row(const ErrorRow& row);

// Whether the row can run here (a GPU for Needs::Cuda, none for Needs::NoCuda); otherwise why not.
bool row_runs_here(const ErrorRow& row, std::string& reason);

// Rows of code outside the op table, registered by the file that owns them.
using RowProvider = std::vector<ErrorRow> (*)();
bool register_error_rows(RowProvider provider);
std::vector<ErrorRow> registered_error_rows();

}  // namespace ember::testing
