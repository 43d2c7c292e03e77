// Benchmark: a LLaMA-style DecoderLM on the CPU backend, prefill tokens/s and cached greedy decoding
// tokens/s (a graph built per step, its share measured), against the same model in plain PyTorch.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>

#include "bench/reference_output.h"
#include "language/decoder/decoder_lm.h"
#include "language/generation/decoder_step_model.h"
#include "language/generation/generate.h"
#include "modules/exec/executor.h"

using namespace hanvit;
using namespace hanvit::language;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct Options {
  int64_t vocab = 32000, dim = 768, layers = 12, heads = 12, hidden = 2048;
  int64_t prefill = 512, prompt = 128, new_tokens = 128;
  int reps = 3;
  bool profile = false;
  std::string python = "/usr/bin/python3";
  std::string script = HANVIT_SOURCE_DIR "/scripts/bench_decoder_torch.py";
};

Tensor token_ids(int64_t count, int64_t vocab) {  // i32 (1, count)
  std::vector<int32_t> ids(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) ids[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7919 + 13) % vocab);
  return Tensor::from_vector<int32_t>({1, count}, ids);
}

Tensor positions_from(int64_t begin, int64_t count) {  // i32 (count)
  std::vector<int32_t> v(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) v[static_cast<size_t>(i)] = static_cast<int32_t>(begin + i);
  return Tensor::from_vector<int32_t>({count}, v);
}

// "k0", "v3": the cache inputs' names.
std::string cache_name(char kind, size_t layer) {
  std::string name(1, kind);
  name += std::to_string(layer);
  return name;
}

int32_t argmax_last(const Tensor& logits) {  // (1, 1, V)
  const float* row = logits.data<float>();
  return static_cast<int32_t>(std::max_element(row, row + logits.numel()) - row);
}

// One pass over `length` new tokens after the cache of `past` (none: from position 0): its graph,
// executor, next cache and last-position logits.
struct Pass {
  std::unique_ptr<Graph> graph;
  std::unique_ptr<Executor> exec;
  std::vector<KeyValues> cache;  // (1, Hk, past + T, Dh) per layer
  Var logits;                    // (1, 1, V)

  Pass(const DecoderLM& model, const ParameterStore& store, int64_t length, const Pass* past, bool profile) {
    graph = std::make_unique<Graph>(false);
    DecoderInputs in;
    in.ids = graph->input("ids", {1, length}, DType::i32);
    in.positions = graph->input("positions", {length}, DType::i32);
    in.last_only = true;
    if (past)
      for (size_t l = 0; l < past->cache.size(); ++l)
        in.cache.push_back({graph->input(cache_name('k', l), past->cache[l].k.shape()),
                            graph->input(cache_name('v', l), past->cache[l].v.shape())});
    DecoderOutputs out = model.forward(in);
    cache = out.cache;
    logits = out.logits;
    std::vector<Var> outputs{logits};
    for (const KeyValues& kv : cache) outputs.push_back(kv.k), outputs.push_back(kv.v);
    exec = std::make_unique<Executor>(*graph, cpu_backend(), outputs, ExecutorOptions{.profile = profile});
    store.bind_all(*exec, *graph);
    if (past)
      for (size_t l = 0; l < past->cache.size(); ++l) {  // the previous step's values, used in place
        exec->bind(cache_name('k', l), past->exec->value(past->cache[l].k));
        exec->bind(cache_name('v', l), past->exec->value(past->cache[l].v));
      }
  }

  int32_t run(const Tensor& ids, int64_t first_position) {
    exec->bind("ids", ids);
    exec->bind("positions", positions_from(first_position, ids.shape()[1]));
    exec->run();
    return argmax_last(exec->value(logits));
  }
};

struct TorchTimes {
  double prefill_ms = -1, decode_ms = -1;
  std::string line;
};

TorchTimes torch_times(const Options& o, int threads, std::string& why) {
  const bench::ReferenceOutput run = bench::run_reference(
      o.python + " " + o.script + " --threads " + std::to_string(threads) + " --vocab " + std::to_string(o.vocab) +
      " --dim " + std::to_string(o.dim) + " --layers " + std::to_string(o.layers) + " --heads " +
      std::to_string(o.heads) + " --hidden " + std::to_string(o.hidden) + " --prefill " + std::to_string(o.prefill) +
      " --prompt " + std::to_string(o.prompt) + " --new " + std::to_string(o.new_tokens) + " --reps " +
      std::to_string(o.reps));
  TorchTimes out;
  const std::string* line = run.scan("torch_prefill_ms=%lf torch_decode_ms=%lf", &out.prefill_ms, &out.decode_ms);
  if (line && run.failure.empty()) {
    out.line = *line;
  } else {
    why = run.why_missing();
    out.decode_ms = -1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (arg == "--reps")
      o.reps = std::stoi(next());
    else if (arg == "--layers")
      o.layers = std::stoll(next());
    else if (arg == "--prefill")
      o.prefill = std::stoll(next());
    else if (arg == "--prompt")
      o.prompt = std::stoll(next());
    else if (arg == "--new")
      o.new_tokens = std::stoll(next());
    else if (arg == "--profile")
      o.profile = true;
    else if (arg == "--python")
      o.python = next();
    else if (arg == "--torch-script")
      o.script = next();
    else {
      std::fprintf(stderr,
                   "usage: bench_decoder [--reps N] [--profile] [--layers L] [--prefill T] [--prompt T] [--new N] "
                   "[--python PATH] [--torch-script PATH]\n");
      return arg == "--help" ? 0 : 2;
    }
  }
  const int threads = omp_get_max_threads();
  const DecoderConfig config =
      DecoderConfig::from_json({{"model_type", "llama"},
                                {"vocab_size", o.vocab},
                                {"hidden_size", o.dim},
                                {"intermediate_size", o.hidden},
                                {"num_hidden_layers", o.layers},
                                {"num_attention_heads", o.heads},
                                {"num_key_value_heads", o.heads},
                                {"max_position_embeddings", std::max(o.prefill, o.prompt + o.new_tokens)},
                                {"tie_word_embeddings", false}},
                               "benchmark config");
  const DecoderLM model(config);
  ParameterStore store(1);
  store.initialize(model);
  // Prefill: one executor, re-run.
  Pass prefill(model, store, o.prefill, nullptr, o.profile);
  const Tensor prefill_ids = token_ids(o.prefill, o.vocab), prompt_ids = token_ids(o.prompt, o.vocab);
  double best_prefill = std::numeric_limits<double>::infinity();
  for (int r = 0; r <= o.reps; ++r) {
    const Clock::time_point start = Clock::now();
    prefill.run(prefill_ids, 0);
    best_prefill = std::min(best_prefill, seconds_since(start));
  }

  // Decode: the prompt (not timed), then one graph per new token over the growing cache.
  double best_decode = std::numeric_limits<double>::infinity(), build_of_best = 0.0;
  std::vector<double> decode_op_seconds(kOpCount, 0.0);  // summed over every timed step (with --profile)
  for (int r = 0; r <= o.reps; ++r) {
    auto past = std::make_unique<Pass>(model, store, o.prompt, nullptr, false);
    int32_t token = past->run(prompt_ids, 0);
    double build = 0.0;
    const Clock::time_point start = Clock::now();
    for (int64_t step = 0; step < o.new_tokens; ++step) {
      const Clock::time_point build_start = Clock::now();
      auto next = std::make_unique<Pass>(model, store, 1, past.get(), o.profile);
      build += seconds_since(build_start);
      token = next->run(Tensor::from_vector<int32_t>({1, 1}, {token}), o.prompt + step);
      if (o.profile)
        for (size_t op = 0; op < kOpCount; ++op) decode_op_seconds[op] += next->exec->op_seconds()[op];
      past = std::move(next);
    }
    const double total = seconds_since(start);
    if (total < best_decode) best_decode = total, build_of_best = build;
  }

  // The same decoding through generate() (DecodeSession: the prompt pass included), as the CLI runs it.
  const language::DecoderStepModel step_model(model);
  const std::vector<int32_t> prompt(prompt_ids.data<int32_t>(), prompt_ids.data<int32_t>() + o.prompt);
  language::GenerationOptions greedy;
  greedy.max_new_tokens = static_cast<int>(o.new_tokens);
  double best_generate = std::numeric_limits<double>::infinity();
  for (int r = 0; r <= o.reps; ++r) {
    const Clock::time_point start = Clock::now();
    language::generate(step_model, store, cpu_backend(), {prompt}, greedy);
    best_generate = std::min(best_generate, seconds_since(start));
  }

  std::printf("LLaMA-style decoder: %lld layers, d=%lld, %lld heads, SwiGLU %lld, vocab %lld, threads=%d\n",
              static_cast<long long>(o.layers), static_cast<long long>(o.dim), static_cast<long long>(o.heads),
              static_cast<long long>(o.hidden), static_cast<long long>(o.vocab), threads);
  std::printf("prefill B=1 T=%lld (last-position logits): hanvit_ms=%.1f tokens_per_s=%.1f planned_peak_MiB=%.1f\n",
              static_cast<long long>(o.prefill), best_prefill * 1e3, o.prefill / best_prefill,
              prefill.exec->planned_peak_bytes() / 1048576.0);
  std::printf("decode %lld tokens after %lld: hanvit_ms=%.1f tokens_per_s=%.1f graph_build_share=%.1f%%\n",
              static_cast<long long>(o.new_tokens), static_cast<long long>(o.prompt), best_decode * 1e3,
              o.new_tokens / best_decode, 100.0 * build_of_best / best_decode);
  std::printf("generate() %lld tokens after %lld, prompt pass included: hanvit_ms=%.1f tokens_per_s=%.1f\n",
              static_cast<long long>(o.new_tokens), static_cast<long long>(o.prompt), best_generate * 1e3,
              o.new_tokens / best_generate);
  if (o.profile) {
    const double prefill_runs = o.reps + 1, decode_tokens = static_cast<double>((o.reps + 1) * o.new_tokens);
    std::printf("per prefill / per decoded token (ms):\n");
    for (size_t op = 0; op < kOpCount; ++op) {
      const double prefill_ms = prefill.exec->op_seconds()[op] * 1e3 / prefill_runs;
      const double decode_ms = decode_op_seconds[op] * 1e3 / decode_tokens;
      if (prefill_ms + decode_ms > 0)
        std::printf("  %-22s %9.2f %9.3f\n", std::string(op_name(static_cast<OpKind>(op))).c_str(), prefill_ms,
                    decode_ms);
    }
  }
  std::string why;
  const TorchTimes reference = torch_times(o, threads, why);
  if (reference.decode_ms > 0) {
    std::printf("%s", reference.line.c_str());
    std::printf("torch prefill tokens_per_s=%.1f decode tokens_per_s=%.1f\n", o.prefill / (reference.prefill_ms / 1e3),
                o.new_tokens / (reference.decode_ms / 1e3));
    std::printf("speedup_vs_torch prefill=%.2fx decode=%.2fx\n", reference.prefill_ms / (best_prefill * 1e3),
                reference.decode_ms / (best_decode * 1e3));
  } else {
    std::printf("reference unavailable: %s\n", why.c_str());
  }
  return 0;
}
