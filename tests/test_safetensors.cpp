// Tests of safetensors reading, validation, atomic writing, sharded folders and the reference fixture.
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "modules/io/safetensors.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using hanvit::DType;
using hanvit::SafetensorsFile;
using hanvit::SafetensorsFolder;
using hanvit::Shape;
using hanvit::Tensor;

namespace {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// A fresh folder under the system temp folder, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "hanvit-safetensors-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code error;
    fs::remove_all(path_, error);
  }
  const fs::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.is_open());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string length_prefix(uint64_t length) {
  std::string prefix(8, '\0');
  for (int i = 0; i < 8; ++i) prefix[i] = static_cast<char>(length >> (8 * i));
  return prefix;
}

// A safetensors file from a header text and a data section, exactly as given (no padding).
std::string st_bytes(const std::string& header, const std::string& data = "") {
  return length_prefix(header.size()) + header + data;
}

// Names of files in `dir` that look like leftover temp files.
std::vector<std::string> temp_leftovers(const fs::path& dir) {
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().filename().string().find(".tmp.") != std::string::npos)
      found.push_back(entry.path().filename().string());
  return found;
}

template <typename Exception, typename Fn>
std::string message_of(Fn&& fn) {
  try {
    fn();
  } catch (const Exception& e) {
    return e.what();
  }
  FAIL("no exception was thrown");
  return {};
}

// Opening `bytes` as a file must throw std::invalid_argument naming the file and `problem`.
void require_rejected(const std::string& bytes, const std::string& problem) {
  TempDir dir;
  std::string path = dir.file("bad.safetensors");
  write_file(path, bytes);
  std::string message = message_of<std::invalid_argument>([&] { SafetensorsFile file(path); });
  CHECK_THAT(message, Contains(path) && Contains(problem));
  CHECK(message.find('\n') == std::string::npos);
}

// A valid one-tensor entry: `dtype` with `shape`, at [begin, end).
std::string entry(const std::string& name, const std::string& dtype, const std::string& shape, uint64_t begin,
                  uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
         std::to_string(begin) + "," + std::to_string(end) + "]}";
}

Tensor from_bits16(const Shape& shape, DType dtype, const std::vector<uint16_t>& bits) {
  Tensor t = Tensor::empty(shape, dtype);
  REQUIRE(t.nbytes() == bits.size() * 2);
  if (!bits.empty()) std::memcpy(t.raw_data(), bits.data(), t.nbytes());
  return t;
}

Tensor from_bits32(const Shape& shape, const std::vector<uint32_t>& bits) {
  Tensor t = Tensor::empty(shape, DType::f32);
  REQUIRE(t.nbytes() == bits.size() * 4);
  if (!bits.empty()) std::memcpy(t.raw_data(), bits.data(), t.nbytes());
  return t;
}

// The raw bytes of a tensor's elements in row-major order.
std::string bytes_of(const Tensor& t) {
  Tensor c = t.contiguous();
  if (c.nbytes() == 0) return {};
  return std::string(static_cast<const char*>(c.raw_data()), c.nbytes());
}

// The address range [first, second) of the mapping of `path` in this process, or (0, 0).
std::pair<uintptr_t, uintptr_t> mapping_of(const std::string& path) {
  std::string wanted = fs::canonical(path).string();
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    size_t slash = line.find('/');
    if (slash == std::string::npos || line.substr(slash) != wanted) continue;
    size_t dash = line.find('-');
    return {std::stoull(line.substr(0, dash), nullptr, 16),
            std::stoull(line.substr(dash + 1, line.find(' ') - dash - 1), nullptr, 16)};
  }
  return {0, 0};
}

// Lowers the soft file size limit for its lifetime; writes past it fail with EFBIG.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    REQUIRE(getrlimit(RLIMIT_FSIZE, &saved_) == 0);
    old_handler_ = signal(SIGXFSZ, SIG_IGN);
    rlimit lowered = saved_;
    lowered.rlim_cur = bytes;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &lowered) == 0);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_{};
  void (*old_handler_)(int);
};

// One tensor of every dtype with awkward values, plus a scalar and zero-size tensors.
NamedTensors every_dtype() {
  return {
      {"f32", from_bits32({2, 3}, {0x00000000u, 0x80000000u, 0x3f800000u, 0x00000001u, 0x7f800000u, 0x7fc00001u})},
      {"bf16", from_bits16({4}, DType::bf16, {0x3f80, 0xc049, 0x0001, 0xff81})},
      {"f16", from_bits16({2, 2}, DType::f16, {0x3c00, 0x8001, 0x7bff, 0x7e01})},
      {"i32", Tensor::from_vector<int32_t>({3}, {INT32_MIN, -1, INT32_MAX})},
      {"u8", Tensor::from_vector<uint8_t>({5}, {0, 1, 127, 128, 255})},
      {"scalar", Tensor::from_vector<float>({}, {2.5f})},
      {"empty_f32", Tensor::empty({0, 3}, DType::f32)},
      {"empty_u8", Tensor::empty({2, 0, 5}, DType::u8)},
      {"한국어.weight", Tensor::from_vector<int32_t>({1, 2}, {7, -7})},
  };
}

void require_same_tensors(const NamedTensors& expected, const SafetensorsFile& file) {
  REQUIRE(file.names().size() == expected.size());
  for (const auto& [name, tensor] : expected) {
    INFO("tensor " << name);
    REQUIRE(file.contains(name));
    Tensor loaded = file.get(name);
    CHECK(loaded.dtype() == tensor.dtype());
    CHECK(loaded.shape() == tensor.shape());
    CHECK(loaded.is_contiguous());
    CHECK(bytes_of(loaded) == bytes_of(tensor));
    CHECK(file.info(name).dtype == tensor.dtype());
    CHECK(file.info(name).shape == tensor.shape());
  }
}

}  // namespace

TEST_CASE("safetensors round trip of every dtype keeps bit patterns, scalars, zero-size tensors, metadata") {
  TempDir dir;
  std::string path = dir.file("all.safetensors");
  NamedTensors tensors = every_dtype();
  std::map<std::string, std::string> metadata = {{"format", "pt"}, {"설명", "한빛 \"quoted\"\n"}};
  hanvit::save_safetensors(path, tensors, metadata);

  SafetensorsFile file(path);
  require_same_tensors(tensors, file);
  CHECK(file.metadata() == metadata);
  CHECK(file.get("scalar").item() == 2.5);
  CHECK(file.get("scalar").rank() == 0);
  CHECK(file.get("empty_u8").numel() == 0);
  std::vector<std::string> names = file.names();
  CHECK(std::is_sorted(names.begin(), names.end()));
  CHECK(temp_leftovers(dir.path()).empty());

  std::string bytes = read_file(path);
  uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  CHECK(header_length % 8 == 0);
  CHECK((bytes[8 + header_length - 1] == '}' || bytes[8 + header_length - 1] == ' '));

  SECTION("no metadata writes no __metadata__ key") {
    hanvit::save_safetensors(path, tensors);
    CHECK(SafetensorsFile(path).metadata().empty());
    CHECK(read_file(path).find("__metadata__") == std::string::npos);
  }
  SECTION("an empty tensor list is a valid file") {
    hanvit::save_safetensors(path, {});
    CHECK(read_file(path).size() == 16);
    CHECK(SafetensorsFile(path).names().empty());
  }
}

TEST_CASE("safetensors get is zero-copy and keeps the mapping alive") {
  TempDir dir;
  std::string path = dir.file("zero_copy.safetensors");
  hanvit::save_safetensors(path, {{"w", Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4})}});

  Tensor w;
  {
    SafetensorsFile file(path);
    auto [begin, end] = mapping_of(path);
    REQUIRE(begin != 0);
    w = file.get("w");
    auto at = reinterpret_cast<uintptr_t>(w.raw_data());
    CHECK(at >= begin);
    CHECK(at + w.nbytes() <= end);
    CHECK(w.storage()->bytes() == 16);
  }
  CHECK(mapping_of(path).first != 0);  // the tensor holds the mapping
  CHECK(w.to_f64() == std::vector<double>{1, 2, 3, 4});
  CHECK(w.clone().to_f64() == std::vector<double>{1, 2, 3, 4});
  w = Tensor();
  CHECK(mapping_of(path).first == 0);
}

TEST_CASE("safetensors tensors at unaligned offsets are copied into aligned memory") {
  // A U8 tensor of 1 byte first puts the F32 and I32 data at odd addresses.
  std::string header = "{" + entry("a_u8", "U8", "[1]", 0, 1) + "," + entry("b_f32", "F32", "[2]", 1, 9) + "," +
                       entry("c_bf16", "BF16", "[1]", 9, 11) + "," + entry("d_i32", "I32", "[1]", 11, 15) + "}";
  header.append((8 - header.size() % 8) % 8, ' ');
  float values[2] = {1.5f, -2.0f};
  int32_t integer = -123456;
  uint16_t bf16 = 0x4049;
  std::string data = "\x07" + std::string(reinterpret_cast<const char*>(values), 8) +
                     std::string(reinterpret_cast<const char*>(&bf16), 2) +
                     std::string(reinterpret_cast<const char*>(&integer), 4);
  TempDir dir;
  std::string path = dir.file("unaligned.safetensors");
  write_file(path, st_bytes(header, data));

  SafetensorsFile file(path);
  auto [begin, end] = mapping_of(path);
  Tensor f = file.get("b_f32");
  CHECK(reinterpret_cast<uintptr_t>(f.raw_data()) % 4 == 0);
  CHECK_FALSE((reinterpret_cast<uintptr_t>(f.raw_data()) >= begin && reinterpret_cast<uintptr_t>(f.raw_data()) < end));
  CHECK(f.to_f64() == std::vector<double>{1.5, -2.0});
  Tensor b = file.get("c_bf16");
  CHECK(reinterpret_cast<uintptr_t>(b.raw_data()) % 2 == 0);
  CHECK(b.item() == Approx(3.140625));
  CHECK(file.get("d_i32").item() == -123456);
  CHECK(file.get("a_u8").item() == 7);
}

TEST_CASE("safetensors reference fixture written by the Python library reads exactly and rewrites byte for byte") {
  std::string data_dir = std::string(HANVIT_TEST_DATA) + "/safetensors";
  std::string path = data_dir + "/reference.safetensors";
  nlohmann::json expected = nlohmann::json::parse(read_file(data_dir + "/reference.json"));
  SafetensorsFile file(path);

  CHECK(file.names().size() == expected["tensors"].size());
  for (const auto& [name, record] : expected["tensors"].items()) {
    INFO("tensor " << name);
    REQUIRE(file.contains(name));
    Tensor t = file.get(name);
    CHECK(hanvit::dtype_safetensors_name(t.dtype()) == record["dtype"].get<std::string>());
    CHECK(t.shape() == record["shape"].get<Shape>());
    std::string bytes = bytes_of(t);
    switch (t.dtype()) {
      case DType::f32: {
        std::vector<uint32_t> bits(static_cast<size_t>(t.numel()));
        if (!bits.empty()) std::memcpy(bits.data(), bytes.data(), bytes.size());
        CHECK(bits == record["bits"].get<std::vector<uint32_t>>());
        break;
      }
      case DType::bf16:
      case DType::f16: {
        std::vector<uint16_t> bits(static_cast<size_t>(t.numel()));
        if (!bits.empty()) std::memcpy(bits.data(), bytes.data(), bytes.size());
        CHECK(bits == record["bits"].get<std::vector<uint16_t>>());
        break;
      }
      case DType::i32:
      case DType::u8: {
        std::vector<double> values = t.to_f64();
        CHECK(values == record["values"].get<std::vector<double>>());
        break;
      }
    }
  }
  CHECK(file.get("norm.bf16").to_f64()[1] == -2.0);
  CHECK(file.get("attn.f16").to_f64()[1] == -65504.0);
  CHECK(file.get("scale").item() == 3.5);
  CHECK(file.metadata() == expected["metadata"].get<std::map<std::string, std::string>>());

  NamedTensors tensors;
  for (const std::string& name : file.names()) tensors.emplace_back(name, file.get(name));
  TempDir dir;
  std::string copy = dir.file("copy.safetensors");
  hanvit::save_safetensors(copy, tensors, file.metadata());
  CHECK(read_file(copy) == read_file(path));
}

TEST_CASE("safetensors rejects bad length prefixes") {
  SECTION("empty file") { require_rejected("", "file is 0 bytes, shorter than the 8-byte header length"); }
  SECTION("file shorter than 8 bytes") {
    require_rejected(std::string("\x02\0\0\0\0", 5), "file is 5 bytes, shorter than");
  }
  SECTION("header length larger than the file") {
    require_rejected(length_prefix(100) + "{}", "header length 100 runs past the end of the file (10 bytes)");
  }
  SECTION("absurd header length") {
    require_rejected(length_prefix(200'000'000) + "{}", "header length 200000000 exceeds the limit");
    require_rejected(length_prefix(UINT64_MAX) + "{}", "exceeds the limit");
  }
  SECTION("zero header length") { require_rejected(length_prefix(0), "header is not valid JSON"); }
}

TEST_CASE("safetensors rejects headers that are not a duplicate-free UTF-8 JSON object") {
  SECTION("not JSON") { require_rejected(st_bytes("{\"a\": "), "header is not valid JSON"); }
  SECTION("JSON but not an object") { require_rejected(st_bytes("[1, 2]"), "header is not a JSON object"); }
  SECTION("invalid UTF-8 byte") { require_rejected(st_bytes("{\"\xff\": 1}"), "header is not valid UTF-8"); }
  SECTION("overlong UTF-8") {
    require_rejected(st_bytes("{\"\xc0\xaf\": 1}"), "header is not valid UTF-8 (ill-formed byte at offset 2)");
  }
  SECTION("UTF-8 surrogate") { require_rejected(st_bytes("{\"\xed\xa0\x80\": 1}"), "header is not valid UTF-8"); }
  SECTION("truncated UTF-8 sequence") { require_rejected(st_bytes("{\"\xed\x95"), "header is not valid UTF-8"); }
  SECTION("duplicate tensor names") {
    require_rejected(st_bytes("{" + entry("a", "U8", "[1]", 0, 1) + "," + entry("a", "U8", "[1]", 1, 2) + "}", "xy"),
                     "header has duplicate key 'a'");
  }
  SECTION("duplicate field inside an entry") {
    require_rejected(st_bytes(R"({"a":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}})", "x"),
                     "header has duplicate key 'dtype'");
  }
  SECTION("JSON nested deeper than 128 levels (which would overflow the stack when destroyed)") {
    require_rejected(st_bytes("{\"a\":" + std::string(1'000'000, '[')), "header nests JSON deeper than 128 levels");
    require_rejected(st_bytes("{\"a\":" + std::string(129, '[') + std::string(129, ']') + "}"),
                     "header nests JSON deeper than 128 levels");
  }
  SECTION("__metadata__ not an object") {
    require_rejected(st_bytes(R"({"__metadata__":"x"})"), "'__metadata__' is not an object");
  }
  SECTION("__metadata__ value not a string") {
    require_rejected(st_bytes(R"({"__metadata__":{"k":1}})"), "'__metadata__' value of key 'k' is not a string");
  }
}

TEST_CASE("safetensors rejects ill-formed tensor entries") {
  SECTION("entry not an object") { require_rejected(st_bytes(R"({"w":[1]})"), "tensor 'w': entry is not an object"); }
  SECTION("missing dtype") {
    require_rejected(st_bytes(R"({"w":{"shape":[1],"data_offsets":[0,1]}})", "x"), "tensor 'w': missing field 'dtype'");
  }
  SECTION("missing shape") {
    require_rejected(st_bytes(R"({"w":{"dtype":"U8","data_offsets":[0,1]}})", "x"),
                     "tensor 'w': missing field 'shape'");
  }
  SECTION("missing data_offsets") {
    require_rejected(st_bytes(R"({"w":{"dtype":"U8","shape":[1]}})", "x"), "tensor 'w': missing field 'data_offsets'");
  }
  SECTION("dtype not a string") {
    require_rejected(st_bytes(R"({"w":{"dtype":8,"shape":[1],"data_offsets":[0,1]}})", "x"),
                     "tensor 'w': field 'dtype' is not a string");
  }
  SECTION("unknown dtype") {
    require_rejected(st_bytes("{" + entry("w", "Q4", "[1]", 0, 1) + "}", "x"),
                     "tensor 'w': unknown or unsupported dtype 'Q4'");
  }
  SECTION("dtype of the format that Hanvit does not support") {
    require_rejected(st_bytes("{" + entry("w", "F64", "[1]", 0, 8) + "}", "12345678"), "unsupported dtype 'F64'");
  }
  SECTION("lower-case dtype") {
    require_rejected(st_bytes("{" + entry("w", "f32", "[1]", 0, 4) + "}", "1234"), "unsupported dtype 'f32'");
  }
  SECTION("shape not an array") {
    require_rejected(st_bytes("{" + entry("w", "U8", "4", 0, 4) + "}", "1234"),
                     "tensor 'w': field 'shape' is not an array");
  }
  SECTION("negative shape dim") {
    require_rejected(st_bytes("{" + entry("w", "U8", "[2,-2]", 0, 4) + "}", "1234"),
                     "tensor 'w': shape dim 1 is not a non-negative integer but -2");
  }
  SECTION("fractional shape dim") {
    require_rejected(st_bytes("{" + entry("w", "U8", "[2.5]", 0, 4) + "}", "1234"),
                     "shape dim 0 is not a non-negative integer");
  }
  SECTION("float shape dim with an integer value") {
    require_rejected(st_bytes("{" + entry("w", "U8", "[4.0]", 0, 4) + "}", "1234"),
                     "shape dim 0 is not a non-negative integer");
  }
  SECTION("string shape dim") {
    require_rejected(st_bytes("{" + entry("w", "U8", "[\"4\"]", 0, 4) + "}", "1234"),
                     "shape dim 0 is not a non-negative integer");
  }
  SECTION("shape whose element count overflows") {
    require_rejected(st_bytes("{" + entry("w", "U8", "[4611686018427387904,4]", 0, 0) + "}"), "has too many elements");
  }
  SECTION("shape whose byte count overflows") {
    require_rejected(st_bytes("{" + entry("w", "F32", "[4611686018427387904]", 0, 0) + "}"), "has too many bytes");
  }
  SECTION("data_offsets of the wrong arity or type") {
    for (const char* offsets : {"[0]", "[0,4,8]", "[0,\"4\"]", "[-1,4]", "[0,4.5]", "\"0,4\"", "{}"}) {
      INFO(offsets);
      require_rejected(
          st_bytes(std::string(R"({"w":{"dtype":"U8","shape":[4],"data_offsets":)") + offsets + "}}", "1234"),
          "tensor 'w': field 'data_offsets' is not an array of 2 non-negative integers");
    }
  }
  SECTION("data_offsets begin after end") {
    require_rejected(st_bytes("{" + entry("w", "U8", "[4]", 4, 0) + "}", "1234"),
                     "tensor 'w': data_offsets [4, 0] begin after they end");
  }
  SECTION("shape times dtype size differs from the byte length") {
    require_rejected(st_bytes("{" + entry("w", "F32", "[2,2]", 0, 12) + "}", std::string(12, 'x')),
                     "tensor 'w': shape (2,2) of F32 needs 16 bytes but data_offsets [0, 12) hold 12");
  }
}

TEST_CASE("safetensors rejects data sections that the tensors do not tile exactly") {
  SECTION("offsets past the end of the data section (truncated file)") {
    require_rejected(st_bytes("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 8, 16) + "}",
                              std::string(12, 'x')),
                     "tensor 'b': data_offsets [8, 16) run past the end of the data section (12 bytes");
  }
  SECTION("overlapping tensors") {
    require_rejected(st_bytes("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}",
                              std::string(12, 'x')),
                     "tensors 'a' [0, 8) and 'b' [4, 12) overlap");
  }
  SECTION("identical ranges") {
    require_rejected(st_bytes("{" + entry("a", "U8", "[4]", 0, 4) + "," + entry("b", "U8", "[4]", 0, 4) + "}", "1234"),
                     "tensors 'a' [0, 4) and 'b' [0, 4) overlap");
  }
  SECTION("a zero-size tensor inside another tensor") {
    require_rejected(st_bytes("{" + entry("a", "U8", "[4]", 0, 4) + "," + entry("z", "U8", "[0]", 2, 2) + "}", "1234"),
                     "overlap");
  }
  SECTION("a hole between tensors") {
    require_rejected(st_bytes("{" + entry("a", "U8", "[4]", 0, 4) + "," + entry("b", "U8", "[4]", 8, 12) + "}",
                              std::string(12, 'x')),
                     "bytes [4, 8) of the data section belong to no tensor (a hole before tensor 'b')");
  }
  SECTION("a hole at the start") {
    require_rejected(st_bytes("{" + entry("a", "U8", "[4]", 4, 8) + "}", std::string(8, 'x')),
                     "bytes [0, 4) of the data section belong to no tensor");
  }
  SECTION("trailing garbage after the last tensor") {
    require_rejected(st_bytes("{" + entry("a", "U8", "[4]", 0, 4) + "}", "1234garbage"),
                     "7 trailing bytes after the last tensor's data");
  }
  SECTION("data but no tensors") { require_rejected(st_bytes("{}", "x"), "1 trailing bytes"); }
}

TEST_CASE("safetensors accepts valid but unusual layouts") {
  TempDir dir;
  std::string path = dir.file("ok.safetensors");
  SECTION("tensors listed out of offset order, padding spaces, zero-size tensors at boundaries") {
    std::string header = "  {" + entry("z_first", "U8", "[2]", 0, 2) + "," + entry("a_second", "U8", "[1,3]", 2, 5) +
                         "," + entry("e0", "F32", "[0,7]", 0, 0) + "," + entry("e5", "BF16", "[]", 5, 7) + "," +
                         entry("end", "I32", "[3,0]", 7, 7) + "}     ";
    write_file(path, st_bytes(header, "ABCDE\x80\x3f"));
    SafetensorsFile file(path);
    CHECK(file.names() == std::vector<std::string>{"a_second", "e0", "e5", "end", "z_first"});
    CHECK(bytes_of(file.get("z_first")) == "AB");
    CHECK(bytes_of(file.get("a_second")) == "CDE");
    CHECK(file.get("e0").shape() == Shape{0, 7});
    CHECK(file.get("e5").item() == 1.0);
    CHECK(file.get("end").numel() == 0);
  }
  SECTION("only metadata") {
    write_file(path, st_bytes(R"({"__metadata__":{"a":"b"}})"));
    SafetensorsFile file(path);
    CHECK(file.names().empty());
    CHECK(file.metadata().at("a") == "b");
  }
  SECTION("unknown extra fields in an entry are ignored, as by the reference") {
    write_file(path, st_bytes(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"note":"x"}})", "q"));
    CHECK(bytes_of(SafetensorsFile(path).get("w")) == "q");
  }
}

TEST_CASE("safetensors open and lookup errors name the file") {
  TempDir dir;
  SECTION("missing file") {
    std::string path = dir.file("missing.safetensors");
    CHECK_THAT(message_of<std::runtime_error>([&] { SafetensorsFile file(path); }),
               Contains(path) && Contains("No such file"));
  }
  SECTION("a folder instead of a file") {
    CHECK_THAT(message_of<std::runtime_error>([&] { SafetensorsFile file(dir.path().string()); }),
               Contains("not a regular file"));
  }
  SECTION("unknown tensor name") {
    std::string path = dir.file("one.safetensors");
    hanvit::save_safetensors(path, {{"a", Tensor::zeros({1})}});
    SafetensorsFile file(path);
    CHECK_FALSE(file.contains("b"));
    CHECK_THAT(message_of<std::invalid_argument>([&] { file.get("b"); }),
               Contains(path) && Contains("no tensor named 'b'"));
    CHECK_THAT(message_of<std::invalid_argument>([&] { file.info("b"); }), Contains("no tensor named 'b'"));
  }
}

TEST_CASE("safetensors save writes non-contiguous tensors contiguously") {
  TempDir dir;
  std::string path = dir.file("views.safetensors");
  Tensor base = Tensor::from_vector<float>({2, 3}, {0, 1, 2, 3, 4, 5});
  Tensor row = Tensor::from_vector<int32_t>({1, 3}, {7, 8, 9});
  hanvit::save_safetensors(path, {{"transposed", base.transpose(0, 1)},
                                  {"strided", base.slice(1, 0, 3, 2)},
                                  {"expanded", row.expand({2, 3})},
                                  {"bf16_view", base.to(DType::bf16).transpose(0, 1)}});
  SafetensorsFile file(path);
  CHECK(file.get("transposed").shape() == Shape{3, 2});
  CHECK(file.get("transposed").to_f64() == std::vector<double>{0, 3, 1, 4, 2, 5});
  CHECK(file.get("strided").to_f64() == std::vector<double>{0, 2, 3, 5});
  CHECK(file.get("expanded").to_f64() == std::vector<double>{7, 8, 9, 7, 8, 9});
  CHECK(file.get("bf16_view").to_f64() == std::vector<double>{0, 3, 1, 4, 2, 5});
}

TEST_CASE("safetensors save rejects bad input before touching the file") {
  TempDir dir;
  std::string path = dir.file("model.safetensors");
  hanvit::save_safetensors(path, {{"old", Tensor::full({4}, 1.0)}});
  std::string old_bytes = read_file(path);
  Tensor ok = Tensor::zeros({2});

  auto require_invalid = [&](const NamedTensors& tensors, const std::string& problem,
                             const std::map<std::string, std::string>& metadata = {}) {
    std::string message = message_of<std::invalid_argument>([&] { hanvit::save_safetensors(path, tensors, metadata); });
    CHECK_THAT(message, Contains(path) && Contains(problem));
    CHECK(read_file(path) == old_bytes);
    CHECK(temp_leftovers(dir.path()).empty());
  };
  SECTION("an undefined tensor midway through the list") {
    require_invalid({{"a", ok}, {"b", Tensor()}, {"c", ok}}, "tensor 'b' is undefined");
  }
  SECTION("duplicate names") { require_invalid({{"a", ok}, {"a", ok}}, "duplicate tensor name 'a'"); }
  SECTION("reserved name") { require_invalid({{"__metadata__", ok}}, "'__metadata__' is reserved"); }
  SECTION("name not valid UTF-8") { require_invalid({{"bad\xff", ok}}, "tensor name is not valid UTF-8"); }
  SECTION("metadata not valid UTF-8") {
    require_invalid({{"a", ok}}, "metadata key or value is not valid UTF-8", {{"k", "\xc3"}});
  }
  SECTION("a device tensor") {
    auto storage = hanvit::Storage::wrap(nullptr, 8, hanvit::Device::cuda(0), {});
    require_invalid({{"gpu", Tensor(storage, {2}, DType::f32)}}, "tensor 'gpu' f32(2) is on cuda:0");
  }
}

TEST_CASE("safetensors save is atomic when the write fails") {
  TempDir dir;
  std::string path = dir.file("model.safetensors");
  hanvit::save_safetensors(path, {{"old", Tensor::full({4}, 1.0)}}, {{"version", "1"}});
  std::string old_bytes = read_file(path);

  SECTION("overwriting succeeds and leaves no temp file") {
    hanvit::save_safetensors(path, {{"new", Tensor::full({8}, 2.0)}});
    CHECK(SafetensorsFile(path).names() == std::vector<std::string>{"new"});
    CHECK(temp_leftovers(dir.path()).empty());
  }
  SECTION("the disk fills up in the middle of the data") {
    Tensor big = Tensor::full({1 << 20}, 3.0);  // 4 MiB, over the 64 KiB limit below
    std::string message;
    {
      FileSizeLimit limit(rlim_t{64} * 1024);
      message = message_of<std::runtime_error>([&] { hanvit::save_safetensors(path, {{"big", big}}); });
    }
    CHECK_THAT(message, Contains(path) && Contains("write to"));
    CHECK(read_file(path) == old_bytes);
    CHECK(temp_leftovers(dir.path()).empty());
  }
  SECTION("the target is a folder, so the final rename fails") {
    std::string folder = dir.file("taken");
    fs::create_directories(fs::path(folder) / "inside");
    std::string message = message_of<std::runtime_error>([&] {
      hanvit::save_safetensors(folder, {{"x", Tensor::zeros({1})}});
    });
    CHECK_THAT(message, Contains(folder) && Contains("rename"));
    CHECK(fs::is_directory(fs::path(folder) / "inside"));
    CHECK(temp_leftovers(dir.path()).empty());
  }
  SECTION("a path in a folder that does not exist") {
    std::string missing = dir.file("no/such/model.safetensors");
    std::string message = message_of<std::runtime_error>([&] {
      hanvit::save_safetensors(missing, {{"x", Tensor::zeros({1})}});
    });
    CHECK_THAT(message, Contains(missing) && Contains("cannot create"));
    CHECK_FALSE(fs::exists(dir.file("no")));
  }
}

TEST_CASE("safetensors sharded folder round trip") {
  TempDir dir;
  std::string folder = dir.file("model");
  NamedTensors tensors = {
      {"layers.0.weight", Tensor::full({64}, 1.0)},             // 256 bytes
      {"layers.0.bias", Tensor::full({16}, 2.0, DType::bf16)},  // 32 bytes
      {"layers.1.weight", Tensor::full({64}, 3.0)},             // 256 bytes: new shard
      {"huge", Tensor::full({200}, 4.0)},                       // 800 bytes: own shard, over the limit
      {"ids", Tensor::from_vector<int32_t>({2}, {5, 6})},       // new shard after the huge one
      {"empty", Tensor::empty({0}, DType::u8)},
  };
  hanvit::save_safetensors_sharded(folder, tensors, 300, {{"format", "pt"}});

  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(folder)) files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  CHECK(files == std::vector<std::string>{"model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors",
                                          "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors",
                                          "model.safetensors.index.json"});
  nlohmann::json index = nlohmann::json::parse(read_file(folder + "/model.safetensors.index.json"));
  CHECK(index["metadata"]["total_size"] == 256 + 32 + 256 + 800 + 8);
  CHECK(index["weight_map"]["layers.0.bias"] == "model-00001-of-00004.safetensors");
  CHECK(index["weight_map"]["layers.1.weight"] == "model-00002-of-00004.safetensors");
  CHECK(index["weight_map"]["huge"] == "model-00003-of-00004.safetensors");
  CHECK(index["weight_map"]["empty"] == "model-00004-of-00004.safetensors");

  SafetensorsFolder loaded(folder);
  CHECK(loaded.files().size() == 4);
  CHECK(loaded.names().size() == tensors.size());
  for (const auto& [name, tensor] : tensors) {
    INFO(name);
    REQUIRE(loaded.contains(name));
    CHECK(loaded.get(name).to_f64() == tensor.to_f64());
    CHECK(loaded.info(name).shape == tensor.shape());
  }
  CHECK(loaded.metadata().at("total_size") == "1352");
  CHECK(loaded.files()[0].metadata().at("format") == "pt");
  CHECK_THAT(message_of<std::invalid_argument>([&] { loaded.get("nope"); }),
             Contains(folder) && Contains("no tensor named 'nope'"));

  SECTION("a sharded save with fewer shards removes the old ones") {
    hanvit::save_safetensors_sharded(folder, tensors, 1000);
    std::vector<std::string> after;
    for (const auto& entry : fs::directory_iterator(folder)) after.push_back(entry.path().filename().string());
    std::sort(after.begin(), after.end());
    CHECK(after == std::vector<std::string>{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                                            "model.safetensors.index.json"});
    CHECK(SafetensorsFolder(folder).get("huge").to_f64() == tensors[3].second.to_f64());
  }
  SECTION("a save that fits one file replaces the shards with model.safetensors") {
    write_file(folder + "/config.json", "{}");
    hanvit::save_safetensors_sharded(folder, {{"small", Tensor::zeros({2})}}, 300);
    std::vector<std::string> after;
    for (const auto& entry : fs::directory_iterator(folder)) after.push_back(entry.path().filename().string());
    std::sort(after.begin(), after.end());
    CHECK(after == std::vector<std::string>{"config.json", "model.safetensors"});
    SafetensorsFolder single(folder);
    CHECK(single.names() == std::vector<std::string>{"small"});
    CHECK(single.files().size() == 1);

    SECTION("and a sharded save after it removes model.safetensors again") {
      hanvit::save_safetensors_sharded(folder, tensors, 1000);
      CHECK_FALSE(fs::exists(folder + "/model.safetensors"));
      CHECK(fs::exists(folder + "/model-00002-of-00002.safetensors"));
      CHECK_FALSE(fs::exists(folder + "/model-00003-of-00004.safetensors"));
      CHECK(SafetensorsFolder(folder).names().size() == tensors.size());
    }
  }
  SECTION("bad input is rejected before anything is written") {
    CHECK_THAT(message_of<std::invalid_argument>([&] { hanvit::save_safetensors_sharded(folder, tensors, 0); }),
               Contains("max_shard_bytes must be positive"));
    CHECK_THAT(message_of<std::invalid_argument>([&] {
                 hanvit::save_safetensors_sharded(folder, {{"a", Tensor()}}, 100);
               }),
               Contains(folder) && Contains("tensor 'a' is undefined"));
    CHECK(SafetensorsFolder(folder).files().size() == 4);
  }
}

TEST_CASE("safetensors folder with a single model.safetensors") {
  TempDir dir;
  hanvit::save_safetensors(dir.file("model.safetensors"), every_dtype(), {{"format", "pt"}});
  SafetensorsFolder folder(dir.path().string());
  CHECK(folder.names().size() == every_dtype().size());
  CHECK(folder.metadata().at("format") == "pt");
  CHECK(bytes_of(folder.get("bf16")) == bytes_of(every_dtype()[1].second));
}

TEST_CASE("safetensors folder rejects broken indexes and shards") {
  TempDir dir;
  std::string folder = dir.path().string();
  std::string index_path = dir.file("model.safetensors.index.json");
  hanvit::save_safetensors(dir.file("part-a.safetensors"), {{"a", Tensor::zeros({2})}});
  hanvit::save_safetensors(dir.file("part-b.safetensors"), {{"b", Tensor::zeros({3})}});

  auto require_index_rejected = [&](const std::string& index_text, const std::string& problem) {
    write_file(index_path, index_text);
    std::string message = message_of<std::invalid_argument>([&] { SafetensorsFolder loaded(folder); });
    CHECK_THAT(message, Contains(problem));
    return message;
  };
  SECTION("a valid index loads") {
    write_file(index_path,
               R"({"metadata":{"total_size":20},"weight_map":{"a":"part-a.safetensors","b":"part-b.safetensors"}})");
    SafetensorsFolder loaded(folder);
    CHECK(loaded.names() == std::vector<std::string>{"a", "b"});
    CHECK(loaded.get("b").numel() == 3);
  }
  SECTION("neither file") {
    CHECK_THAT(message_of<std::invalid_argument>([&] { SafetensorsFolder loaded(folder); }),
               Contains(folder) && Contains("has neither model.safetensors nor model.safetensors.index.json"));
  }
  SECTION("not a folder") {
    CHECK_THAT(message_of<std::invalid_argument>([&] { SafetensorsFolder loaded(dir.file("part-a.safetensors")); }),
               Contains("not a directory"));
  }
  SECTION("missing shard") {
    std::string message =
        require_index_rejected(R"({"weight_map":{"a":"part-a.safetensors","c":"part-c.safetensors"}})",
                               "shard 'part-c.safetensors' (holding tensor 'c') does not exist");
    CHECK_THAT(message, Contains(index_path));
  }
  SECTION("name mapped to the wrong shard") {
    std::string message =
        require_index_rejected(R"({"weight_map":{"a":"part-b.safetensors"}})",
                               "tensor 'a' is mapped to shard 'part-b.safetensors', which does not contain it");
    CHECK_THAT(message, Contains(index_path));
  }
  SECTION("shard outside the folder") {
    require_index_rejected(R"({"weight_map":{"a":"../part-a.safetensors"}})", "not a file name inside the folder");
  }
  SECTION("shard name not a string") { require_index_rejected(R"({"weight_map":{"a":1}})", "tensor 'a' maps to 1"); }
  SECTION("missing weight_map") { require_index_rejected(R"({"metadata":{}})", "missing \"weight_map\""); }
  SECTION("weight_map not an object") {
    require_index_rejected(R"({"weight_map":[]})", "\"weight_map\" is not an object");
  }
  SECTION("metadata not an object") {
    require_index_rejected(R"({"metadata":1,"weight_map":{}})", "\"metadata\" is not an object");
  }
  SECTION("index with a duplicate tensor name") {
    require_index_rejected(R"({"weight_map":{"a":"part-a.safetensors","a":"part-b.safetensors"}})",
                           "has duplicate key 'a'");
  }
  SECTION("index nested too deep") {
    require_index_rejected("{\"metadata\":" + std::string(100'000, '['), "nests JSON deeper than 128 levels");
  }
  SECTION("index not JSON") { require_index_rejected("{\"weight_map\":", "not valid JSON"); }
  SECTION("index not an object") { require_index_rejected("[]", "not a JSON object"); }
  SECTION("a malformed shard is reported with the shard's path") {
    write_file(dir.file("part-b.safetensors"), "short");
    write_file(index_path, R"({"weight_map":{"b":"part-b.safetensors"}})");
    CHECK_THAT(message_of<std::invalid_argument>([&] { SafetensorsFolder loaded(folder); }),
               Contains(dir.file("part-b.safetensors")) && Contains("shorter than the 8-byte header length"));
  }
}
