// The tiny training run the checkpoint fuzzer loads into, shared with make_corpus (which writes
// its valid checkpoints): a one-layer CausalLM, RAdam and StepLR, as the copy task trains them.
#pragma once

#include <memory>

#include "checkpoint.h"

namespace ember::fuzz {

struct TinyRun {
  std::unique_ptr<nn::CausalLM> model;
  std::unique_ptr<optim::RAdam> optimizer;
  std::unique_ptr<optim::StepLR> scheduler;

  TinyRun() {
    nn::TransformerConfig c;
    c.vocab_size = 5;
    c.d_model = 4;
    c.heads = 1;
    c.d_ff = 4;
    c.decoder_layers = 1;
    c.dropout = 0.1;
    model = std::make_unique<nn::CausalLM>(c);
    optimizer = std::make_unique<optim::RAdam>(model->parameters(), optim::RAdamOptions{.lr = 1e-3});
    scheduler = std::make_unique<optim::StepLR>(*optimizer, 10, 0.5);
  }
  copy_task::TrainingParts parts() { return {*model, *optimizer, scheduler.get()}; }
};

// What a checkpoint must carry in its metadata to be accepted as this run's.
inline nn::Metadata tiny_identity() { return {{"run", "fuzz"}, {"attention", "softmax"}}; }

}  // namespace ember::fuzz
