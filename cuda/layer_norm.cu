// CUDA layer_norm, forward and backward, with the formulas of ops/cpu/layer_norm.cpp:
//   forward   mean and variance per row in double (two passes over the row), y = (x - mean) rstd w + b
//   backward  dx = rstd (gw - mean(gw) - xhat mean(gw xhat)),  gw = g w,  xhat = (x - mean) rstd
// Rows run a warp each up to 1024 columns, a 512-thread block each beyond.
//
// dweight = sum over rows of g xhat and dbias = sum of g are reduced deterministically in two
// stages, without atomics: blocks of (32 columns x a chunk of rows) write per-chunk partial sums
// (double) to a workspace, then one thread per column adds its chunks in order.
#include "core/factory.h"
#include "cuda/common.cuh"
#include "ops/layer_norm.h"

namespace ember::cuda {
namespace {

template <typename T>
__global__ void layer_norm_kernel(const T* x, const T* weight, const T* bias, double eps, T* y, T* mean, T* rstd,
                                  std::int64_t rows, std::int64_t n) {
  const std::int64_t row = launched_row();
  if (row >= rows) return;  // whole warps only
  const T* xr = x + row * n;
  double s = 0;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) s += xr[i];
  const double m = row_reduce(s, Sum{}) / static_cast<double>(n);
  double ss = 0;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) ss += (xr[i] - m) * (xr[i] - m);
  ss = row_reduce(ss, Sum{});
  const T mu = static_cast<T>(m);
  const T rs = static_cast<T>(1.0 / ::sqrt(ss / static_cast<double>(n) + eps));
  if (threadIdx.x == 0) {
    mean[row] = mu;
    rstd[row] = rs;
  }
  T* yr = y + row * n;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    T v = (xr[i] - mu) * rs;
    if (weight) v *= weight[i];
    if (bias) v += bias[i];
    yr[i] = v;
  }
}

template <typename T>
__global__ void layer_norm_dx_kernel(const T* g, const T* x, const T* mean, const T* rstd, const T* weight, T* dx,
                                     std::int64_t rows, std::int64_t n) {
  const std::int64_t row = launched_row();
  if (row >= rows) return;
  const T* gr = g + row * n;
  const T* xr = x + row * n;
  const T mu = mean[row], rs = rstd[row];
  double sum_gw = 0, sum_gw_xhat = 0;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const T xhat = (xr[i] - mu) * rs;
    const T gw = weight ? gr[i] * weight[i] : gr[i];
    sum_gw += gw;
    sum_gw_xhat += gw * xhat;
  }
  const T mean_gw = static_cast<T>(row_reduce(sum_gw, Sum{}) / static_cast<double>(n));
  const T mean_gw_xhat = static_cast<T>(row_reduce(sum_gw_xhat, Sum{}) / static_cast<double>(n));
  T* dr = dx + row * n;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const T xhat = (xr[i] - mu) * rs;
    const T gw = weight ? gr[i] * weight[i] : gr[i];
    dr[i] = rs * (gw - mean_gw - xhat * mean_gw_xhat);
  }
}

constexpr int kColumns = 32, kLanes = 8;

// Stage 1: block (kColumns, kLanes), grid (ceil(n / kColumns), chunks). Partial sums of chunk c
// for column j go to partial_dw/db[c * n + j] (either may be null).
template <typename T>
__global__ void param_grads_partial_kernel(const T* g, const T* x, const T* mean, const T* rstd, double* partial_dw,
                                           double* partial_db, std::int64_t rows, std::int64_t n,
                                           std::int64_t rows_per_chunk) {
  __shared__ double lanes_dw[kLanes][kColumns], lanes_db[kLanes][kColumns];
  const std::int64_t j = static_cast<std::int64_t>(blockIdx.x) * kColumns + threadIdx.x;
  const std::int64_t begin = blockIdx.y * rows_per_chunk;
  const std::int64_t end = begin + rows_per_chunk < rows ? begin + rows_per_chunk : rows;
  double dw = 0, db = 0;
  if (j < n) {
    for (std::int64_t r = begin + threadIdx.y; r < end; r += kLanes) {
      const T gv = g[r * n + j];
      const T xhat = (x[r * n + j] - mean[r]) * rstd[r];
      dw += gv * xhat;
      db += gv;
    }
  }
  lanes_dw[threadIdx.y][threadIdx.x] = dw;
  lanes_db[threadIdx.y][threadIdx.x] = db;
  __syncthreads();
  if (threadIdx.y != 0 || j >= n) return;
  for (int lane = 1; lane < kLanes; ++lane) {
    dw += lanes_dw[lane][threadIdx.x];
    db += lanes_db[lane][threadIdx.x];
  }
  if (partial_dw) partial_dw[blockIdx.y * n + j] = dw;
  if (partial_db) partial_db[blockIdx.y * n + j] = db;
}

// Stage 2: column j's chunks, in chunk order.
template <typename T>
__global__ void param_grads_finish_kernel(const double* partial, T* out, std::int64_t n, std::int64_t chunks) {
  for (std::int64_t j = global_thread(); j < n; j += global_threads()) {
    double s = 0;
    for (std::int64_t c = 0; c < chunks; ++c) s += partial[c * n + j];
    out[j] = static_cast<T>(s);
  }
}

template <typename T>
const T* optional_ptr(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.raw_data()) : nullptr;
}

void layer_norm_cuda(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                     const Tensor& mean, const Tensor& rstd) {
  const std::int64_t rows = mean.numel(), n = x.numel() / std::max<std::int64_t>(rows, 1);
  if (rows == 0) return;
  cudaStream_t stream = launch_stream(x.device());
  const RowLaunch launch = row_launch(rows, n);
  dispatch_floating(x.dtype(), "layer_norm", [&]<typename T>() {
    layer_norm_kernel<T><<<launch.grid, launch.block, 0, stream>>>(
        static_cast<const T*>(x.raw_data()), optional_ptr<T>(weight), optional_ptr<T>(bias), eps,
        static_cast<T*>(y.raw_data()), static_cast<T*>(mean.raw_data()), static_cast<T*>(rstd.raw_data()), rows, n);
    EMBER_CUDA_CHECK_LAUNCH();
  });
}

void layer_norm_backward_cuda(const Tensor& g, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                              const Tensor& weight, const Tensor& dx, const Tensor& dweight, const Tensor& dbias) {
  const std::int64_t rows = mean.numel();
  // The normalised size comes from the weight when there is one: with no rows, x says nothing.
  const Tensor& sized = weight.defined() ? weight : dweight.defined() ? dweight : dbias;
  const std::int64_t n = sized.defined() ? sized.numel() : x.numel() / std::max<std::int64_t>(rows, 1);
  const bool want_dw = dweight.defined(), want_db = dbias.defined();
  cudaStream_t stream = launch_stream(x.device());
  if (rows == 0 || n == 0) {  // an empty batch: zero parameter gradients, and no zero-sized launch
    for (const Tensor& grad : {dweight, dbias})
      if (grad.defined() && grad.numel() > 0)
        EMBER_CUDA_CHECK(cudaMemsetAsync(grad.raw_data(), 0, grad.numel() * element_size(grad.dtype()), stream));
    return;
  }
  dispatch_floating(x.dtype(), "layer_norm backward", [&]<typename T>() {
    const T* pg = static_cast<const T*>(g.raw_data());
    const T* px = static_cast<const T*>(x.raw_data());
    const T* pm = static_cast<const T*>(mean.raw_data());
    const T* pr = static_cast<const T*>(rstd.raw_data());
    const RowLaunch launch = row_launch(rows, n);
    layer_norm_dx_kernel<T><<<launch.grid, launch.block, 0, stream>>>(pg, px, pm, pr, optional_ptr<T>(weight),
                                                                     static_cast<T*>(dx.raw_data()), rows, n);
    EMBER_CUDA_CHECK_LAUNCH();
    if (!want_dw && !want_db) return;
    // Chunks of at least 64 rows (8 per lane); at most 512 partial rows to add up in stage 2.
    const std::int64_t chunks = std::clamp<std::int64_t>((rows + 63) / 64, 1, 512);
    const std::int64_t rows_per_chunk = (rows + chunks - 1) / chunks;
    const TensorOptions opts(kFloat64, x.device());
    Tensor partial_dw = want_dw ? empty({chunks, n}, opts) : Tensor();
    Tensor partial_db = want_db ? empty({chunks, n}, opts) : Tensor();
    auto* pdw = want_dw ? static_cast<double*>(partial_dw.raw_data()) : nullptr;
    auto* pdb = want_db ? static_cast<double*>(partial_db.raw_data()) : nullptr;
    dim3 grid(static_cast<unsigned>((n + kColumns - 1) / kColumns), static_cast<unsigned>(chunks));
    param_grads_partial_kernel<T><<<grid, dim3(kColumns, kLanes), 0, stream>>>(pg, px, pm, pr, pdw, pdb, rows, n,
                                                                              rows_per_chunk);
    EMBER_CUDA_CHECK_LAUNCH();
    if (want_dw) {
      param_grads_finish_kernel<T><<<grid_size(n), kBlockSize, 0, stream>>>(pdw, static_cast<T*>(dweight.raw_data()),
                                                                            n, chunks);
      EMBER_CUDA_CHECK_LAUNCH();
    }
    if (want_db) {
      param_grads_finish_kernel<T><<<grid_size(n), kBlockSize, 0, stream>>>(pdb, static_cast<T*>(dbias.raw_data()),
                                                                            n, chunks);
      EMBER_CUDA_CHECK_LAUNCH();
    }
  });
}

}  // namespace

EMBER_REGISTER_KERNEL(kernels::layer_norm_stub, DeviceType::CUDA, layer_norm_cuda);
EMBER_REGISTER_KERNEL(kernels::layer_norm_backward_stub, DeviceType::CUDA, layer_norm_backward_cuda);

}  // namespace ember::cuda
