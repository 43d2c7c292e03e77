// SamplingRng: the random stream of token sampling, xoshiro256** seeded by splitmix64, so a seed
// draws the same tokens on every platform and standard library.
#pragma once

#include <cstdint>

namespace hanvit::language {

class SamplingRng {
 public:
  // Stream `stream` (one per prompt) of `seed`: different streams of one seed are unrelated.
  SamplingRng(uint64_t seed, uint64_t stream) {
    uint64_t mix = seed ^ (stream * 0xd1342543de82ef95ull + 0x6a09e667f3bcc909ull);
    for (uint64_t& word : state_) word = splitmix64(mix);
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  static uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  uint64_t state_[4];
};

}  // namespace hanvit::language
