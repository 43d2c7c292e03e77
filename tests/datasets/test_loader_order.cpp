// The loader's order: PRNG, deterministic shuffle, sharding over ranks, prefetch independence, resume, dataset mixing.
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "datasets/loader/dataset_mix.h"
#include "datasets/loader/loader.h"

using namespace hanvit::data;
using hanvit::Tensor;

namespace {

TextEncoder letter_encoder() {
  TextEncoder e;
  e.encode = [](std::string_view text) {
    std::vector<int32_t> out;
    for (const char c : text) out.push_back(static_cast<unsigned char>(c));
    return out;
  };
  e.bos = 1;
  e.eos = 2;
  e.pad = 0;
  return e;
}

Tensor fabricated(const std::filesystem::path& path) {
  return Tensor::full({3, 2, 2}, std::stod(path.stem().string()));
}

// n caption samples "/v/<i>.png" whose captions have i % 5 + 1 letters.
std::vector<Sample> numbered(size_t n) {
  std::vector<Sample> samples(n);
  for (size_t i = 0; i < n; ++i) {
    samples[i].image = "/v/" + std::to_string(i) + ".png";
    samples[i].turns = {Turn{"", std::string(i % 5 + 1, static_cast<char>('a' + i % 26))}};
    samples[i].references = {samples[i].turns[0].assistant};
    samples[i].source = "s" + std::to_string(i);
  }
  return samples;
}

// Everything a batch holds, flattened for comparison.
struct Flat {
  std::vector<size_t> indices;
  std::vector<double> pixels, tokens, attention, loss;
  uint64_t epoch;
  size_t step;
  bool operator==(const Flat&) const = default;
};

Flat flat(const Batch& b) {
  Flat f{b.indices, {}, {}, {}, {}, b.epoch, b.step};
  if (b.size() == 0) return f;
  f.pixels = b.pixels.to_f64();
  f.tokens = b.tokens.to_f64();
  f.attention = b.attention_mask.to_f64();
  f.loss = b.loss_mask.to_f64();
  return f;
}

// The batches of `epochs` whole epochs.
std::vector<Flat> run(Loader& loader, int epochs) {
  std::vector<Flat> out;
  for (int e = 0; e < epochs; ++e)
    while (const auto b = loader.next()) out.push_back(flat(*b));
  return out;
}

}  // namespace

TEST_CASE("the shuffle is a permutation fixed by seed and epoch", "[loader]") {
  const std::vector<size_t> a = epoch_permutation(100, 7, 0, true);
  std::vector<size_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < 100; ++i) CHECK(sorted[i] == i);
  CHECK(a == epoch_permutation(100, 7, 0, true));
  CHECK(a != epoch_permutation(100, 7, 1, true));
  CHECK(a != epoch_permutation(100, 8, 0, true));
  CHECK(epoch_permutation(5, 7, 3, false) == std::vector<size_t>{0, 1, 2, 3, 4});

  RecordLog log;
  LoaderOptions options;
  options.batch_size = 4;
  options.seed = 7;
  Loader one(numbered(10), fabricated, letter_encoder(), options, log),
      two(numbered(10), fabricated, letter_encoder(), options, log);
  const std::vector<Flat> x = run(one, 2), y = run(two, 2);
  CHECK(x == y);
  REQUIRE(x.size() == 6);  // 3 steps per epoch
  std::vector<size_t> epoch0, epoch1;
  for (int s = 0; s < 3; ++s) epoch0.insert(epoch0.end(), x[s].indices.begin(), x[s].indices.end());
  for (int s = 3; s < 6; ++s) epoch1.insert(epoch1.end(), x[s].indices.begin(), x[s].indices.end());
  CHECK(epoch0 == epoch_permutation(10, 7, 0, true));
  CHECK(epoch1 == epoch_permutation(10, 7, 1, true));
}

TEST_CASE("sharding over 2 and 3 ranks loses and duplicates nothing, with equal step counts", "[loader]") {
  for (const size_t world : {size_t{2}, size_t{3}}) {
    for (const size_t n : {size_t{12}, size_t{13}, size_t{17}}) {
      const std::vector<size_t> perm = epoch_permutation(n, 3, 1, true);
      std::multiset<size_t> all;
      std::set<size_t> steps;
      for (size_t rank = 0; rank < world; ++rank) {
        const RankPlan plan = plan_rank(perm, 2, rank, world, /*drop_last=*/false);
        all.insert(plan.order.begin(), plan.order.end());
        steps.insert(plan.steps());
        for (size_t s = 0; s < plan.steps(); ++s) CHECK(plan.batch_start[s + 1] - plan.batch_start[s] <= 2);
      }
      INFO("world " << world << ", n " << n);
      CHECK(all.size() == n);
      CHECK(std::set<size_t>(all.begin(), all.end()).size() == n);
      CHECK(steps.size() == 1);
      CHECK(*steps.begin() == (n + 2 * world - 1) / (2 * world));

      std::multiset<size_t> kept;
      for (size_t rank = 0; rank < world; ++rank) {
        const RankPlan plan = plan_rank(perm, 2, rank, world, /*drop_last=*/true);
        CHECK(plan.steps() == n / (2 * world));
        CHECK(plan.order.size() == 2 * plan.steps());
        kept.insert(plan.order.begin(), plan.order.end());
      }
      const std::multiset<size_t> first(perm.begin(),
                                        perm.begin() + static_cast<std::ptrdiff_t>(n / (2 * world) * 2 * world));
      CHECK(kept == first);
    }
  }
  // 13 samples, batch 2, 3 ranks: 2 full global batches (12 samples), then 1 left: rank 0 gets it.
  const std::vector<size_t> perm = epoch_permutation(13, 3, 1, true);
  CHECK(plan_rank(perm, 2, 0, 3, false).order.back() == perm[12]);
  CHECK(plan_rank(perm, 2, 1, 3, false).batch_start == std::vector<size_t>{0, 2, 4, 4});
  CHECK(plan_rank(perm, 2, 2, 3, false).order == std::vector<size_t>{perm[4], perm[5], perm[10], perm[11]});

  // Loaders on each rank see their part of the same epoch order.
  std::multiset<size_t> seen;
  for (size_t rank = 0; rank < 3; ++rank) {
    RecordLog log;
    LoaderOptions options;
    options.batch_size = 2;
    options.rank = rank;
    options.world_size = 3;
    options.seed = 3;
    Loader loader(numbered(13), fabricated, letter_encoder(), options, log);
    CHECK(loader.steps_per_epoch() == 3);
    for (const Flat& b : run(loader, 1)) seen.insert(b.indices.begin(), b.indices.end());
  }
  CHECK(seen.size() == 13);
  CHECK(std::set<size_t>(seen.begin(), seen.end()).size() == 13);
}

TEST_CASE("prefetching with 0, 1 or 3 workers yields identical batches", "[loader]") {
  const auto batches = [](size_t workers) {
    RecordLog log;
    LoaderOptions options;
    options.batch_size = 3;
    options.seed = 11;
    options.workers = workers;
    options.prefetch_batches = 2;
    Loader loader(numbered(20), fabricated, letter_encoder(), options, log);
    return run(loader, 3);
  };
  const std::vector<Flat> inline_batches = batches(0);
  REQUIRE(inline_batches.size() == 21);
  CHECK(batches(1) == inline_batches);
  CHECK(batches(3) == inline_batches);
  for (const Flat& b : inline_batches)
    for (size_t i = 0; i < b.indices.size(); ++i) CHECK(b.pixels[i * 12] == static_cast<double>(b.indices[i]));
}

TEST_CASE("a loader restored from a saved position yields exactly the remaining batches", "[loader]") {
  LoaderOptions options;
  options.batch_size = 2;
  options.seed = 9;
  options.rank = 1;
  options.world_size = 2;
  options.workers = 2;
  RecordLog log;
  Loader whole(numbered(15), fabricated, letter_encoder(), options, log);
  const std::vector<Flat> expected = run(whole, 3);  // 4 steps per epoch

  Loader first(numbered(15), fabricated, letter_encoder(), options, log);
  run(first, 1);
  first.next();
  first.next();
  const std::string saved = position_to_json(first.position()).dump();
  CHECK(saved == R"({"batch_size":2,"epoch":1,"samples":15,"seed":9,"step":2,"world_size":2})");

  for (const size_t workers : {size_t{0}, size_t{3}}) {
    LoaderOptions resumed_options = options;
    resumed_options.workers = workers;
    Loader resumed(numbered(15), fabricated, letter_encoder(), resumed_options, log);
    resumed.next();  // it had started elsewhere: the restore discards what it prefetched
    resumed.restore(position_from_json(nlohmann::json::parse(saved)));
    const std::vector<Flat> rest = run(resumed, 2);
    CHECK(std::vector<Flat>(expected.begin() + 6, expected.end()) == rest);
  }

  Loader other(numbered(14), fabricated, letter_encoder(), options, log);
  CHECK_THROWS_WITH(other.restore(position_from_json(nlohmann::json::parse(saved))),
                    "loader position: saved with samples 15, this loader has 14");
  LoaderPosition far = first.position();
  far.step = 5;
  CHECK_THROWS_WITH(first.restore(far), "loader position: step 5 is past the 4 steps of an epoch");
  CHECK_THROWS_WITH(position_from_json(nlohmann::json::parse(R"({"epoch": 1})")), "loader position: missing 'step'");
  CHECK_THROWS_WITH(position_from_json(nlohmann::json::parse(R"({"epoch": -1})")),
                    "loader position: 'epoch' is not a non-negative integer");
  CHECK_THROWS_WITH(position_from_json(nlohmann::json::parse("[1]")), "loader position: not a JSON object");
}

TEST_CASE("weighted mixing repeats datasets by weight, deterministically", "[loader]") {
  std::vector<Sample> a = numbered(4), b = numbered(10);
  for (Sample& s : b) s.source = "b" + s.source;
  const std::vector<Sample> mixed = mix_datasets({{a, 2.0}, {b, 0.5}}, 1);
  REQUIRE(mixed.size() == 13);
  for (size_t i = 0; i < 8; ++i) CHECK(mixed[i].source == a[i % 4].source);
  std::vector<size_t> picked;
  for (size_t i = 8; i < 13; ++i) picked.push_back(std::stoul(mixed[i].source.substr(2)));
  std::vector<size_t> expected = epoch_permutation(10, 1, 1, true);
  expected.resize(5);
  std::sort(expected.begin(), expected.end());
  CHECK(picked == expected);
  const std::vector<Sample> again = mix_datasets({{a, 2.0}, {b, 0.5}}, 1);
  for (size_t i = 0; i < 13; ++i) CHECK(again[i].source == mixed[i].source);
  CHECK(mix_datasets({{a, 0.0}}, 1).empty());
  CHECK_THROWS_WITH(mix_datasets({{a, -1.0}}, 1), Catch::StartsWith("dataset 0: weight -1"));
}

TEST_CASE("grouping by length keeps a permutation and makes batches of similar length", "[loader]") {
  const size_t n = 1000, batch = 8;
  std::vector<size_t> lengths(n);
  for (size_t i = 0; i < n; ++i) lengths[i] = (i * 7919) % 61 + 3;  // 3..63, scattered
  const std::vector<size_t> order = epoch_permutation(n, 5, 2, true);
  const std::vector<size_t> grouped = group_by_length(order, lengths, batch, 10, 5, 2);
  CHECK(std::is_permutation(grouped.begin(), grouped.end(), order.begin()));
  CHECK(grouped == group_by_length(order, lengths, batch, 10, 5, 2));  // fixed by (seed, epoch)
  CHECK(grouped != group_by_length(order, lengths, batch, 10, 5, 3));
  // Padding: the sum over batches of (longest - each), against the plain shuffle's.
  auto padding = [&](const std::vector<size_t>& o) {
    size_t waste = 0;
    for (size_t b = 0; b < n / batch; ++b) {
      size_t longest = 0;
      for (size_t i = 0; i < batch; ++i) longest = std::max(longest, lengths[o[b * batch + i]]);
      for (size_t i = 0; i < batch; ++i) waste += longest - lengths[o[b * batch + i]];
    }
    return waste;
  };
  INFO("padding shuffled " << padding(order) << ", grouped " << padding(grouped));
  CHECK(padding(grouped) * 5 < padding(order));
  // Each window of 10 batches holds the same samples as before, only regrouped.
  for (size_t w = 0; w < n; w += batch * 10) {
    const auto end = std::min(n, w + batch * 10);
    CHECK(std::is_permutation(grouped.begin() + static_cast<std::ptrdiff_t>(w), grouped.begin() + static_cast<std::ptrdiff_t>(end),
                              order.begin() + static_cast<std::ptrdiff_t>(w)));
  }
}

TEST_CASE("a loader grouping by length yields every sample once an epoch, with less padding", "[loader]") {
  std::vector<Sample> samples;
  for (int i = 0; i < 64; ++i) {
    Sample s;
    s.kind = SampleKind::caption;
    s.image = "/v/" + std::to_string(i) + ".png";
    s.turns = {{"", std::string(static_cast<size_t>(1 + (i * 13) % 29), 'a')}};
    s.references = {s.turns[0].assistant};
    samples.push_back(s);
  }
  RecordLog log;
  LoaderOptions options;
  options.batch_size = 8;
  options.seed = 3;
  auto columns = [&](bool grouped) {
    options.group_by_length = grouped;
    Loader loader(samples, [](const std::filesystem::path&) { return Tensor::zeros({3, 2, 2}); }, letter_encoder(),
                  options, log);
    std::multiset<size_t> seen;
    size_t total = 0;
    while (std::optional<Batch> b = loader.next()) {
      seen.insert(b->indices.begin(), b->indices.end());
      total += static_cast<size_t>(b->tokens.shape()[1]) * b->size();
    }
    CHECK(seen.size() == 64u);
    CHECK(std::set<size_t>(seen.begin(), seen.end()).size() == 64u);
    return total;
  };
  const size_t plain = columns(false), grouped = columns(true);
  INFO("token slots plain " << plain << ", grouped " << grouped);
  CHECK(grouped < plain * 3 / 4);
}
