// Running error rows and the registry of rows outside the op table (see error_rows.h).
#include "error_rows.h"

#include <typeinfo>

#include <ember/ember.h>

namespace ember::testing {

namespace {
std::vector<RowProvider>& providers() {
  static std::vector<RowProvider> list;
  return list;
}

// "ops/matmul.cpp:42" from the compiler's path of a source file.
std::string site_of(const Error& e) {
  if (e.file() == nullptr) return "";
  std::string file = e.file();
  const std::string root = std::string(EMBER_SOURCE_DIR) + "/";
  if (file.rfind(root, 0) == 0) file = file.substr(root.size());
  return file + ":" + std::to_string(e.line());
}
}  // namespace

RowOutcome run_error_row(const ErrorRow& row) {
  try {
    row.call();
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const std::string& fragment : row.fragments)
      if (message.find(fragment) == std::string::npos)
        return {fmt::format("message lacks \"{}\": {}", fragment, message), site_of(e)};
    return {"", site_of(e)};
  } catch (const std::exception& e) {
    return {fmt::format("threw a {} instead of ember::Error: {}", typeid(e).name(), e.what()), ""};
  }
  return {"did not throw", ""};
}

bool row_runs_here(const ErrorRow& row, std::string& reason) {
  const bool cuda = cuda_is_available();
  if (row.needs == Needs::Cuda && !cuda) {
    reason = "needs a CUDA tensor, and no GPU is usable";
    return false;
  }
  if (row.needs == Needs::NoCuda && cuda) {
    reason = "a GPU is available";
    return false;
  }
  return true;
}

bool register_error_rows(RowProvider provider) {
  providers().push_back(provider);
  return true;
}

std::vector<ErrorRow> registered_error_rows() {
  std::vector<ErrorRow> rows;
  for (RowProvider provider : providers()) {
    std::vector<ErrorRow> more = provider();
    rows.insert(rows.end(), more.begin(), more.end());
  }
  return rows;
}

}  // namespace ember::testing
