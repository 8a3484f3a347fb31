// Summaries of one attention matrix A (Nq, Nk): rows are queries, each a distribution over keys
// (attention_inspection.h makes them). All take a 2-D float64 CPU tensor and compute in float64.
//
//   attention_entropy    mean over rows of -sum_j a_ij log a_ij (nats, 0 log 0 = 0): 0 when every
//                        query looks at one key, log Nk when it spreads evenly over all of them.
//   effective_rank       exp of the entropy of the normalised singular values p_i = s_i / sum s
//                        (Roy & Vetterli 2007): N for the identity, 1 for any rank-one matrix
//                        (e.g. every row uniform). The authors of "Transformers are RNNs" explain
//                        linear attention's slower copy learning by its low rank.
//   copy_diagonal_mass   mean over the queries that copy of the weight on the key they copy from.
//   attention_distance   ||A - B||_F / sqrt(Nq): the root mean square over queries of the L2
//                        distance between their two rows (between 0 and sqrt(2) for rows that
//                        are distributions).
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace ember::nn {

double attention_entropy(const Tensor& a);
double effective_rank(const Tensor& a);
// source_positions[i]: the key position query i copies from, or -1 for a query that copies
// nothing (left out of the mean). One entry per row; throws when none copies.
double copy_diagonal_mass(const Tensor& a, const std::vector<std::int64_t>& source_positions);
double attention_distance(const Tensor& a, const Tensor& b);

// Singular values of a (M, N) float64 CPU matrix, largest first (min(M, N) of them), by one-sided
// Jacobi rotations (Hestenes): columns are rotated in pairs until all are orthogonal, and then
// their norms are the singular values. Accurate to float64 rounding relative to the largest;
// O(M N^2) per sweep, a handful of sweeps: meant for N up to a few hundred.
std::vector<double> singular_values(const Tensor& a);

}  // namespace ember::nn
