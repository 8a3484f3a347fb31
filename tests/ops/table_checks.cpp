// Checks over the whole op table: every public op has an entry, and every EMBER_CHECK in ops/ and
// nn/ is reached by some error row (an op entry's or a row of tests/test_error_inputs.cpp).
//
// scripts/unreached-checks.sh prints the checks no row reaches. A check that cannot be reached on
// a machine like CI's (it needs a GPU, or guards an internal invariant) is listed with its reason in
// tests/ops/unreached_checks.txt; the test fails on any other unreached check, and on a listed one
// that a row now reaches or that no longer exists, so the list stays exact.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "op_table.h"

using namespace ember;
using namespace ember::testing;

namespace {

namespace fs = std::filesystem;

const fs::path kRoot = EMBER_SOURCE_DIR;

std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Public functions declared at namespace scope of ember in ops/*.h (namespace kernels excluded).
std::set<std::string> declared_ops() {
  static const std::regex declaration(R"(^(?:const\s+)?[A-Za-z_][\w:<>]*[\s&*]+(operator\S+?|[a-z_][a-z_0-9]*)\()");
  std::set<std::string> names;
  for (const auto& file : fs::directory_iterator(kRoot / "ops")) {
    if (file.path().extension() != ".h") continue;
    bool in_kernels = false;
    for (const std::string& line : read_lines(file.path())) {
      if (line.rfind("namespace kernels", 0) == 0) in_kernels = true;
      if (line.rfind("}  // namespace kernels", 0) == 0) in_kernels = false;
      std::smatch m;
      if (in_kernels || line.rfind("using", 0) == 0 || line.rfind("return", 0) == 0) continue;
      if (std::regex_search(line, m, declaration)) names.insert(m[1].str());
    }
  }
  return names;
}

// Declared in ops/*.h but not ops: plumbing that entries reach through the ops that use it.
const std::map<std::string, std::string>& not_ops() {
  static const std::map<std::string, std::string> list = {
      {"autocast_state", "autocast's thread-local state (tested in test_bfloat16.cpp)"},
      {"autocast_applies", "autocast's rule for one tensor (tested in test_bfloat16.cpp)"},
      {"autocast_copy", "autocast's conversion of one tensor (tested in test_bfloat16.cpp)"},
      {"with_gemm_rows", "matmul's layout helper, reached through matmul"},
      {"empty_heads_last", "the attention ops' output allocator, reached through them"},
      {"binary_op", "the binary kernel without autograd, for backward formulas; reached through them"},
      {"causal_linear_attention_forward", "the chunkwise CUDA-shaped algorithm (test_linear_attention_chunkwise.cpp)"},
      {"causal_linear_attention_backward", "the chunkwise CUDA-shaped algorithm (test_linear_attention_chunkwise.cpp)"},
      {"apply_runtime_defaults", "process start-up, no tensors (tests/copy_task/openmp_defaults.sh)"},
      {"better_openblas_core", "process start-up, no tensors (test_runtime_defaults.cpp)"},
      {"detected_cpu_features", "process start-up, no tensors (used by apply_runtime_defaults)"},
  };
  return list;
}

struct CheckSite {
  std::string site;  // "ops/matmul.cpp:42"
  std::string key;   // "ops/matmul.cpp matmul: cannot multiply {} by {}" (stable across edits)
};

// Every EMBER_CHECK in ops/ and nn/, keyed by file and the check's message format.
std::vector<CheckSite> check_sites() {
  std::vector<CheckSite> sites;
  for (const char* dir : {"ops", "nn"}) {
    for (const auto& file : fs::recursive_directory_iterator(kRoot / dir)) {
      const auto ext = file.path().extension();
      if (ext != ".cpp" && ext != ".h") continue;
      const std::string rel = fs::relative(file.path(), kRoot).string();
      const std::vector<std::string> lines = read_lines(file.path());
      for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto at = lines[i].find("EMBER_CHECK(");
        if (at == std::string::npos || lines[i].find("//") < at || lines[i].find("#define") != std::string::npos) continue;
        std::string text;
        for (std::size_t j = i; j < lines.size() && j < i + 6; ++j) text += lines[j];
        const auto open = text.find('"', text.find("EMBER_CHECK("));
        const auto close = open == std::string::npos ? open : text.find('"', open + 1);
        std::string message = open == std::string::npos ? "?" : text.substr(open + 1, close - open - 1);
        while (!message.empty() && message.back() == ' ') message.pop_back();
        sites.push_back({rel + ":" + std::to_string(i + 1), rel + " " + message});
      }
    }
  }
  return sites;
}

// tests/ops/unreached_checks.txt: "<key>  # <reason>" per line.
std::map<std::string, std::string> allowed_unreached() {
  std::map<std::string, std::string> allowed;
  for (const std::string& line : read_lines(kRoot / "tests/ops/unreached_checks.txt")) {
    if (line.empty() || line[0] == '#') continue;
    const auto hash = line.find("  # ");
    allowed[line.substr(0, hash)] = hash == std::string::npos ? "" : line.substr(hash + 4);
  }
  return allowed;
}

}  // namespace

TEST_CASE("op table: every public op declared in ops/*.h has an entry") {
  const std::set<std::string> declared = declared_ops();
  std::set<std::string> covered;
  for (const OpEntry& entry : op_table()) {
    if (declared.count(entry.name)) covered.insert(entry.name);  // else an entry of several (scalar_arithmetic)
    covered.insert(entry.covers.begin(), entry.covers.end());
  }
  CHECK(declared.size() > 60);
  for (const std::string& name : declared) {
    INFO("ops/*.h declares " << name);
    CHECK((covered.count(name) == 1 || not_ops().count(name) == 1));
  }
  for (const auto& [name, why] : not_ops()) {
    INFO("listed as not an op: " << name << " (" << why << ")");
    CHECK(declared.count(name) == 1);
    CHECK(covered.count(name) == 0);
  }
  for (const std::string& name : covered) {
    INFO("the table covers " << name << ", which ops/*.h does not declare");
    CHECK(declared.count(name) == 1);
  }
}

TEST_CASE("error inputs: every EMBER_CHECK in ops/ and nn/ is reached by an error row") {
  std::vector<ErrorRow> rows = registered_error_rows();
  for (const OpEntry& entry : op_table()) rows.insert(rows.end(), entry.errors.begin(), entry.errors.end());
  std::set<std::string> reached;
  for (const ErrorRow& row : rows) {
    std::string reason;
    if (!row_runs_here(row, reason)) continue;
    const RowOutcome outcome = run_error_row(row);
    if (!outcome.site.empty()) reached.insert(outcome.site);
  }
  const std::map<std::string, std::string> allowed = allowed_unreached();
  std::set<std::string> allowed_seen;
  std::string unreached;
  for (const CheckSite& site : check_sites()) {
    if (reached.count(site.site)) {
      INFO("reached, but listed in tests/ops/unreached_checks.txt: " << site.key);
      CHECK(allowed.count(site.key) == 0);
      continue;
    }
    if (allowed.count(site.key)) {
      allowed_seen.insert(site.key);
      continue;
    }
    unreached += site.site + "  " + site.key + "\n";
  }
  MESSAGE(rows.size() << " rows reach " << reached.size() << " check sites");
  INFO("EMBER_CHECKs that no error row reaches:\n" << unreached);
  CHECK(unreached.empty());
  for (const auto& [key, reason] : allowed) {
    INFO("listed in tests/ops/unreached_checks.txt but not found: " << key);
    CHECK(allowed_seen.count(key) == 1);
  }
}
