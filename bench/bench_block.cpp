// Benchmark: one pre-norm transformer block (LayerNorm, causal MHA, GELU MLP) forward + backward
// on the CPU backend, against PyTorch eager on the same shapes and thread count in the same run.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#include "bench/reference_output.h"
#include "modules/exec/executor.h"
#include "modules/graph/autograd.h"
#include "modules/graph/ops.h"
#include "modules/nn/attention.h"
#include "modules/nn/layer_norm.h"
#include "modules/nn/mlp.h"
#include "modules/nn/parameter_store.h"

using namespace hanvit;

namespace {

struct Options {
  int64_t batch = 8, seq = 256, dim = 512, heads = 8;
  int reps = 5;
  bool profile = false;
  std::string python = "/usr/bin/python3";
  std::string script = HANVIT_SOURCE_DIR "/scripts/bench_block_torch.py";
};

class Block : public Module {
 public:
  Block(int64_t dim, int64_t heads) : Module("Block") {
    ln1_ = register_module("ln1", std::make_shared<LayerNorm>(dim));
    AttentionConfig attn;
    attn.dim = dim;
    attn.num_heads = heads;
    attn.causal = true;
    attn_ = register_module("attn", std::make_shared<Attention>(attn));
    ln2_ = register_module("ln2", std::make_shared<LayerNorm>(dim));
    MLPConfig mlp;
    mlp.dim = dim;
    mlp.hidden = 4 * dim;
    mlp.activation = Activation::gelu_erf;
    mlp_ = register_module("mlp", std::make_shared<MLP>(mlp));
  }
  // x (B, T, C) -> (B, T, C)
  Var forward(Var x) const {
    AttentionInputs in;
    in.x = ln1_->forward(x);
    Var h = x + attn_->forward(in).out;
    return h + mlp_->forward(ln2_->forward(h));
  }

 private:
  std::shared_ptr<LayerNorm> ln1_, ln2_;
  std::shared_ptr<Attention> attn_;
  std::shared_ptr<MLP> mlp_;
};

double torch_ms(const Options& o, int threads, std::string& why) {
  const bench::ReferenceOutput out = bench::run_reference(
      o.python + " " + o.script + " --threads " + std::to_string(threads) + " --batch " + std::to_string(o.batch) +
      " --seq " + std::to_string(o.seq) + " --dim " + std::to_string(o.dim) + " --heads " + std::to_string(o.heads) +
      " --reps " + std::to_string(o.reps));
  double ms = -1;
  const std::string* line = out.scan("torch_ms=%lf", &ms);
  why = line && out.failure.empty() ? *line : out.why_missing();
  return out.failure.empty() ? ms : -1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (arg == "--reps") o.reps = std::stoi(next());
    else if (arg == "--python") o.python = next();
    else if (arg == "--torch-script") o.script = next();
    else if (arg == "--profile") o.profile = true;
    else if (arg == "--seq") o.seq = std::stoll(next());
    else if (arg == "--batch") o.batch = std::stoll(next());
    else {
      std::fprintf(stderr, "usage: bench_block [--reps N] [--profile] [--batch B] [--seq T] [--python PATH] [--torch-script PATH]\n");
      return arg == "--help" ? 0 : 2;
    }
  }
  const int threads = omp_get_max_threads();
  Block block(o.dim, o.heads);
  ParameterStore store(1);
  store.initialize(block);
  Graph g;
  Var x = g.input("x", {o.batch, o.seq, o.dim});
  Var w = g.input("w", {o.batch, o.seq, o.dim});
  Var loss = sum_all(block.forward(x) * w);
  Gradients grads = backward(loss);
  std::vector<Var> outputs{loss};
  for (const Var& grad : grads.all()) outputs.push_back(grad);
  Executor exec(g, cpu_backend(), outputs, ExecutorOptions{.profile = o.profile});
  store.bind_all(exec, g);
  Tensor xt = Tensor::empty({o.batch, o.seq, o.dim}, DType::f32), wt = xt.clone();
  for (int64_t i = 0; i < xt.numel(); ++i) {
    xt.data<float>()[i] = static_cast<float>((i * 7919 % 1000) / 500.0 - 1.0);
    wt.data<float>()[i] = static_cast<float>((i * 104729 % 1000) / 500.0 - 1.0);
  }
  exec.bind("x", xt);
  exec.bind("w", wt);
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r <= o.reps; ++r) {
    auto start = std::chrono::steady_clock::now();
    exec.run();
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (r > 0 || o.reps == 0) best = std::min(best, ms);
  }
  std::printf("block B=%lld T=%lld C=%lld H=%lld causal, forward+backward, threads=%d\n",
              static_cast<long long>(o.batch), static_cast<long long>(o.seq), static_cast<long long>(o.dim),
              static_cast<long long>(o.heads), threads);
  std::printf("hanvit_ms=%.3f planned_peak_MiB=%.1f naive_MiB=%.1f\n", best, exec.planned_peak_bytes() / 1048576.0,
              exec.naive_bytes() / 1048576.0);
  if (o.profile) {
    std::vector<std::pair<double, OpKind>> ranked;
    for (size_t i = 0; i < kOpCount; ++i)
      if (exec.op_seconds()[i] > 0) ranked.emplace_back(exec.op_seconds()[i], static_cast<OpKind>(i));
    std::sort(ranked.rbegin(), ranked.rend());
    for (const auto& [seconds, op] : ranked)
      std::printf("  %-22s %9.2f ms/run\n", std::string(op_name(op)).c_str(), seconds * 1e3 / (o.reps + 1));
  }
  std::string why;
  double reference = torch_ms(o, threads, why);
  if (reference > 0) {
    std::printf("%s", why.c_str());
    std::printf("speedup_vs_torch=%.2fx\n", reference / best);
  } else {
    std::printf("reference unavailable: %s\n", why.c_str());
  }
  return 0;
}
