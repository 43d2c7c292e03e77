// `hanvit info`: version, build options, CPU features, devices and per-backend op coverage.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "apps/commands.h"
#include "modules/backend/backend.h"

#ifdef HANVIT_WITH_CUDA
#include <cuda_runtime_api.h>

#include "modules/backend/cuda/cuda_backend.h"
#endif
#ifdef HANVIT_WITH_NCCL
#include <nccl.h>
#endif

namespace hanvit::app {
namespace {

nlohmann::json cpu_features() {
  nlohmann::json compiled = nlohmann::json::array(), detected = nlohmann::json::array();
#ifdef __AVX512F__
  compiled.push_back("avx512f");
#endif
#ifdef __AVX2__
  compiled.push_back("avx2");
#endif
#ifdef __FMA__
  compiled.push_back("fma");
#endif
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) detected.push_back("avx512f");
  if (__builtin_cpu_supports("avx2")) detected.push_back("avx2");
  if (__builtin_cpu_supports("fma")) detected.push_back("fma");
  return {{"compiled_for", compiled}, {"detected", detected}, {"threads", std::thread::hardware_concurrency()}};
}

nlohmann::json build_info() {
  nlohmann::json build;
#ifdef HANVIT_WITH_CUDA
  build["cuda"] = true;
#else
  build["cuda"] = false;
#endif
#ifdef HANVIT_WITH_NCCL
  int nccl_version = 0;
  build["nccl"] = ncclGetVersion(&nccl_version) == ncclSuccess ? std::to_string(nccl_version) : "unavailable";
#else
  build["nccl"] = false;
#endif
#ifdef NDEBUG
  build["type"] = "release";
#else
  build["type"] = "debug";
#endif
  build["compiler"] = __VERSION__;
  return build;
}

#ifdef HANVIT_WITH_CUDA
// CUDA devices visible to this process; `status` says why the list is empty when it is.
nlohmann::json cuda_info() {
  nlohmann::json devices = nlohmann::json::array();
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  for (int i = 0; status == cudaSuccess && i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    devices.push_back({{"index", i},
                       {"name", prop.name},
                       {"compute_capability", std::to_string(prop.major) + "." + std::to_string(prop.minor)},
                       {"memory_bytes", prop.totalGlobalMem}});
  }
  nlohmann::json ops = nlohmann::json::array();
  for (OpKind op : cuda_kernel_ops()) ops.push_back(std::string(op_name(op)));
  return {{"device", "cuda"},
          {"devices", devices},
          {"ops", ops},
          {"status", status == cudaSuccess ? "ok" : cudaGetErrorString(status)}};
}
#endif

nlohmann::json info_json() {
  nlohmann::json out;
  out["version"] = HANVIT_VERSION;
  out["build"] = build_info();
  out["cpu"] = cpu_features();
  nlohmann::json backends = nlohmann::json::object();
  for (Backend* backend : available_backends()) {
    if (backend->device().kind != DeviceKind::cpu) continue;  // devices are listed below
    nlohmann::json ops = nlohmann::json::array();
    for (OpKind op : backend->supported_ops()) ops.push_back(std::string(op_name(op)));
    backends[backend->name()] = {{"device", backend->device().str()}, {"ops", ops}};
  }
#ifdef HANVIT_WITH_CUDA
  backends["cuda"] = cuda_info();
#endif
  out["backends"] = backends;
  return out;
}

void print_text(const nlohmann::json& info) {
  std::printf("hanvit %s (%s build, %s)\n", info["version"].get<std::string>().c_str(),
              info["build"]["type"].get<std::string>().c_str(), info["build"]["compiler"].get<std::string>().c_str());
  std::printf("cuda support: %s, nccl: %s\n", info["build"]["cuda"].get<bool>() ? "built" : "not built",
              info["build"]["nccl"].is_string() ? info["build"]["nccl"].get<std::string>().c_str() : "not built");
  std::printf("cpu: %u threads, compiled for %s, detected %s\n", info["cpu"]["threads"].get<unsigned>(),
              info["cpu"]["compiled_for"].dump().c_str(), info["cpu"]["detected"].dump().c_str());
  for (const auto& [name, backend] : info["backends"].items()) {
    std::printf("backend %s (%s): kernels for %zu of %zu ops (leaves and views need none)\n", name.c_str(),
                backend["device"].get<std::string>().c_str(), backend["ops"].size(), kOpCount);
    if (backend.contains("devices")) {
      for (const auto& d : backend["devices"])
        std::printf("  device %d: %s, compute capability %s, %.1f GiB\n", d["index"].get<int>(),
                    d["name"].get<std::string>().c_str(), d["compute_capability"].get<std::string>().c_str(),
                    d["memory_bytes"].get<double>() / (1u << 30));
      if (backend["devices"].empty())
        std::printf("  no device visible (%s)\n", backend["status"].get<std::string>().c_str());
    }
    std::string line = " ";
    for (const auto& op : backend["ops"]) {
      if (line.size() > 80) {
        std::printf("%s\n", line.c_str());
        line = " ";
      }
      line += " " + op.get<std::string>();
    }
    std::printf("%s\n", line.c_str());
  }
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Show version, build options, CPU features, devices and op coverage");
  auto as_json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *as_json, "Print one JSON object instead of text");
  cmd->callback([as_json] {
    nlohmann::json info = info_json();
    if (*as_json) {
      std::printf("%s\n", info.dump().c_str());
    } else {
      print_text(info);
    }
  });
}

}  // namespace hanvit::app
