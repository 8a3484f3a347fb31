// The hyper-parameter tables of both protocols (see hyperparameters.h). Abbreviations in "where":
// LTE = idiap/linear-transformer-experiments causal-copy/, FT = idiap/fast-transformers
// fast_transformers/, DM = jbergner1/DM2022-LinearTransformers.
#include "hyperparameters.h"

#include "data.h"
#include "notebook_model.h"  // the notebook's constants
#include "trainer.h"  // kTestEvery, kTestBatches

namespace copy_task {

namespace {

std::string number(double value) { return fmt::format("{}", value); }

// The note of a size the small scale changes on purpose.
std::string scaled(const Config& c, const std::string& ember, const std::string& source) {
  if (ember == source) return "";
  return c.scale == Scale::Small ? "scaled down (--scale small)" : "set by a flag";
}

// A row whose note is only "scaled down" or "set by a flag" when Ember's value differs.
HyperparameterRow sized(const Config& c, std::string setting, std::string ember, std::string source,
                        std::string where) {
  std::string note = scaled(c, ember, source);
  return {std::move(setting), std::move(ember), std::move(source), std::move(where), std::move(note)};
}

// The feature map row: the sources' elu(x)+1 (with `elu_note` on Ember's form of it) unless
// --feature-map chose another map.
HyperparameterRow feature_map_row(const Config& c, std::string source, std::string where, std::string elu_note) {
  switch (c.feature_map) {
    case FeatureMapChoice::Elu: break;
    case FeatureMapChoice::Relu:
      return {"feature map", "relu(x)", std::move(source), std::move(where), "set by --feature-map"};
    case FeatureMapChoice::Favor:
      return {"feature map", "FAVOR+: max(D, D ln D) orthogonal random features, fixed after initialisation",
              std::move(source), std::move(where), "set by --feature-map"};
    case FeatureMapChoice::Learned:
      return {"feature map", "learned: [softmax(Wx + b), softmax(-Wx - b)], W D x D from the identity",
              std::move(source), std::move(where), "set by --feature-map"};
  }
  return {"feature map", "elu(x)+1, as exp(x) for x < 0", std::move(source), std::move(where), std::move(elu_note)};
}

// The lr schedule of either protocol, in the words the sources use.
std::string schedule_text(const Config& c) {
  return c.lr_drop_step > 0 ? fmt::format("x{} once, after step {}", c.lr_drop_factor, c.lr_drop_step) : "constant";
}

std::vector<HyperparameterRow> paper_rows(const Config& c) {
  const PaperLayout layout = paper_layout(c.seq_lens.front());
  const std::string layers = std::to_string(c.layers), heads = std::to_string(c.heads),
                    head_dim = std::to_string(c.d_model / c.heads), d_model = std::to_string(c.d_model),
                    d_ff = std::to_string(c.d_ff), half = std::to_string(c.d_model / 2),
                    batch = std::to_string(c.batch), steps = std::to_string(c.steps),
                    seq_len = std::to_string(layout.seq_len),
                    n_range = fmt::format("{}..{}", layout.min_n, layout.max_n);
  const std::string dropout = number(c.dropout), lr = number(c.lr), wd = number(c.weight_decay),
                    clip = c.clip_per_tensor > 0 ? number(c.clip_per_tensor) : "none";
  const std::string schedule = schedule_text(c);
  const std::string token_embedding = fmt::format("{} x {}, N(0, 1) init, unscaled", kVocab, half);
  const std::string optimizer = c.optimizer == OptimizerKind::RAdam ? "RAdam, betas 0.9/0.999, eps 1e-8"
                                                                    : "Adam, betas 0.9/0.999, eps 1e-8";
  return {
      {"model", "decoder-only CausalLM, causal self-attention", "decoder-only stack with a causal mask",
       "LTE main.py:106-109,121-122", ""},
      sized(c, "layers", layers, "4", "LTE utils.py:58; paper 4.1.1"),
      sized(c, "heads", heads, "8", "LTE utils.py:64; paper 4.1.1"),
      sized(c, "head dim", head_dim, "32", "LTE utils.py:70"),
      sized(c, "d_model", d_model, "256", "LTE main.py:250 (heads x d_query)"),
      sized(c, "d_ff", d_ff, "1024", "LTE main.py:94 (4 x d_model)"),
      sized(c, "token embedding", token_embedding, "11 x 128, N(0, 1) init, unscaled", "LTE main.py:86-89,119"),
      {"position encoding", fmt::format("sinusoid, {} wide, concatenated after the token embedding", half),
       "sinusoid, 128 wide, concatenated after the token embedding", "LTE main.py:54-70,82-85",
       scaled(c, half, "128")},
      {"input dropout", "0", "0", "LTE main.py:54,82-85", ""},
      {"dropout", dropout + " (attention output, after the FFN activation, FFN output)",
       "0.1 (attention output, after the FFN activation, FFN output)", "LTE utils.py:76; FT transformers.py:77-89",
       scaled(c, dropout, "0.1")},
      {"attention dropout", dropout + " on softmax weights; none in linear attention",
       "0.1 on softmax weights; none in causal-linear", "LTE utils.py:89; FT attention/full_attention.py:76",
       scaled(c, dropout, "0.1")},
      {"feed-forward activation", "ReLU", "ReLU", "FT builders/transformer_builders.py:40", ""},
      {"normalisation", "post-norm layers, then a final LayerNorm", "post-norm layers, then a final LayerNorm",
       "FT transformers.py:77-89,142-143; builders/transformer_builders.py:41", ""},
      {"softmax scale", "1/sqrt(head dim)", "1/sqrt(d_query)", "FT attention/full_attention.py:62", ""},
      feature_map_row(c, "elu(x)+1", "FT attention/causal_linear_attention.py:15-16",
                      "same function; Ember's form keeps phi > 0 below x = -17 in float32, where elu(x)+1 rounds to 0"),
      {"linear attention eps", "1e-6, added to the normaliser", "1e-6, added to the normaliser",
       "FT attention/causal_linear_attention.py:47", ""},
      {"output head", fmt::format("Linear({}, {})", d_model, kVocab), "Linear(256, 11)", "LTE main.py:111-115",
       scaled(c, d_model, "256")},
      {"initialisation", "PyTorch's defaults", "PyTorch's defaults", "no init code in LTE or FT", ""},
      {"vocabulary", "11: symbols 1..10, 0 = separator and padding", "11: symbols 1..10, 0 = separator and padding",
       "LTE main.py:39,87,203", ""},
      sized(c, "sequence length", seq_len, "128", "LTE main.py:197; paper 4.1.1"),
      {"copied length n", n_range + ", uniform per sequence", "32..62, uniform per sequence", "LTE main.py:38",
       scaled(c, n_range, "32..62")},
      {"layout", "[s, 0, s, 0 ... 0], target = input shifted left", "[s, 0, s, 0 ... 0], target = input shifted left",
       "LTE main.py:42-47", ""},
      {"loss mask", "targets n-1 .. 2n-1 (first separator and the copy)",
       "targets n-1 .. 2n-1 (first separator and the copy)", "LTE main.py:48", ""},
      {"loss and accuracy", "sum(mask CE) / sum(mask) over the batch", "sum(mask CE) / sum(mask) over the batch",
       "LTE main.py:137-138", ""},
      sized(c, "batch", batch, "64", "LTE main.py:216; paper 4.1.1"),
      {"optimizer", optimizer, "RAdam, betas 0.9/0.999, eps 1e-8", "LTE utils.py:42; radam.py:14",
       c.optimizer == OptimizerKind::RAdam ? "" : "set by --optimizer"},
      {"RAdam warm-up", "momentum-SGD steps while rho_t <= 5 (steps 1-5)",
       "momentum-SGD steps while N_sma < 5 (steps 1-5)", "LTE radam.py:108-111,126-127", ""},
      {"weight decay", wd + ", decoupled, every parameter", "0.01, decoupled, every parameter",
       "LTE utils.py:34; radam.py:117-125", scaled(c, wd, "0.01")},
      {"gradient clipping", clip + ", each parameter's norm on its own", "1, each parameter's norm on its own",
       "LTE radam.py:14,70-72", scaled(c, clip, "1")},
      sized(c, "learning rate", lr, "0.001", "LTE utils.py:28; paper 4.1.1"),
      sized(c, "lr schedule", schedule, "x0.1 once, after step 3000", "LTE main.py:220-223,288-297; paper 4.1.1"),
      sized(c, "steps", steps, "10000", "LTE main.py:146,210 (100 epochs x 100 steps)"),
      {"test", fmt::format("every {} steps, {} fresh batches, teacher-forced, no dropout", kTestEvery, kTestBatches),
       "every 100 steps, 20 fresh batches, teacher-forced, no dropout", "LTE main.py:146,160-183,294", ""},
      {"greedy evaluation", fmt::format("{} held-out sequences, generated (RNN state / KV cache)", c.eval_sequences),
       "none", "-", "Ember adds it: generating the copy is the stronger test"},
      {"seed", std::to_string(c.seed), "none set", "-", "Ember runs are reproducible"},
      {"precision", choice_name(c.precision), "fp32", "LTE main.py (torch's default)",
       c.precision == Precision::Fp32 ? "" : "set by --precision"},
  };
}

std::vector<HyperparameterRow> seed_rows(const Config& c) {
  const std::string layers = fmt::format("{} + {}", c.layers, c.layers), heads = std::to_string(c.heads),
                    head_dim = std::to_string(c.d_model / c.heads), d_model = std::to_string(c.d_model),
                    d_ff = std::to_string(c.d_ff), batch = std::to_string(c.batch), steps = std::to_string(c.steps),
                    lr = number(c.lr), lengths = fmt::format("{}", fmt::join(c.seq_lens, ", "));
  const std::string schedule = schedule_text(c);
  return {
      {"model", "encoder-decoder Seq2SeqTransformer", "encoder-decoder of Transformers.jl (Vaswani et al.)",
       "DM bericht.tex, Model descriptions", ""},
      sized(c, "layers", layers, "4 + 4", "DM bericht.tex:156"),
      sized(c, "heads", heads, "8", "DM bericht.tex:105"),
      sized(c, "head dim", head_dim, "64", "DM bericht.tex:105"),
      sized(c, "d_model", d_model, "512", "DM bericht.tex:105"),
      {"d_ff", d_ff, "not stated", "-",
       c.scale == Scale::Full ? "2048 of Vaswani et al.'s base model (the notebook has 1024: --variant notebook)"
                              : "scaled down (--scale small)"},
      {"embedding", "token x sqrt(d_model) + sinusoid, encoder and decoder each their own", "not stated", "-",
       "Vaswani et al.'s"},
      {"dropout", number(c.dropout) + " (sublayer outputs, inside the FFN, softmax weights)", "not stated", "-",
       c.scale == Scale::Full ? "Transformers.jl's default 0.1" : "scaled down (--scale small)"},
      {"feed-forward activation", "ReLU", "not stated", "-", "Vaswani et al.'s"},
      {"normalisation", "post-norm", "not stated", "-", "Vaswani et al.'s"},
      feature_map_row(c, "elu(x)+1", "DM bericht.tex:130-142", ""),
      {"decoder self-attention", "causal (both kinds)", "not stated", "-",
       "as the paper; the notebook's linear decoder is not causal (--variant notebook)"},
      {"vocabulary", "11: symbols 1..10, 0 = separator", "10 symbols and a separator", "DM bericht.tex:100", ""},
      sized(c, "copied length N", lengths, "8, 16, 32, 64", "DM bericht.tex:105,158"),
      {"layout", "encoder [s1..sN]; decoder [0, s1..sN] -> [s1..sN, 0]", "not stated", "-",
       "the usual sequence-to-sequence copy"},
      {"loss", "cross entropy, mean over every decoder target", "cross entropy", "DM bericht.tex:146", ""},
      sized(c, "batch", batch, "8", "DM bericht.tex:105,156"),
      {"optimizer", choice_name(c.optimizer) + ", betas 0.9/0.999, eps 1e-8", "not named", "-",
       "Adam, as the notebook (LinTrans.jl:115)"},
      {"learning rate", lr, "0.001, constant", "DM bericht.tex:105", scaled(c, lr, "0.001")},
      sized(c, "lr schedule", schedule, "constant", "DM bericht.tex:105"),
      sized(c, "steps", steps, "3000", "DM bericht.tex:105,160"),
      {"timing", "s/step at --sweep-batch, shown as s per 3000 steps at batch 8", "s per 3000 steps, Quadro P4000",
       "DM bericht.tex:156,170,191-194", "measured on this machine, beside the seed's numbers"},
      {"crossover", "OLS softmax a + bN^2, linear c + dN on N <= 64, larger root; and measured",
       "OLS softmax a + bN^2, linear c + dN on N = 8..64, larger root", "DM intersection_calculating.r:4-27",
       "Ember also measures it"},
      {"greedy evaluation", fmt::format("{} held-out sequences, generated", c.eval_sequences), "test data copied",
       "DM bericht.tex:156", ""},
      {"seed", std::to_string(c.seed), "not stated", "-", "Ember runs are reproducible"},
  };
}

// Against LinTrans.jl (@b9321f6) and the Transformers.jl files it includes (notebook_model.h).
std::vector<HyperparameterRow> notebook_rows(const Config& c) {
  const std::string layers = fmt::format("{} + {} built, encoder runs {}", c.layers, c.layers,
                                         std::min(c.layers, kNotebookEncoderLayersRun)),
                    heads = std::to_string(c.heads), d_model = std::to_string(c.d_model),
                    linear_heads = fmt::format("{} of {}", c.heads * c.heads, c.d_model / (c.heads * c.heads)),
                    d_ff = std::to_string(c.d_ff), batch = std::to_string(c.batch), steps = std::to_string(c.steps),
                    lr = number(c.lr), lengths = fmt::format("{}", fmt::join(c.seq_lens, ", "));
  return {
      {"model", "encoder-decoder, the notebook's blocks", "encoder-decoder (Transformer_mod)", "DM LinTrans.jl:484-507",
       ""},
      sized(c, "layers", layers, "4 + 4 built, encoder runs 2", "DM LinTrans.jl:484-507,515-522"),
      sized(c, "heads", heads, "8", "DM LinTrans.jl:484"),
      sized(c, "d_model", d_model, "512", "DM LinTrans.jl:75,484"),
      {"linear attention heads", linear_heads, "64 of 8 (each head split in 8)", "DM LinTrans.jl:158-166",
       scaled(c, linear_heads, "64 of 8")},
      sized(c, "d_ff", d_ff, "1024", "DM LinTrans.jl:484,498"),
      {"embedding", "one 13 x d_model table for both stacks, N(0, 1), x 1/sqrt(d_model)",
       "one 13 x 512 table for both stacks, N(0, 1), x 1/sqrt(512)", "DM LinTrans.jl:84,516,526; embed.jl:15,25", ""},
      {"position encoding", "sinusoid of positions 1, 2, ..., added, trained", "sinusoid of positions 1, 2, ..., added, trained",
       "DM position_embed.jl:13-30; LinTrans.jl:85,568", ""},
      {"dropout", number(c.dropout) + " on sublayer outputs", "0.1 on sublayer outputs", "DM LinTrans.jl:216,375,434",
       scaled(c, number(c.dropout), "0.1")},
      {"attention dropout", "softmax weights only", "none in linattention; softmax block drops weights",
       "DM LinTrans.jl:123,139", ""},
      {"feed-forward activation", "ReLU (encoder), elu(x)+1 (decoder)", "ReLU (encoder), elu(x)+1 (decoder)",
       "DM LinTrans.jl:375,498-507", ""},
      {"normalisation", "post-norm, no final LayerNorm", "post-norm, no final LayerNorm", "DM LinTrans.jl:384-393,445-460",
       ""},
      {"feature map", "elu(x)+1, as exp(x) for x < 0", "elu(x)+1 (nelu)", "DM LinTrans.jl:99,164-165", ""},
      {"linear attention eps", number(kNotebookLinearEps) + ", added to phi(q).sum phi(k)",
       "1e-08, added to sum phi(k)", "DM LinTrans.jl:175", "Ember's MultiHeadAttention adds eps to the denominator"},
      {"decoder self-attention", "not causal (the target leaks)", "not causal: mask ignored", "DM LinTrans.jl:119-123",
       "reproduced on purpose"},
      {"vocabulary", "13: 0 unknown, 1..10, 11 start, 12 end", "13: 0 unknown, 1..10, 11 start, 12 end",
       "DM LinTrans.jl:41-46", ""},
      {"sequence N", lengths + " tokens, N - 2 symbols copied", "8, 16, 32, 64 tokens, N - 2 symbols copied",
       "DM LinTrans.jl:35,51,56", scaled(c, lengths, "8, 16, 32, 64")},
      {"layout", "encoder and decoder read [11, s, 12]; outputs 1..N-1 scored on tokens 2..N",
       "encoder and decoder read [11, s, 12]; outputs 1..N-1 scored on tokens 2..N", "DM LinTrans.jl:559-561", ""},
      {"loss", "cross entropy, smoothing 1e-6, summed over the batch / positions",
       "cross entropy, smoothing 1e-6, summed over the batch / positions",
       "DM LinTrans.jl:542-547,561; Transformer/loss.jl:34-36",
       "Ember's smoothing gives the true class 1e-6/13 more"},
      {"initialisation", "Linear: Glorot uniform, zero bias", "Dense: Glorot uniform, zero bias", "Flux defaults", ""},
      sized(c, "batch", batch, "8", "DM LinTrans.jl:34"),
      {"optimizer", choice_name(c.optimizer) + ", betas 0.9/0.999, eps 1e-8", "ADAM, betas 0.9/0.999, eps 1e-8",
       "DM LinTrans.jl:115", ""},
      sized(c, "learning rate", lr, "0.0001", "DM LinTrans.jl:115"),
      sized(c, "steps", steps, "3000", "DM LinTrans.jl:33,576"),
      {"greedy evaluation", fmt::format("{} held-out sequences, decoder re-run on the prefix", c.eval_sequences),
       "none (train! never called in the committed notebook)", "DM LinTrans.jl:573-590,613",
       "Ember adds it: it shows the leak"},
      {"seed", std::to_string(c.seed), "none", "-", "Ember runs are reproducible"},
  };
}

std::string cell(const std::string& text) {
  std::string out;
  for (char ch : text) out += ch == '|' ? std::string("\\|") : std::string(1, ch);
  return out;
}

}  // namespace

std::vector<HyperparameterRow> hyperparameter_rows(const Config& config) {
  if (config.protocol == Protocol::Paper) return paper_rows(config);
  return config.variant == Variant::Notebook ? notebook_rows(config) : seed_rows(config);
}

std::string hyperparameter_table(const Config& config) {
  const bool paper = config.protocol == Protocol::Paper, notebook = config.variant == Variant::Notebook;
  std::string md = fmt::format("| setting | Ember ({} {}{}) | {} | where | departure or addition |\n"
                               "| --- | --- | --- | --- | --- |\n",
                               choice_name(config.protocol), choice_name(config.scale), notebook ? " notebook" : "",
                               paper ? "authors' code" : notebook ? "seed's notebook" : "seed's text");
  for (const HyperparameterRow& r : hyperparameter_rows(config))
    md += fmt::format("| {} | {} | {} | {} | {} |\n", cell(r.setting), cell(r.ember), cell(r.source), cell(r.where),
                      cell(r.note));
  return md;
}

}  // namespace copy_task
