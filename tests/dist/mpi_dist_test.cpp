// Run under `mpirun -np 2`: MPI collectives between two ranks, checked exactly against the
// expected sums: all-reduce, bucketed nonblocking all-reduce with ranges marked in a different
// order on each rank, broadcast and the scalar reductions.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "modules/dist/communicator.h"
#include "modules/dist/gradient_buckets.h"

using namespace hanvit;

namespace {

int failures = 0;

void expect(bool ok, int rank, const std::string& what) {
  if (ok) return;
  ++failures;
  std::fprintf(stderr, "rank %d: FAILED %s\n", rank, what.c_str());
}

void expect_values(const Tensor& t, const std::vector<double>& expected, int rank, const std::string& what) {
  std::vector<double> got = t.to_f64();
  for (size_t i = 0; i < expected.size(); ++i)
    if (got[i] != expected[i]) {
      expect(false, rank,
             what + ": element " + std::to_string(i) + " is " + std::to_string(got[i]) + ", expected " +
                 std::to_string(expected[i]));
      return;
    }
}

void check_all_reduce(Communicator& comm) {
  const int r = comm.rank();
  std::vector<float> values(1000);
  std::vector<double> expected(1000);
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = static_cast<float>(r * 1000 + static_cast<int>(i));
    expected[i] = 1000.0 + 2.0 * static_cast<double>(i);  // i + (1000 + i)
  }
  Tensor t = Tensor::from_vector<float>({10, 100}, values);
  comm.all_reduce_sum(t);
  expect_values(t, expected, r, "all_reduce_sum");
  Tensor u = Tensor::from_vector<float>({10, 100}, values);
  comm.start_all_reduce_sum(u)->wait();
  expect_values(u, expected, r, "start_all_reduce_sum");
}

void check_buckets(Communicator& comm) {
  const int r = comm.rank();
  const std::vector<int64_t> sizes{7, 300, 1, 64, 1000, 5, 33, 0, 200};
  int64_t total = 0;
  for (int64_t n : sizes) total += n;
  Tensor flat = Tensor::zeros({total});
  GradientBuckets buckets(comm, flat, sizes, 256 * sizeof(float));
  expect(buckets.bucket_count() == 5, r, "bucket count " + std::to_string(buckets.bucket_count()));
  // Rank 0 marks in reverse; rank 1 in an interleaved order.
  const std::vector<int> order =
      r == 0 ? std::vector<int>{8, 7, 6, 5, 4, 3, 2, 1, 0} : std::vector<int>{4, 0, 8, 2, 6, 1, 7, 3, 5};
  for (int step = 1; step <= 3; ++step) {
    std::vector<double> expected(static_cast<size_t>(total));
    for (int index : order) {
      Tensor range = buckets.range(index);
      float* data = range.data<float>();
      for (int64_t i = 0; i < range.numel(); ++i) {
        const int64_t j = range.offset() + i;
        data[i] = static_cast<float>(int64_t{r + 1} * step * (j % 97) + r);
        expected[static_cast<size_t>(j)] = 3.0 * step * static_cast<double>(j % 97) + 1.0;
      }
      if (step == 3 && index == 4) continue;  // finish() starts buckets with unmarked ranges
      buckets.mark_ready(index);
    }
    buckets.finish();
    expect_values(flat, expected, r, "bucketed all-reduce, step " + std::to_string(step));
  }
}

void check_broadcast(Communicator& comm) {
  const int r = comm.rank();
  std::vector<float> values(50);
  std::vector<double> expected(50);
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = static_cast<float>(r == 1 ? 7.0 * static_cast<double>(i) : -1.0);
    expected[i] = 7.0 * static_cast<double>(i);
  }
  Tensor t = Tensor::from_vector<float>({50}, values);
  comm.broadcast(t, 1);
  expect_values(t, expected, r, "broadcast from rank 1");
}

void check_scalars(Communicator& comm) {
  const int r = comm.rank();
  std::vector<double> sums{r + 0.5, 1e10 * r, 3.0};
  comm.all_reduce_sum(sums);
  expect(sums == std::vector<double>{2.0, 1e10, 6.0}, r, "all_reduce_sum of doubles");
  std::vector<double> maxima{static_cast<double>(r), -static_cast<double>(r), r == 0 ? 1e300 : 0.0};
  comm.all_reduce_max(maxima);
  expect(maxima == std::vector<double>{1.0, 0.0, 1e300}, r, "all_reduce_max of doubles");
  comm.barrier();
}

}  // namespace

int main() {
  std::unique_ptr<Communicator> comm;
  try {
    comm = make_communicator(Device::cpu());
    const int r = comm->rank();
    expect(comm->name() == "mpi", r, "communicator is " + comm->name() + ", expected mpi");
    expect(comm->size() == 2, r, "world size " + std::to_string(comm->size()) + ", expected 2");
    if (failures) return 1;
    check_all_reduce(*comm);
    check_buckets(*comm);
    check_broadcast(*comm);
    check_scalars(*comm);
    std::printf("rank %d: %s\n", r, failures ? "FAILED" : "all checks passed");
    return failures ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    if (comm) comm->abort(1);  // the other rank may be waiting in a collective
    return 1;
  }
}
