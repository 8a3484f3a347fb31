// The op table's registry and its generic runners (see op_table.h).
#include "op_table.h"

#include <cmath>
#include <map>
#include <memory>

namespace ember::testing {

namespace {

std::map<std::string, EntryFactory>& factories() {
  static std::map<std::string, EntryFactory> table;
  return table;
}

constexpr std::uint64_t kSeed = 2027;

// A copy of `sample` whose differentiable float64 inputs require grad.
std::vector<Tensor> with_grad(const OpEntry& entry, const Sample& sample) {
  std::vector<Tensor> inputs;
  for (std::size_t i = 0; i < sample.inputs.size(); ++i) {
    Tensor x = sample.inputs[i];
    const bool wanted = sample.differentiable.empty() ? true : sample.differentiable[i];
    if (entry.differentiable && wanted && x.defined() && x.dtype() == kFloat64) x = x.detach().requires_grad_();
    inputs.push_back(x);
  }
  return inputs;
}

bool is_empty(const Sample& sample) {
  for (const Tensor& x : sample.inputs)
    if (x.defined() && x.numel() == 0) return true;
  return false;
}

// Per element: |got - ref| <= tol * max(|ref|, floor); NaN and infinities must match.
void expect_close(const Tensor& got, const Tensor& ref, double tol, double floor, const std::string& what) {
  REQUIRE(got.defined());
  REQUIRE(ref.defined());
  INFO(what);
  REQUIRE(got.shape() == ref.shape());
  const std::vector<double> g = got.to_vector<double>(), r = ref.to_vector<double>();
  for (std::size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i << ": got " << g[i] << ", expected " << r[i]);
    if (std::isnan(r[i]) || std::isinf(r[i])) {
      CHECK((std::isnan(r[i]) ? std::isnan(g[i]) : g[i] == r[i]));
      continue;
    }
    CHECK(std::abs(g[i] - r[i]) <= tol * std::max(std::abs(r[i]), floor));
  }
}

// The sample's floating inputs converted to `dtype`.
std::vector<Tensor> converted(const Sample& sample, DType dtype) {
  std::vector<Tensor> out;
  for (const Tensor& x : sample.inputs) out.push_back(x.defined() && x.dtype() == kFloat64 ? x.to(dtype) : x);
  return out;
}

std::vector<Tensor> as_float64(const std::vector<Tensor>& inputs) {
  std::vector<Tensor> out;
  for (const Tensor& x : inputs) out.push_back(x.defined() && is_floating(x.dtype()) ? x.to(kFloat64) : x);
  return out;
}

double dtype_tolerance(DType dtype, const OpEntry& entry) {
  switch (dtype) {
    case kFloat64: return entry.tolerance;
    case kFloat32: return 1e-5;
    case kBFloat16: return 2e-2;
    default: return 1e-12;
  }
}

void check_values(const OpEntry& entry, const Sample& sample) {
  INFO("sample: " << sample.label);
  const Tensor out = entry.op(sample.inputs);
  if (entry.reference) expect_close(out, entry.reference(sample.inputs), entry.tolerance, 1.0, "values");
  if (entry.property) entry.property(sample, out);
}

// Every dtype: accepted ones give the reference's values; the others are refused naming the dtype.
void check_dtypes(const OpEntry& entry, const Sample& sample) {
  for (DType dtype : {kFloat32, kFloat64, kInt64, kBFloat16}) {
    INFO("dtype " << dtype_name(dtype) << ", sample " << sample.label);
    const std::vector<Tensor> inputs = converted(sample, dtype);
    const bool accepted = std::find(entry.dtypes.begin(), entry.dtypes.end(), dtype) != entry.dtypes.end();
    if (!accepted) {
      ErrorRow row{entry.name + ": " + std::string(dtype_name(dtype)) + " inputs", [&] { (void)entry.op(inputs); },
                   {std::string(dtype_name(dtype))}};
      CHECK(run_error_row(row).failure == "");
      continue;
    }
    Tensor out;
    REQUIRE_NOTHROW(out = entry.op(inputs));
    if (!entry.reference) continue;
    const Tensor ref = entry.reference(as_float64(inputs));
    expect_close(out.to(kFloat64), ref,
                 dtype_tolerance(dtype, entry), 1.0, "values in " + std::string(dtype_name(dtype)));
  }
}

// Empty operands: forward and backward run, gradients have their input's shape and are zero.
void check_empty(const OpEntry& entry, const Sample& sample) {
  INFO("empty sample: " << sample.label);
  std::vector<Tensor> inputs = with_grad(entry, sample);
  Tensor out;
  REQUIRE_NOTHROW(out = entry.op(inputs));
  if (entry.reference) CHECK(out.shape() == entry.reference(sample.inputs).shape());
  if (!out.requires_grad()) return;
  REQUIRE_NOTHROW(sum(out).backward());
  for (const Tensor& x : inputs) {
    if (!x.defined() || !x.requires_grad()) continue;
    REQUIRE(x.grad().defined());
    CHECK(x.grad().shape() == x.shape());
    if (out.numel() == 0)  // nothing flowed back: every gradient is zeros (layer_norm's weight)
      for (double g : x.grad().to_vector<double>()) CHECK(g == 0.0);
  }
}

// Moves a CPU input to CUDA keeping its layout: the whole storage goes, the view is rebuilt there.
Tensor to_cuda_same_layout(const Tensor& x) {
  if (!x.defined()) return x;
  const DType dtype = x.dtype() == kFloat64 ? kFloat32 : x.dtype();
  const auto storage_numel = static_cast<std::int64_t>(x.storage()->nbytes() / element_size(x.dtype()));
  Tensor flat = make_tensor(x.storage(), {storage_numel}, {1}, 0, x.dtype()).to(dtype).to(kCUDA);
  return make_tensor(flat.storage(), x.shape(), x.strides(), x.offset(), dtype);
}

}  // namespace

bool register_op(const char* name, EntryFactory factory) {
  factories().emplace(name, factory);
  return true;
}

const std::vector<OpEntry>& op_table() {
  static const std::vector<OpEntry> table = [] {
    std::vector<OpEntry> entries;
    for (const auto& [name, factory] : factories()) {
      entries.push_back(factory());
      if (entries.back().name.empty()) entries.back().name = name;
    }
    return entries;
  }();
  return table;
}

const OpEntry& op_entry(const std::string& name) {
  for (const OpEntry& entry : op_table())
    if (entry.name == name) return entry;
  FAIL("no op table entry " << name);
  throw std::logic_error("unreachable");
}

void run_op_checks(const std::string& name) {
  const OpEntry& entry = op_entry(name);
  manual_seed(kSeed);
  const std::vector<Sample> samples = entry.samples();
  REQUIRE(!samples.empty());
  bool dtypes_checked = false;
  for (const Sample& sample : samples) {
    if (is_empty(sample)) {
      check_empty(entry, sample);
      continue;
    }
    check_values(entry, sample);
    if (!dtypes_checked) {
      check_dtypes(entry, sample);
      dtypes_checked = true;
    }
  }
  // A non-differentiable op gives outputs that do not require grad, whatever its inputs.
  if (!entry.differentiable) {
    Sample first = samples.front();
    std::vector<Tensor> inputs;
    for (Tensor x : first.inputs) inputs.push_back(x.defined() && x.dtype() == kFloat64 ? x.detach().requires_grad_() : x);
    if (entry.refuses_grad) {
      ErrorRow row{entry.name + ": inputs that require grad", [&] { (void)entry.op(inputs); }, {entry.name, "requires grad"}};
      CHECK(run_error_row(row).failure == "");
    } else {
      CHECK_FALSE(entry.op(inputs).requires_grad());
    }
  }
  CHECK(!entry.errors.empty());
  for (const ErrorRow& row : entry.errors) {
    std::string reason;
    if (!row_runs_here(row, reason)) {
      MESSAGE("skipped error row \"" << row.what << "\": " << reason);
      continue;
    }
    INFO("error row: " << row.what);
    CHECK(run_error_row(row).failure == "");
  }
}

void run_gradcheck(const std::string& name) {
  const OpEntry& entry = op_entry(name);
  if (!entry.differentiable) EMBER_SKIP(name + " is not differentiable (op: " + name + " checks its outputs need no grad)");
  manual_seed(kSeed);
  int checked = 0;
  for (const Sample& sample : entry.samples()) {
    if (is_empty(sample) || !sample.gradcheck) continue;
    INFO("sample: " << sample.label);
    const std::vector<Tensor> inputs = with_grad(entry, sample);
    auto result = autograd::gradcheck(entry.op, inputs, entry.gradcheck);
    INFO(result.report);
    CHECK(result.ok);
    CHECK(result.checked > 0);
    ++checked;
  }
  CHECK(checked > 0);
}

void run_cuda_parity(const std::string& name) {
  const OpEntry& entry = op_entry(name);
  if (!entry.on_cuda) EMBER_SKIP(name + " has no CUDA kernel");
  EMBER_REQUIRE_CUDA();
  manual_seed(kSeed);
  for (const Sample& sample : entry.samples()) {
    INFO("sample: " << sample.label);
    // Both devices hold the same float32-representable values.
    Sample rounded = sample;
    for (Tensor& x : rounded.inputs)
      if (x.defined() && x.dtype() == kFloat64) x = x.to(kFloat32).to(kFloat64);
    std::vector<Tensor> cpu = with_grad(entry, rounded), gpu;
    for (const Tensor& x : cpu) {
      Tensor g = to_cuda_same_layout(x.defined() ? x.detach() : x);
      if (x.defined() && x.requires_grad()) g.requires_grad_();
      gpu.push_back(g);
    }
    const Tensor expected = entry.op(cpu), actual = entry.op(gpu);
    CHECK(actual.device() == kCUDA);
    expect_close(actual.to(kCPU), expected, entry.parity_tolerance, entry.parity_floor, "forward");
    if (!expected.requires_grad() || expected.numel() == 0) continue;
    const Tensor w = randn(expected.shape(), kFloat64).to(kFloat32).to(kFloat64);
    sum(expected * w).backward();
    sum(actual * w.to(kFloat32).to(kCUDA)).backward();
    for (std::size_t i = 0; i < cpu.size(); ++i) {
      if (!cpu[i].defined() || !cpu[i].requires_grad()) continue;
      INFO("gradient of input " << i);
      REQUIRE(cpu[i].grad().defined() == gpu[i].grad().defined());
      if (cpu[i].grad().defined())
        expect_close(gpu[i].grad().to(kCPU), cpu[i].grad(), entry.parity_tolerance, entry.parity_floor, "gradient");
    }
  }
}

}  // namespace ember::testing
