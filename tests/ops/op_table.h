// The op table: one description per public op (in the spirit of PyTorch's OpInfo and ggml's
// test-backend-ops), and the generic runners that every description goes through.
//
// An entry says how to call the op, which inputs to call it on (broadcast, non-contiguous,
// zero-size and 0-d samples), what the answer is (a float64 reference written out in the test,
// independent of Ember's kernels), whether it is differentiable, which dtypes it takes, and which
// bad calls it must refuse with which message. From each entry come these test cases:
//   op: <name>           values against the reference on every sample, every dtype (accepted ones
//                        compared, the others refused naming the dtype), empty samples forward and
//                        backward, and every error row
//   gradcheck: <name>    float64 finite differences on every sample (autograd::gradcheck, with its
//                        strided-input and random strided gradient checks); CTest label gradcheck
//   cuda parity: <name>  float32 CUDA against the float64 CPU, output and every input's gradient,
//                        per element; skipped (not passed) without a GPU; CTest label cuda
// and, over the whole table, a check that every public op declared in ops/*.h has an entry and
// that every EMBER_CHECK in ops/ and nn/ is reached by some error row.
//
// Adding an op: one EMBER_OP(...) block in the file of its family (tests/ops/<family>.cpp).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "../helpers.h"
#include "error_rows.h"

namespace ember::testing {

using Inputs = const std::vector<Tensor>&;
using OpFn = std::function<Tensor(Inputs)>;

// One call of the op: CPU inputs, float64 where the op takes floating values.
struct Sample {
  std::string label;
  std::vector<Tensor> inputs;
  // Which float64 inputs are differentiated (gradcheck, parity); empty: all of them.
  std::vector<bool> differentiable = {};
  bool gradcheck = true;  // false for values far from 1, where finite differences lose the digits
};

struct OpEntry {
  std::string name;  // the op as declared in ops/*.h
  OpFn op;
  std::function<std::vector<Sample>()> samples;
  // float64 result computed without the op under test; null for ops checked by `property`.
  OpFn reference;
  // Extra check on an output (random ops: distribution, reproducibility), run on every sample.
  std::function<void(const Sample&, const Tensor&)> property;
  bool differentiable = true;
  // Inference-only (not differentiable): refuses inputs that require grad instead of returning a
  // result without grad.
  bool refuses_grad = false;
  // Dtypes the op takes for its floating inputs; calls with any other are refused naming it.
  std::vector<DType> dtypes = {kFloat32, kFloat64};
  std::vector<ErrorRow> errors;
  // Other public names this entry exercises (operators, overloads, aliases).
  std::vector<std::string> covers = {};
  autograd::GradcheckOptions gradcheck = {};
  double tolerance = 1e-12;        // float64 values: |got - ref| <= tol * max(|ref|, 1)
  double parity_tolerance = 1e-4;  // float32 CUDA: |got - ref| <= tol * max(|ref|, floor)
  double parity_floor = 1e-2;
  bool on_cuda = true;             // has CUDA kernels (parity case)
};

using EntryFactory = OpEntry (*)();
bool register_op(const char* name, EntryFactory factory);
const std::vector<OpEntry>& op_table();
const OpEntry& op_entry(const std::string& name);

void run_op_checks(const std::string& name);
void run_gradcheck(const std::string& name);
void run_cuda_parity(const std::string& name);

}  // namespace ember::testing

#define EMBER_OP_CAT2(a, b) a##b
#define EMBER_OP_CAT(a, b) EMBER_OP_CAT2(a, b)

// EMBER_OP(tanh) { return {...}; } declares the entry of op `tanh` and its three test cases.
#define EMBER_OP(id)                                                                                  \
  static ::ember::testing::OpEntry EMBER_OP_CAT(ember_op_entry_, id)();                               \
  [[maybe_unused]] static const bool EMBER_OP_CAT(ember_op_registered_, id) =                         \
      ::ember::testing::register_op(#id, &EMBER_OP_CAT(ember_op_entry_, id));                          \
  TEST_CASE("op: " #id) { ::ember::testing::run_op_checks(#id); }                                     \
  TEST_CASE("gradcheck: " #id * doctest::test_suite("gradcheck")) { ::ember::testing::run_gradcheck(#id); } \
  TEST_CASE("cuda parity: " #id * doctest::test_suite("cuda")) { ::ember::testing::run_cuda_parity(#id); } \
  static ::ember::testing::OpEntry EMBER_OP_CAT(ember_op_entry_, id)()
