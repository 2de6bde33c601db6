// Tests of the INT8 calibration statistics: histograms, the entropy, min-max
// and percentile calibrators, and the TensorRT-format calibration cache.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "builder/calibration.h"

using namespace engine::opt;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

/// Deterministic pseudo-random uniform floats in [0, 1) (64-bit LCG, Knuth's
/// MMIX constants), so the tests do not depend on <random>'s distributions.
class Lcg {
 public:
  explicit Lcg(uint64_t seed) : state_(seed) {}
  double Uniform() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state_ >> 11) * (1.0 / 9007199254740992.0);
  }
  /// Approximately standard normal: Irwin-Hall sum of 12 uniforms minus 6.
  double Normal() {
    double s = 0;
    for (int i = 0; i < 12; ++i) s += Uniform();
    return s - 6.0;
  }

 private:
  uint64_t state_;
};

int64_t Sum(const std::vector<int64_t>& v) {
  int64_t s = 0;
  for (int64_t x : v) s += x;
  return s;
}

/// Histogram "A" of the reference comparison (see the Python below): a zero
/// spike, a cubic decay over bins 1..502 and a sparse tail up to bin 2047.
TensorHistogram HistogramA() {
  std::vector<int64_t> b(2048, 0);
  b[0] = 10'000'000;
  for (int64_t j = 1; j < 512; ++j) b[j] = (512 - j) * (512 - j) * (512 - j) / 1000;
  b[600] = 5;
  b[777] = 3;
  b[1000] = 2;
  b[1500] = 1;
  b[2047] = 1;
  auto h = TensorHistogram::FromBins(b, 0.01, 20.475);
  REQUIRE(h.ok());
  return *std::move(h);
}

/// Histogram "B": everything in the first 128 bins, linearly decreasing.
TensorHistogram HistogramB() {
  std::vector<int64_t> b(2048, 0);
  for (int64_t j = 0; j < 128; ++j) b[j] = 1000 - 7 * j;
  auto h = TensorHistogram::FromBins(b, 1.0, 127.6);
  REQUIRE(h.ok());
  return *std::move(h);
}

uint32_t Bits(float f) { return std::bit_cast<uint32_t>(f); }

}  // namespace

TEST_CASE("Calibration algorithm names round-trip, unknown names list the valid ones",
          "[calibration]") {
  for (auto a : {CalibrationAlgorithm::kEntropy, CalibrationAlgorithm::kMinMax,
                 CalibrationAlgorithm::kPercentile}) {
    auto parsed = ParseCalibrationAlgorithm(CalibrationAlgorithmName(a));
    REQUIRE(parsed.ok());
    CHECK(*parsed == a);
  }
  CHECK(std::string(CalibrationAlgorithmName(CalibrationAlgorithm::kEntropy)) == "entropy");
  CHECK(std::string(CalibrationAlgorithmName(CalibrationAlgorithm::kMinMax)) == "minmax");
  CHECK(std::string(CalibrationAlgorithmName(CalibrationAlgorithm::kPercentile)) == "percentile");
  auto bad = ParseCalibrationAlgorithm("kl");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(bad.status().message(), "'kl'"));
  CHECK(absl::StrContains(bad.status().message(), "entropy, minmax, percentile"));
}

TEST_CASE("TensorHistogram bins |x| with width amax/bins, skips NaN and Inf", "[calibration]") {
  TensorHistogram h(8);
  CHECK(h.num_bins() == 8);
  CHECK(h.bin_width() == 0);
  CHECK(h.count() == 0);
  CHECK(h.amax() == 0);
  CHECK(Sum(h.bins()) == 0);

  // Zeros before the range is known land in bin 0.
  const std::vector<float> zeros(5, 0.0f);
  h.Add(zeros.data(), static_cast<int64_t>(zeros.size()));
  CHECK(h.count() == 5);
  CHECK(h.bin_width() == 0);
  CHECK(h.bins()[0] == 5);

  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x = {-8.0f, 1.0f, 0.5f, -3.9f, nan, inf, -inf, 7.99f};
  h.Add(x.data(), static_cast<int64_t>(x.size()));
  CHECK(h.bin_width() == 1.0);  // 8 / 8
  CHECK(h.amax() == 8.0);
  CHECK(h.count() == 10);
  CHECK(h.nonfinite_count() == 3);
  // |x| = 8 (top edge -> last bin), 1, 0.5, 3.9, 7.99, plus the 5 zeros.
  CHECK(h.bins() == std::vector<int64_t>{6, 1, 0, 1, 0, 0, 0, 2});
  CHECK(Sum(h.bins()) == h.count());
  CHECK(h.range() == 8.0);

  h.Add(nullptr, 3);
  h.Add(x.data(), 0);
  CHECK(h.count() == 10);
  CHECK(MinMaxAmax(h) == 8.0);
  CHECK(ComputeAmax(h, CalibrationAlgorithm::kMinMax) == 8.0);
}

TEST_CASE("TensorHistogram growth merges bins by an integer factor, preserving counts",
          "[calibration]") {
  Lcg rng(7);
  std::vector<float> first(1000), second(1000);
  for (float& v : first) v = static_cast<float>(rng.Uniform() * 2.0 - 1.0);
  first[0] = 1.0f;  // amax of the first batch exactly 1
  for (float& v : second) v = static_cast<float>(rng.Uniform() * 7.0 - 3.5);
  second[0] = -3.5f;  // 3.5 / 1.0 -> factor ceil(3.5) = 4

  TensorHistogram h(64);
  h.Add(first.data(), 1000);
  CHECK(h.bin_width() == 1.0 / 64);
  const std::vector<int64_t> before = h.bins();
  h.Add(second.data(), 1000);
  CHECK(h.bin_width() == 4.0 / 64);
  CHECK(h.range() == 4.0);
  CHECK(h.amax() == 3.5);
  CHECK(h.count() == 2000);
  CHECK(Sum(h.bins()) == 2000);

  // Expected: the old bins summed in groups of 4, plus the second batch
  // binned at the new width.
  std::vector<int64_t> expected(64, 0);
  for (size_t j = 0; j < 64; ++j) expected[j / 4] += before[j];
  TensorHistogram second_only(64);
  std::vector<float> second_padded = second;
  second_padded.push_back(4.0f);  // pins the width of second_only at 4/64
  second_only.Add(second_padded.data(), static_cast<int64_t>(second_padded.size()));
  REQUIRE(second_only.bin_width() == h.bin_width());
  for (size_t j = 0; j < 64; ++j) expected[j] += second_only.bins()[j];
  expected[63] -= 1;  // the pinning value
  CHECK(h.bins() == expected);

  SECTION("a huge jump puts all earlier data in bin 0") {
    const float tiny = 1e-30f, huge = 1e30f;
    TensorHistogram g(2048);
    g.Add(&tiny, 1);
    g.Add(&huge, 1);
    CHECK(g.count() == 2);
    CHECK(g.amax() == static_cast<double>(huge));
    CHECK(g.bins()[0] == 1);
    CHECK(g.bins()[2047] == 1);
    CHECK(g.range() >= static_cast<double>(huge));
  }
}

TEST_CASE("TensorHistogram::Merge combines per-thread histograms", "[calibration]") {
  Lcg rng(11);
  auto batch = [&](double scale) {
    std::vector<float> v(500);
    for (float& x : v) x = static_cast<float>(rng.Normal() * scale);
    return v;
  };
  const std::vector<float> x = batch(1.0), y = batch(0.5), z = batch(5.0);
  const float nan = std::numeric_limits<float>::quiet_NaN();

  // Two threads that saw the same first batch: exact.
  TensorHistogram t1(256), t2(256), serial(256);
  t1.Add(x.data(), 500);
  t1.Add(y.data(), 500);
  t1.Add(&nan, 1);
  t2.Add(x.data(), 500);
  t2.Add(z.data(), 500);
  serial.Add(x.data(), 500);
  serial.Add(y.data(), 500);
  serial.Add(x.data(), 500);
  serial.Add(z.data(), 500);
  TensorHistogram x_only(256);
  x_only.Add(x.data(), 500);
  REQUIRE(t1.bin_width() == x_only.bin_width());  // y did not grow the range
  REQUIRE(t2.bin_width() > t1.bin_width());
  t1.Merge(t2);
  CHECK(t1.count() == 2000);
  CHECK(t1.nonfinite_count() == 1);
  CHECK(t1.amax() == serial.amax());
  CHECK(t1.bin_width() == serial.bin_width());
  CHECK(t1.bins() == serial.bins());

  // Merging into an empty histogram copies; zeros-only histograms add to bin 0.
  TensorHistogram empty(256);
  empty.Merge(serial);
  CHECK(empty.bins() == serial.bins());
  CHECK(empty.amax() == serial.amax());
  TensorHistogram only_zeros(256);
  const std::vector<float> zeros(7, 0.0f);
  only_zeros.Add(zeros.data(), 7);
  TensorHistogram copy = serial;
  copy.Merge(only_zeros);
  CHECK(copy.count() == serial.count() + 7);
  CHECK(copy.bins()[0] == serial.bins()[0] + 7);
  only_zeros.Merge(serial);
  CHECK(only_zeros.bins() == copy.bins());

  // Unrelated widths: totals and amax exact, bins approximate.
  TensorHistogram a(100), b(100);
  a.Add(y.data(), 500);
  b.Add(z.data(), 500);
  a.Merge(b);
  CHECK(a.count() == 1000);
  CHECK(Sum(a.bins()) == 1000);
  double y_max = 0;
  for (float f : y) y_max = std::max(y_max, static_cast<double>(std::fabs(f)));
  CHECK(a.amax() == std::max(y_max, b.amax()));
  CHECK(a.range() >= a.amax());
}

TEST_CASE("PercentileAmax on a uniform distribution, ValidatePercentile", "[calibration]") {
  constexpr int kM = 1'000'000;
  std::vector<float> v(kM);
  for (int k = 0; k < kM; ++k) v[k] = static_cast<float>((k + 0.5) / kM) * (k % 2 ? 1.0f : -1.0f);
  TensorHistogram h;
  h.Add(v.data(), kM);
  CHECK(h.count() == kM);
  CHECK(PercentileAmax(h, 99.99) == Approx(0.9999).epsilon(1e-5));
  CHECK(PercentileAmax(h, 50.0) == Approx(0.5).epsilon(1e-5));
  CHECK(PercentileAmax(h, 12.5) == Approx(0.125).epsilon(1e-4));
  CHECK(PercentileAmax(h, 100.0) == h.amax());
  CHECK(PercentileAmax(h, 250.0) == h.amax());  // clamped
  CHECK(ComputeAmax(h, CalibrationAlgorithm::kPercentile, 99.0) == Approx(0.99).epsilon(1e-5));
  CHECK(ComputeAmax(h, CalibrationAlgorithm::kPercentile) == Approx(0.9999).epsilon(1e-5));

  // Interpolation inside a bin: 4 elements spread over bin 1 of [0, 2).
  auto two = TensorHistogram::FromBins({4, 4}, 1.0, 2.0);
  REQUIRE(two.ok());
  CHECK(PercentileAmax(*two, 75.0) == Approx(1.5));
  CHECK(PercentileAmax(*two, 50.0) == Approx(1.0));

  CHECK(PercentileAmax(TensorHistogram(), 99.99) == 0.0);
  CHECK(ValidatePercentile(99.99).ok());
  CHECK(ValidatePercentile(100.0).ok());
  CHECK_FALSE(ValidatePercentile(0.0).ok());
  CHECK_FALSE(ValidatePercentile(100.5).ok());
  CHECK_FALSE(ValidatePercentile(std::nan("")).ok());
  CHECK(absl::StrContains(ValidatePercentile(-1).message(), "(0, 100]"));
}

// Expected values of the two entropy tests below were produced once by an
// independent Python transcription of pytorch-quantization's
// `_compute_amax_entropy` (NVIDIA/TensorRT,
// tools/pytorch-quantization/pytorch_quantization/calib/histogram.py; start_bin
// 128, stride 1, num_bits 8, signed) run with /usr/bin/python3 and numpy
// 1.24.2; scipy.stats.entropy(p, q) was replaced by the same math in numpy
// (normalize both; sum p*log(p/q) over p > 0; +inf where p > 0 and q == 0):
//
//   b = np.zeros(2048, dtype=np.int64)            # histogram A, width 0.01
//   b[0] = 10_000_000
//   for j in range(1, 512): b[j] = (512 - j) ** 3 // 1000
//   for j, c in [(600, 5), (777, 3), (1000, 2), (1500, 1), (2047, 1)]: b[j] = c
//   b = np.zeros(2048, dtype=np.int64)            # histogram B, width 1
//   for j in range(128): b[j] = 1000 - 7 * j
//   edges = np.arange(2049) * width
//   amax, i, div = compute_amax_entropy(b.copy(), edges)
//   print(i, edges[i], ["%.17g" % div[k - 128] for k in ks])
//
// Output: A: i = 498 (edge 4.98); B: i = 129 (edge 129.0).
TEST_CASE("EntropyAmax matches the reference implementation on known histograms",
          "[calibration]") {
  struct Expect {
    int i;
    double kl;
  };
  SECTION("A: bulk plus a long sparse tail; the tail is clipped") {
    const TensorHistogram h = HistogramA();
    const std::vector<Expect> expected = {
        {128, 1.0826913866400936},       {129, 1.0715342422232639},
        {130, 1.0604567137210397},       {256, 0.20061128657016056},
        {400, 0.0057116539309041321},    {497, 4.2258078263101797e-05},
        {498, 4.2166316399411746e-05},   {499, 4.2181456645135979e-05},
        {500, 4.2285561252062355e-05},   {512, kInf},
        {601, 6.1813691148476232e-05},   {778, 0.00010317351515916832},
        {1001, 0.00017277617612596182},  {1501, 0.00039121565067850401},
        {2047, kInf},                    {2048, 0.0007256492485518},
    };
    const std::vector<double> kl = EntropyDivergences(h);
    REQUIRE(kl.size() == 2048 - 128 + 1);
    for (const Expect& e : expected) {
      INFO("i = " << e.i);
      if (std::isinf(e.kl)) {
        CHECK(std::isinf(kl[e.i - 128]));
      } else {
        CHECK(kl[e.i - 128] == Approx(e.kl).epsilon(1e-10));
      }
    }
    CHECK(EntropyAmax(h) == Approx(498 * 0.01).epsilon(1e-12));
    CHECK(ComputeAmax(h, CalibrationAlgorithm::kEntropy) == EntropyAmax(h));
    CHECK(MinMaxAmax(h) == 20.475);
  }
  SECTION("B: everything in the first 128 bins gives the max") {
    const TensorHistogram h = HistogramB();
    const std::vector<Expect> expected = {
        {128, 0.0},
        {129, 0.0},
        {130, 3.1819208765369129e-07},
        {256, 2.7310746461495922e-05},
        {500, 0.0001248102745829511},
        {2048, 0.0023029033108950478},
    };
    const std::vector<double> kl = EntropyDivergences(h);
    for (const Expect& e : expected) {
      INFO("i = " << e.i);
      CHECK(kl[e.i - 128] == Approx(e.kl).epsilon(1e-10).margin(1e-15));
    }
    // The reference picks i = 129 (ties go to the larger threshold) and
    // returns the edge 129; we cap the threshold at the largest value seen.
    CHECK(EntropyAmax(h) == 127.6);
    auto no_cap = TensorHistogram::FromBins(h.bins(), 1.0, 128.0);
    REQUIRE(no_cap.ok());
    CHECK(EntropyAmax(*no_cap) == 128.0);
  }
}

TEST_CASE("EntropyAmax clips a Gaussian's sparse outliers, edge cases", "[calibration]") {
  Lcg rng(3);
  std::vector<float> v(200'000);
  for (float& x : v) x = static_cast<float>(rng.Normal());
  v[10] = 40.0f;
  v[20] = -35.0f;
  v[30] = 25.0f;
  TensorHistogram h;
  // Several batches; the first sets the range, later ones do not grow it.
  for (size_t off = 0; off < v.size(); off += 50'000) h.Add(v.data() + off, 50'000);
  CHECK(h.count() == 200'000);
  CHECK(MinMaxAmax(h) == 40.0);
  const double entropy = EntropyAmax(h);
  CHECK(entropy > 3.0);  // 3.85 here
  CHECK(entropy < 5.0);
  const double p9999 = PercentileAmax(h, 99.99);
  CHECK(p9999 > 3.0);
  CHECK(p9999 < 6.0);

  // A constant tensor: the only finite candidate keeps everything.
  std::vector<float> constant(1000, -3.0f);
  TensorHistogram c;
  c.Add(constant.data(), 1000);
  CHECK(EntropyAmax(c) == 3.0);
  CHECK(PercentileAmax(c, 99.99) == Approx(3.0).epsilon(1e-6));  // interpolated in the top bin

  // Empty / all-zero histograms give 0; too few bins fall back to the max.
  CHECK(EntropyAmax(TensorHistogram()) == 0.0);
  TensorHistogram z;
  std::vector<float> zeros(10, 0.0f);
  z.Add(zeros.data(), 10);
  CHECK(EntropyAmax(z) == 0.0);
  CHECK(ComputeAmax(z, CalibrationAlgorithm::kPercentile) == 0.0);
  CHECK(EntropyDivergences(z).empty());
  TensorHistogram small(64);
  small.Add(v.data(), 1000);
  CHECK(EntropyAmax(small) == small.amax());
  CHECK(EntropyDivergences(small).empty());
}

TEST_CASE("TensorHistogram::FromBins validates its arguments", "[calibration]") {
  CHECK(TensorHistogram::FromBins({1, 2, 3}, 0.5, 1.4).ok());
  CHECK(TensorHistogram::FromBins({5, 0, 0}, 0.0, 0.0).ok());
  CHECK_FALSE(TensorHistogram::FromBins({}, 1.0, 0.0).ok());
  CHECK_FALSE(TensorHistogram::FromBins({1, -1}, 1.0, 1.5).ok());
  CHECK_FALSE(TensorHistogram::FromBins({1, 1}, -1.0, 1.5).ok());
  CHECK_FALSE(TensorHistogram::FromBins({1, 1}, 1.0, 2.5).ok());  // beyond the range
  CHECK_FALSE(TensorHistogram::FromBins({1, 1, 0}, 1.0, 2.5).ok());  // beyond last non-empty bin
  CHECK_FALSE(TensorHistogram::FromBins({1, 1}, 0.0, 0.0).ok());
  CHECK_FALSE(TensorHistogram::FromBins({1, 1}, 1.0, std::nan("")).ok());
}

TEST_CASE("ScaleFromAmax is amax/127 with a tiny positive floor", "[calibration]") {
  CHECK(ScaleFromAmax(127.0) == 1.0f);
  CHECK(ScaleFromAmax(254.0) == 2.0f);
  CHECK(ScaleFromAmax(1.0) == static_cast<float>(1.0 / 127.0));
  const float floor = static_cast<float>(kMinCalibrationAmax / 127.0);
  CHECK(floor > 0.0f);
  CHECK(std::isnormal(floor));
  CHECK(std::isfinite(1.0f / floor));
  CHECK(ScaleFromAmax(0.0) == floor);
  CHECK(ScaleFromAmax(-1.0) == floor);
  CHECK(ScaleFromAmax(std::nan("")) == floor);
  CHECK(ScaleFromAmax(1e-12) == floor);
}

TEST_CASE("Calibration cache: TensorRT text format, bit-exact round trip", "[calibration]") {
  SECTION("the ONNX Runtime / TensorRT example") {
    auto c = ParseCalibrationCache("TRT-7103-EntropyCalibration2\ndata_0: 4000889d\n", "calib.cache");
    REQUIRE(c.ok());
    CHECK(c->version == "7103");
    CHECK(c->algorithm == CalibrationAlgorithm::kEntropy);
    REQUIRE(c->scales.count("data_0") == 1);
    CHECK(Bits(c->scales.at("data_0")) == 0x4000889du);
    // 0x4000889d is 2.0083382f (2.00833f would be 0x4000887b).
    CHECK(Bits(2.0083382f) == 0x4000889du);
    CHECK(c->scales.at("data_0") == 2.0083382f);
  }
  SECTION("serialization is sorted, lower-case, 8 digits") {
    CalibrationCache c;
    c.algorithm = CalibrationAlgorithm::kMinMax;
    c.scales["b"] = 1.0f;
    c.scales["a:0"] = std::bit_cast<float>(0x0000abcdu);  // denormal: 8 digits, zero-padded
    c.scales["data_0"] = std::bit_cast<float>(0x4000889du);
    CHECK(SerializeCalibrationCache(c) ==
          "TRT-8601-MinMaxCalibration\n"
          "a:0: 0000abcd\n"
          "b: 3f800000\n"
          "data_0: 4000889d\n");
    c.algorithm = CalibrationAlgorithm::kPercentile;
    c.version = "100300";
    CHECK(absl::StartsWith(SerializeCalibrationCache(c), "TRT-100300-PercentileCalibration\n"));
  }
  SECTION("round trip of awkward names and many bit patterns") {
    CalibrationCache c;
    c.version = "100300";
    c.algorithm = CalibrationAlgorithm::kPercentile;
    const std::vector<std::string> names = {
        "x", "a:0", "x: y", "name:", "trailing space ", "(Unnamed Layer* 8) [Constant]_output",
        "/conv1/Conv_output_0", "TRT-8601-EntropyCalibration2", "ünïcode"};
    Lcg rng(5);
    for (size_t k = 0; k < names.size(); ++k) {
      // Random positive finite floats across the whole exponent range.
      uint32_t bits;
      do {
        bits = static_cast<uint32_t>(rng.Uniform() * 4294967296.0) & 0x7fffffffu;
      } while (bits == 0 || bits >= 0x7f800000u);
      c.scales[names[k]] = std::bit_cast<float>(bits);
    }
    for (int k = 0; k < 200; ++k) {
      c.scales[absl::StrCat("t", k)] = ScaleFromAmax(rng.Uniform() * 1000.0);
    }
    REQUIRE(ValidateCalibrationCache(c, "rt.cache").ok());
    const std::string text = SerializeCalibrationCache(c);
    auto back = ParseCalibrationCache(text, "rt.cache");
    REQUIRE(back.ok());
    CHECK(back->version == c.version);
    CHECK(back->algorithm == c.algorithm);
    REQUIRE(back->scales.size() == c.scales.size());
    for (const auto& [name, scale] : c.scales) {
      INFO(name);
      REQUIRE(back->scales.count(name) == 1);
      CHECK(Bits(back->scales.at(name)) == Bits(scale));
    }
    CHECK(SerializeCalibrationCache(*back) == text);
  }
  SECTION("caches written by TensorRT") {
    const std::string trt =
        "TRT-8510-EntropyCalibration2\r\n"
        "x: 4000890a\r\n"
        "/conv1/Conv_output_0: 3f9db09c\r\n"
        "(Unnamed Layer* 8) [Constant]_output: 39137939\r\n"
        "(Unnamed Layer* 28) [TopK]_output_1: 3be6d87f\r\n";
    auto c = ParseCalibrationCache(trt, "trt.cache");
    REQUIRE(c.ok());
    CHECK(c->version == "8510");
    CHECK(c->scales.size() == 4);
    CHECK(Bits(c->scales.at("(Unnamed Layer* 8) [Constant]_output")) == 0x39137939u);
    CHECK(Bits(c->scales.at("x")) == 0x4000890au);
    for (const std::string header : {"TRT-8601-EntropyCalibration2", "TRT-100300-EntropyCalibration2",
                                     "TRT-8601-MinMaxCalibration", "TRT-8601-PercentileCalibration"}) {
      INFO(header);
      auto h = ParseCalibrationCache(header + "\nA: 3F800000\n\n", "h.cache");  // upper-case hex too
      REQUIRE(h.ok());
      CHECK(h->scales.at("A") == 1.0f);
    }
    auto h = ParseCalibrationCache("TRT-100300-MinMaxCalibration", "h.cache");
    REQUIRE(h.ok());
    CHECK(h->algorithm == CalibrationAlgorithm::kMinMax);
    CHECK(h->version == "100300");
    CHECK(h->scales.empty());
  }
}

TEST_CASE("Calibration cache parse errors name the file and the line", "[calibration]") {
  struct Case {
    std::string text;
    absl::StatusCode code;
    std::string where;     // "<file>:<line>:"
    std::string mentions;  // further text the message must contain
  };
  const std::string ok_header = "TRT-8601-EntropyCalibration2\n";
  const std::vector<Case> cases = {
      {"", absl::StatusCode::kDataLoss, "bad.cache:1:", "empty"},
      {"EntropyCalibration2\na: 3f800000\n", absl::StatusCode::kDataLoss, "bad.cache:1:", "header"},
      {"TRT--EntropyCalibration2\n", absl::StatusCode::kDataLoss, "bad.cache:1:", "header"},
      {"TRT-86a1-EntropyCalibration2\n", absl::StatusCode::kDataLoss, "bad.cache:1:", "header"},
      {"TRT-8601-\n", absl::StatusCode::kDataLoss, "bad.cache:1:", "header"},
      {"TRT-8601-LegacyCalibration\n", absl::StatusCode::kInvalidArgument, "bad.cache:1:",
       "EntropyCalibration2, MinMaxCalibration, PercentileCalibration"},
      {ok_header + "a: 3f800000\nb 3f800000\n", absl::StatusCode::kDataLoss, "bad.cache:3:",
       "'b 3f800000'"},
      {ok_header + "a:3f800000\n", absl::StatusCode::kDataLoss, "bad.cache:2:", "'a:3f800000'"},
      {ok_header + ": 3f800000\n", absl::StatusCode::kDataLoss, "bad.cache:2:", "tensor name"},
      {ok_header + "conv: 3f8g0000\n", absl::StatusCode::kDataLoss, "bad.cache:2:", "'conv'"},
      {ok_header + "conv: 0x3f8000\n", absl::StatusCode::kDataLoss, "bad.cache:2:", "'conv'"},
      {ok_header + "conv: 3f8000000\n", absl::StatusCode::kDataLoss, "bad.cache:2:", "'conv'"},
      {ok_header + "conv: \n", absl::StatusCode::kDataLoss, "bad.cache:2:", "'conv'"},
      {ok_header + "a: 3f800000\nb: 3f800000\n\na: 40000000\n", absl::StatusCode::kInvalidArgument,
       "bad.cache:5:", "'a' is listed twice (first on line 2)"},
      {ok_header + "zero: 00000000\n", absl::StatusCode::kInvalidArgument, "bad.cache:2:", "'zero'"},
      {ok_header + "neg: bf800000\n", absl::StatusCode::kInvalidArgument, "bad.cache:2:", "'neg'"},
      {ok_header + "inf: 7f800000\n", absl::StatusCode::kInvalidArgument, "bad.cache:2:", "'inf'"},
      {ok_header + "nan: 7fc00000\n", absl::StatusCode::kInvalidArgument, "bad.cache:2:", "'nan'"},
  };
  for (const Case& c : cases) {
    INFO("text: " << c.text);
    auto r = ParseCalibrationCache(c.text, "bad.cache");
    REQUIRE_FALSE(r.ok());
    INFO("message: " << r.status().message());
    CHECK(r.status().code() == c.code);
    CHECK(absl::StartsWith(r.status().message(), c.where));
    CHECK(absl::StrContains(r.status().message(), c.mentions));
  }
}

TEST_CASE("ValidateCalibrationCache rejects what the format cannot hold", "[calibration]") {
  CalibrationCache c;
  c.scales["ok"] = 1.0f;
  CHECK(ValidateCalibrationCache(c, "v.cache").ok());
  CalibrationCache bad_name = c;
  bad_name.scales["two\nlines"] = 1.0f;
  CHECK_FALSE(ValidateCalibrationCache(bad_name, "v.cache").ok());
  CalibrationCache bad_scale = c;
  bad_scale.scales["z"] = 0.0f;
  auto s = ValidateCalibrationCache(bad_scale, "v.cache");
  REQUIRE_FALSE(s.ok());
  CHECK(absl::StrContains(s.message(), "v.cache"));
  CHECK(absl::StrContains(s.message(), "'z'"));
  CalibrationCache bad_version = c;
  bad_version.version = "8.6";
  CHECK_FALSE(ValidateCalibrationCache(bad_version, "v.cache").ok());
}

TEST_CASE("CheckCacheMatches lists all missing and extra tensors", "[calibration]") {
  CalibrationCache c;
  c.scales["input"] = 1.0f;
  c.scales["conv1"] = 1.0f;
  c.scales["stale_a"] = 1.0f;
  c.scales["stale_b"] = 1.0f;
  CHECK(CheckCacheMatches(c, {"input", "conv1", "stale_a", "stale_b", "input"}, "m.cache").ok());
  auto s = CheckCacheMatches(c, {"relu2", "input", "conv1", "fc:0"}, "m.cache");
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  const std::string msg(s.message());
  INFO(msg);
  CHECK(absl::StartsWith(msg, "m.cache: "));
  CHECK(absl::StrContains(msg, "no scale for 2 tensor(s) the network needs: 'fc:0', 'relu2'"));
  CHECK(absl::StrContains(msg, "2 cache entries are not tensors of the network: 'stale_a', 'stale_b'"));
  auto only_missing = CheckCacheMatches(c, {"input", "conv1", "stale_a", "stale_b", "x"}, "m.cache");
  REQUIRE_FALSE(only_missing.ok());
  CHECK_FALSE(absl::StrContains(only_missing.message(), "not tensors"));
}
