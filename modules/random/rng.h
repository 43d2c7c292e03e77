// Deterministic random numbers (synthetic scenes, shuffles, augmentations, token sampling): splitmix64
// seeding, xoshiro256** streams and unbiased bounded draws, specified bit for bit here
// (std::uniform_int_distribution's output differs between standard libraries).
#pragma once

#include <cstddef>
#include <cstdint>

namespace hanvit {

// One step of splitmix64 (Steele, Lea, Flood 2014): advances `state` and returns a mixed value.
inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// A seed for sub-stream `stream` of `seed`: different streams of one seed are unrelated.
inline uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  uint64_t a = seed, b = stream ^ 0x6a09e667f3bcc909ull;
  return splitmix64(a) ^ (splitmix64(b) * 0xd1342543de82ef95ull);
}

// xoshiro256** 1.0 (Blackman, Vigna 2018), state filled by four splitmix64 steps from the seed.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& word : state_) word = splitmix64(seed);
  }

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

  // Uniform in [0, n), n > 0, without bias: Lemire's multiply-shift with rejection
  // (draws again while the low 64 bits of next() * n fall below 2^64 mod n).
  uint64_t below(uint64_t n) {
    const uint64_t threshold = (0 - n) % n;
    while (true) {
      const unsigned __int128 product = static_cast<unsigned __int128>(next()) * n;
      if (static_cast<uint64_t>(product) >= threshold) return static_cast<uint64_t>(product >> 64);
    }
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  // Uniform integer in [low, high], low <= high.
  int between(int low, int high) { return low + static_cast<int>(below(static_cast<uint64_t>(high - low) + 1)); }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

}  // namespace hanvit
