// Where a tensor's bytes live: the host CPU or CUDA device n.
#pragma once

#include <string>

namespace hanvit {

enum class DeviceKind { cpu, cuda };

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int index = 0;

  static Device cpu() { return {}; }
  static Device cuda(int index) { return {DeviceKind::cuda, index}; }
  bool operator==(const Device&) const = default;
  std::string str() const { return kind == DeviceKind::cpu ? "cpu" : "cuda:" + std::to_string(index); }
};

}  // namespace hanvit
