// The seed study's notebook model as it ran, bugs included: `copy_task --protocol seed --variant
// notebook`. Do & Bergner (2022) trained it with LinTrans.jl (jbergner1/DM2022-LinearTransformers
// @b9321f6, a Pluto notebook on Transformers.jl); line numbers below are that file's unless
// another is named. The data layout is in data.h (make_notebook_batch).
//
// The model:
//   - one token embedding, 13 x d_model, N(0, 1) (embed.jl:15), shared by the encoder and the
//     decoder (:516, :526) and multiplied by 1/sqrt(d_model) (:84, which writes 512), plus a
//     position table that is a parameter: it starts as the notebook's sinusoid of positions
//     1, 2, ... (position_embed.jl:17-30) and is trained, since `pe` is among the parameters
//     handed to Adam (:568); 1024 rows, its max_len (more when a sequence is longer);
//   - `layers` encoder and `layers` decoder blocks, post-norm (:384-393, :445-460), no final
//     LayerNorm; dropout on each sublayer's output only, none inside the feed-forward (PwFFN is
//     two Dense, :335-345) nor on the embeddings. The encoder runs its first two blocks only
//     (encoder_forward returns t2, :515-522): the others are parameters that never get a gradient;
//   - feed-forward fc2(act(fc1 x)): ReLU in the encoder (Transformer_mod's default, :375),
//     elu(x) + 1 in the decoder (act = nelu, :498-507);
//   - attention is never causal. linattention reads neither `mask` nor `future` (:119-123), so the
//     decoder's self-attention at position t sees token t + 1, the very token it is scored on: the
//     target leaks, teacher-forced accuracy runs high and generation (which has no token t + 1)
//     stays low. Linear (elu(x) + 1 feature map on q and k, :164-165): each head of d_model/heads
//     is split again into `heads` sub-heads (depth = div(hs, head), :158-166), so the notebook runs
//     heads^2 heads of d_model/heads^2 dims (64 heads of 8 at d_model 512), which is what a
//     MultiHeadAttention with heads^2 heads computes. (The notebook's sub-heads take every
//     heads-th channel of a head, a Julia reshape; Ember's take adjacent channels. That fixed
//     permutation is absorbed by the learned projections, whose init is i.i.d.) Softmax
//     (--attention softmax) is the notebook's commented-out block (:134-141): `heads` heads of
//     d_model/heads, scores scaled by 1/sqrt(head dim), unmasked, dropout on the weights;
//   - every Linear as Flux's Dense: Glorot-uniform weights, zero biases; LayerNorm eps 1e-5.
// The loss (notebook_loss) is cross entropy with label smoothing 1e-6, summed over the batch and
// divided by the positions (Transformer/loss.jl:34-36), i.e. batch size x the per-token mean.
//
// Departures from the notebook:
//   - linear attention's eps 1e-8: the notebook adds it to sum_j phi(k_j) before the product with
//     phi(q) (:175), a denominator phi(q).sum phi(k) + 1e-8 sum phi(q); Ember's MultiHeadAttention
//     adds 1e-8 to phi(q).sum phi(k);
//   - label smoothing: the notebook's target is 1 - 1e-6 on the true class and 1e-6/13 on the
//     others (smooth, :542-547); ember::cross_entropy gives the true class 1e-6/13 more;
//   - the notebook's encoder_forward also runs block 2 twice more on its output and drops the
//     result (:519-520); Ember skips that work, which changed nothing but time.
#pragma once

#include <memory>
#include <string>

#include <ember/ember.h>

#include "model.h"

namespace copy_task {

inline constexpr std::int64_t kNotebookEncoderLayersRun = 2;  // encoder_forward returns t2
inline constexpr std::int64_t kNotebookPositions = 1024;      // PositionEmbedding's max_len
inline constexpr double kNotebookLabelSmoothing = 1e-6;
inline constexpr double kNotebookLinearEps = 1e-8;

// report.md's configuration row for the variant (Config::describe).
inline constexpr const char* kNotebookVariantNote =
    "notebook (LinTrans.jl as run: one shared embedding x 1/sqrt(d_model) + a trained position table; 2 encoder "
    "layers run; decoder self-attention not causal, so it sees its targets; linear attention with heads^2 sub-heads; "
    "decoder FFN elu+1; loss summed over the batch; generation re-runs the decoder on the prefix)";

struct NotebookOptions {
  std::int64_t d_model = 512;
  std::int64_t heads = 8;   // the notebook's `head`; linear attention runs heads^2 sub-heads
  std::int64_t layers = 4;  // blocks built in each stack
  std::int64_t d_ff = 1024;
  double dropout = 0.1;
  ember::nn::AttentionKind attention = ember::nn::AttentionKind::Linear;
  std::int64_t positions = kNotebookPositions;  // rows of the position table
};

// The heads a MultiHeadAttention of the notebook model has: heads^2 for linear, heads for softmax.
std::int64_t notebook_attention_heads(std::int64_t heads, ember::nn::AttentionKind kind);

// Encoder block (no memory) or decoder block (with cross-attention), post-norm.
class NotebookBlock : public ember::nn::Module {
 public:
  enum class Activation { ReLU, EluPlusOne };
  NotebookBlock(const NotebookOptions& options, bool with_cross_attention, Activation activation);
  // x (B, N, d_model); memory (B, Ns, d_model), for a decoder block.
  ember::Tensor forward(const ember::Tensor& x, const ember::Tensor& memory = {});

  std::shared_ptr<ember::nn::MultiHeadAttention> self_attn, cross_attn;  // cross_attn: decoder only
  std::shared_ptr<ember::nn::Linear> fc1, fc2;
  std::shared_ptr<ember::nn::LayerNorm> self_norm, cross_norm, ffn_norm;

 private:
  std::shared_ptr<ember::nn::Dropout> dropout_;
  Activation activation_;
};

class NotebookTransformer : public ember::nn::Module {
 public:
  explicit NotebookTransformer(NotebookOptions options);
  // tokens (B, N) int64 -> (B, N, d_model): scaled token embedding + trained position table.
  ember::Tensor embed(const ember::Tensor& tokens);
  ember::Tensor encode(const ember::Tensor& src);                                // (B, Ns, d_model)
  ember::Tensor decode(const ember::Tensor& tgt, const ember::Tensor& memory);  // logits (B, Nt, 13)
  ember::Tensor forward(const ember::Tensor& src, const ember::Tensor& tgt) { return decode(tgt, encode(src)); }

  std::shared_ptr<ember::nn::Embedding> embedding;
  ember::Tensor position;  // (positions, d_model)
  std::shared_ptr<ember::nn::ModuleList<NotebookBlock>> encoder, decoder;
  std::shared_ptr<ember::nn::Linear> head;

 private:
  NotebookOptions options_;
};

// The notebook's loss of decoder logits (B, N, 13) for tokens (B, N): outputs 0..N-2 against
// tokens 1..N-1, cross entropy with label smoothing 1e-6, times B (summed over the batch).
ember::Tensor notebook_loss(const ember::Tensor& logits, const ember::Tensor& tokens);

// Refuses (BadInput) a notebook configuration the model cannot take: an N below 3 (N counts the
// start and end tokens), or, with linear attention, a d_model that heads^2 does not divide.
void check_notebook_config(const Config& config);

// --print-config's description of the notebook's data, loss, evaluation and departures.
std::string notebook_configuration_text(const Config& config);

// The CopyModel of the notebook variant: training batches as above, evaluation by greedy
// generation that re-runs the whole (non-causal) decoder on the prefix generated so far, since a
// non-causal decoder has no recurrent form; N <= 64 in the study, so O(N^2) decoder positions.
std::unique_ptr<CopyModel> make_notebook_copy_model(const Config& config, ember::nn::AttentionKind kind,
                                                    std::int64_t seq_len);

}  // namespace copy_task
