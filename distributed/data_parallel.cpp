// DistributedDataParallel (data_parallel.h): the parameter check and broadcast at construction,
// and the Reducer, which fills buckets from gradient-ready hooks, starts their all-reduces in
// order and writes the averages back at the end of backward.
#include "distributed/data_parallel.h"

#include <chrono>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "core/factory.h"
#include "distributed/collectives.h"
#include "distributed/environment.h"

namespace ember::dist {

namespace {

// A parameter as the ranks compare it: dtype, device type, shape.
struct Signature {
  std::int64_t dtype = 0, device = 0;
  Shape shape;
  bool operator==(const Signature&) const = default;
};

// Encoded as int64 values: count, then per parameter dtype, device, rank, dims...
std::vector<std::int64_t> encode(const std::vector<Tensor>& parameters) {
  std::vector<std::int64_t> code{static_cast<std::int64_t>(parameters.size())};
  for (const Tensor& p : parameters) {
    code.push_back(static_cast<std::int64_t>(p.dtype()));
    code.push_back(static_cast<std::int64_t>(p.device().type));
    code.push_back(p.dim());
    for (std::int64_t d : p.shape()) code.push_back(d);
  }
  return code;
}

std::vector<Signature> decode(const std::vector<std::int64_t>& code) {
  std::vector<Signature> out;
  std::size_t at = 1;
  for (std::int64_t i = 0; i < code[0]; ++i) {
    Signature s{.dtype = code[at], .device = code[at + 1], .shape = {}};
    const auto dims = static_cast<std::size_t>(code[at + 2]);
    s.shape.assign(code.begin() + static_cast<std::ptrdiff_t>(at + 3),
                   code.begin() + static_cast<std::ptrdiff_t>(at + 3 + dims));
    at += 3 + dims;
    out.push_back(std::move(s));
  }
  return out;
}

std::string describe(const Signature& s) {
  return fmt::format("{} {} on {}", dtype_name(static_cast<DType>(s.dtype)), s.shape,
                     s.device == 0 ? "cpu" : "cuda");
}

// Every rank learns every rank's signatures (two all_gathers) and throws the same error when any
// rank differs from rank 0, so that no rank goes on to a broadcast the others never join.
void check_same_parameters(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<Tensor> parameters;
  for (const auto& [name, p] : named) parameters.push_back(p);
  const std::vector<std::int64_t> mine = encode(parameters);
  const Tensor lengths = all_gather(from_vector<std::int64_t>({static_cast<std::int64_t>(mine.size())}));  // (W, 1)
  std::int64_t longest = 0;
  for (std::int64_t n : lengths.to_vector<std::int64_t>()) longest = std::max(longest, n);
  std::vector<std::int64_t> padded = mine;
  padded.resize(static_cast<std::size_t>(longest), -1);
  const std::vector<std::int64_t> all = all_gather(from_vector<std::int64_t>(padded)).to_vector<std::int64_t>();
  const auto row = [&](int r) {
    return std::vector<std::int64_t>(all.begin() + r * longest, all.begin() + (r + 1) * longest);
  };
  const std::vector<Signature> reference = decode(row(0));
  for (int r = 1; r < world_size(); ++r) {
    const std::vector<Signature> theirs = decode(row(r));
    EMBER_CHECK(theirs.size() == reference.size(),
                "DistributedDataParallel: rank {} has {} parameters, rank 0 has {}: every rank must build the "
                "same model",
                r, theirs.size(), reference.size());
    for (std::size_t i = 0; i < reference.size(); ++i)
      EMBER_CHECK(theirs[i] == reference[i],
                  "DistributedDataParallel: parameter {} ('{}' on rank {}) is {} on rank {} but {} on rank 0: "
                  "every rank must build the same model",
                  i, named[i].first, rank(), describe(theirs[i]), r, describe(reference[i]));
  }
}

}  // namespace

// The bucket state of one DistributedDataParallel, shared with its hooks (which hold it weakly).
struct DistributedDataParallel::Reducer {
  std::vector<Tensor> parameters;
  std::vector<BucketPlan> plans;
  std::vector<Tensor> buffers;                            // per bucket: flat (numel,) gradients
  std::vector<std::pair<std::size_t, std::size_t>> home;  // per parameter: (bucket, slot)
  bool sync_enabled = true;

  // The current round (one synchronised backward).
  bool round_active = false;
  std::vector<bool> arrived;        // per parameter
  std::vector<std::int64_t> waiting;  // per bucket: gradients still to arrive
  std::vector<Work> works;          // per started bucket
  std::size_t next_to_start = 0;
  GradientSyncStats stats;

  Tensor slot_view(std::size_t bucket, std::size_t slot) const {
    const BucketSlot& s = plans[bucket].slots[slot];
    return buffers[bucket].narrow(0, s.offset, s.numel).view(parameters[s.parameter].shape());
  }

  void begin_round() {
    round_active = true;
    arrived.assign(parameters.size(), false);
    waiting.clear();
    for (const BucketPlan& plan : plans) waiting.push_back(static_cast<std::int64_t>(plan.slots.size()));
    works.clear();
    next_to_start = 0;
  }

  // Copies parameter i's gradient (or zeros) into its slot.
  void fill(std::size_t i) {
    auto [bucket, slot] = home[i];
    const Tensor grad = parameters[i].grad();
    Tensor view = slot_view(bucket, slot);
    if (grad.defined()) {
      view.copy_(grad);
    } else {
      view.zero_();
    }
    arrived[i] = true;
    --waiting[bucket];
  }

  // Starts, in bucket order, every bucket whose gradients have all arrived.
  void start_ready_buckets() {
    while (next_to_start < plans.size() && waiting[next_to_start] == 0) {
      works.push_back(all_reduce_async(buffers[next_to_start], ReduceOp::Avg));
      ++next_to_start;
    }
    for (const Work& work : works) work.is_completed();  // MPI progresses inside its calls
  }

  void on_gradient_ready(std::size_t i, const std::weak_ptr<Reducer>& self) {
    if (!sync_enabled) return;
    if (!round_active) {
      begin_round();
      autograd::queue_end_of_backward_callback([self] {
        if (auto reducer = self.lock()) reducer->finish();
      });
    }
    if (arrived[i]) return;
    NoGradGuard no_grad;
    fill(i);
    start_ready_buckets();
  }

  void finish() {
    if (!round_active) return;
    round_active = false;
    NoGradGuard no_grad;
    for (std::size_t i = 0; i < parameters.size(); ++i)
      if (!arrived[i]) fill(i);  // not reached by this backward
    start_ready_buckets();
    const auto start = std::chrono::steady_clock::now();
    for (const Work& work : works) work.wait();
    stats.wait_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    stats.buckets = static_cast<std::int64_t>(plans.size());
    stats.bytes = 0;
    for (std::size_t b = 0; b < plans.size(); ++b) {
      stats.bytes += plans[b].numel * static_cast<std::int64_t>(element_size(plans[b].dtype));
      for (std::size_t s = 0; s < plans[b].slots.size(); ++s) {
        Tensor p = parameters[plans[b].slots[s].parameter];
        const Tensor averaged = slot_view(b, s);
        if (p.grad().defined()) {
          Tensor(p.grad()).copy_(averaged);
        } else {
          p.set_grad(averaged.clone());
        }
      }
    }
    works.clear();
  }
};

DistributedDataParallel::DistributedDataParallel(nn::Module& module, DataParallelOptions options)
    : module_(module), reducer_(std::make_shared<Reducer>()) {
  EMBER_CHECK(is_initialized(), "DistributedDataParallel: call ember::dist::init() first");
  const auto named = module_.named_parameters();
  check_same_parameters(named);
  {
    NoGradGuard no_grad;
    std::vector<Work> works;
    for (const auto& [name, p] : named) works.push_back(broadcast_async(p, 0));
    for (const auto& [name, b] : module_.named_buffers()) works.push_back(broadcast_async(b, 0));
    for (const Work& work : works) work.wait();
  }
  for (const auto& [name, p] : named)
    if (p.requires_grad()) parameters_.push_back(p);
  Reducer& reducer = *reducer_;
  reducer.parameters = parameters_;
  reducer.plans = plan_buckets(parameters_, options.bucket_bytes);
  reducer.home.resize(parameters_.size());
  for (std::size_t b = 0; b < reducer.plans.size(); ++b) {
    const BucketPlan& plan = reducer.plans[b];
    reducer.buffers.push_back(zeros({plan.numel}, TensorOptions(plan.dtype, plan.device)));
    for (std::size_t s = 0; s < plan.slots.size(); ++s) reducer.home[plan.slots[s].parameter] = {b, s};
  }
  const std::weak_ptr<Reducer> weak = reducer_;
  for (std::size_t i = 0; i < parameters_.size(); ++i)
    hooks_.push_back(autograd::add_grad_ready_hook(parameters_[i], [weak, i](const Tensor&) {
      if (auto reducer = weak.lock()) reducer->on_gradient_ready(i, weak);
    }));
}

DistributedDataParallel::~DistributedDataParallel() {
  for (std::size_t i = 0; i < parameters_.size(); ++i) autograd::remove_grad_ready_hook(parameters_[i], hooks_[i]);
}

void DistributedDataParallel::finish_gradient_sync() { reducer_->finish(); }
const std::vector<BucketPlan>& DistributedDataParallel::buckets() const { return reducer_->plans; }
const GradientSyncStats& DistributedDataParallel::last_sync() const { return reducer_->stats; }

DistributedDataParallel::NoSync::NoSync(DistributedDataParallel& owner)
    : owner_(owner), previous_(owner.reducer_->sync_enabled) {
  owner_.reducer_->sync_enabled = false;
}
DistributedDataParallel::NoSync::~NoSync() { owner_.reducer_->sync_enabled = previous_; }

}  // namespace ember::dist
