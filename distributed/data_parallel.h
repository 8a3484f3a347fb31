// DistributedDataParallel: one model replicated on every rank, each rank training on its own
// slice of the global batch, gradients averaged across ranks during backward.
//
//   dist::init();
//   MyModel model;
//   dist::DistributedDataParallel ddp(model);         // rank 0's parameters and buffers everywhere
//   loss(model.forward(my_slice_of_the_batch)).backward();  // gradients averaged when it returns
//   optimizer.step();                                 // identical on every rank
//
// Construction checks that every rank has the same parameters (count, dtypes, devices, shapes;
// a difference throws ember::Error on every rank naming the parameter and the two shapes) and
// broadcasts rank 0's parameters and buffers. Gradients are grouped into buckets of about
// bucket_bytes in reverse registration order (gradient_buckets.h). A gradient-ready hook on each
// parameter (autograd/backward_hooks.h) copies its gradient into its bucket; a bucket whose last
// gradient has arrived starts its all-reduce at once (buckets start in order, so every rank issues
// the same sequence), while backward goes on with the earlier layers. The end of backward waits
// for every bucket and writes the averaged gradients back into .grad.
//
// Averaging: each rank's loss is the mean over its B/N examples; the average of the N gradients is
// then the gradient of the mean over all B examples, which is what one process on the whole batch
// computes. A parameter that backward did not reach contributes its current .grad, or zeros.
//
// no_sync(): while the guard lives, backward accumulates gradients locally and communicates
// nothing; the next backward outside it reduces the accumulated sum (gradient accumulation).
// Buffers are broadcast at construction only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "autograd/backward_hooks.h"
#include "distributed/gradient_buckets.h"
#include "nn/module.h"

namespace ember::dist {

struct DataParallelOptions {
  std::size_t bucket_bytes = 25 * 1024 * 1024;
};

// What the last synchronised backward cost (for benchmarks).
struct GradientSyncStats {
  double wait_seconds = 0;  // blocked at the end of backward, waiting for all-reduces to complete
  std::int64_t buckets = 0;
  std::int64_t bytes = 0;   // gradient bytes all-reduced per rank
};

class DistributedDataParallel {
 public:
  // The module must outlive this object (which keeps hooks on its parameters until destroyed).
  explicit DistributedDataParallel(nn::Module& module, DataParallelOptions options = {});
  ~DistributedDataParallel();
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  nn::Module& module() const { return module_; }

  // Suspends gradient synchronisation for its lifetime (restores the previous state after).
  class NoSync {
   public:
    NoSync(NoSync&&) = delete;
    ~NoSync();

   private:
    friend class DistributedDataParallel;
    explicit NoSync(DistributedDataParallel& owner);
    DistributedDataParallel& owner_;
    bool previous_;
  };
  [[nodiscard]] NoSync no_sync() { return NoSync(*this); }

  // Waits for every bucket's all-reduce and writes the averaged gradients into .grad. Backward
  // calls it as it ends; calling it again, or when no backward has run, does nothing.
  void finish_gradient_sync();

  const std::vector<BucketPlan>& buckets() const;
  const GradientSyncStats& last_sync() const;

 private:
  struct Reducer;
  nn::Module& module_;
  std::shared_ptr<Reducer> reducer_;
  std::vector<Tensor> parameters_;
  std::vector<autograd::GradReadyHookHandle> hooks_;
};

}  // namespace ember::dist
