// engine::data::Dataset and image preprocessing: option parsing, the
// preprocessing maths on small synthetic images, image/tensor/MNIST sources,
// labels and error reporting; MNIST and ImageNet samples from ../shared.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <stb/stb_image_write.h>

#include "absl/strings/cord.h"
#include "common/dataset.h"
#include "engine/tensor_io.h"
#include "test_util.h"

using namespace engine;
using namespace engine::data;
namespace fs = std::filesystem;

namespace {

// A fresh temporary directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("engine_dataset_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

void WritePng(const std::string& path, int w, int h, int comp, const std::vector<uint8_t>& px) {
  REQUIRE(px.size() == static_cast<size_t>(w * h * comp));
  REQUIRE(stbi_write_png(path.c_str(), w, h, comp, px.data(), w * comp) != 0);
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A .npy file (format 1.0) holding `t` (float32 or uint8).
void WriteNpy(const std::string& path, const Tensor& t) {
  std::string shape;
  for (size_t i = 0; i < t.shape().size(); ++i) {
    shape += (i ? ", " : "") + std::to_string(t.shape()[i]);
  }
  if (t.shape().size() == 1) shape += ",";  // "(4,)"
  const char* descr = t.dtype() == DataType::kUint8 ? "|u1" : "<f4";
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (" +
                       shape + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  bytes.append(static_cast<const char*>(t.data()), t.byte_size());
  WriteBytes(path, bytes);
}

TensorDesc Input(Dims shape, DataType dtype = DataType::kFloat32) {
  return TensorDesc{"data", dtype, std::move(shape)};
}

DatasetOptions WithPreprocess(const std::string& spec) {
  auto pp = ParseImagePreprocess(spec);
  REQUIRE(pp.ok());
  DatasetOptions o;
  o.preprocess = *pp;
  return o;
}

bool Contains(const absl::Status& s, const std::string& what) {
  return std::string(s.message()).find(what) != std::string::npos;
}

// Element (c, y, x) of an NCHW [1, C, H, W] float tensor.
float At(const Tensor& t, int64_t c, int64_t y, int64_t x) {
  const Dims& s = t.shape();
  return t.data_as<float>()[(c * s[2] + y) * s[3] + x];
}

}  // namespace

TEST_CASE("ParseImagePreprocess: presets, keys and overrides", "[dataset]") {
  auto imagenet = ParseImagePreprocess("imagenet");
  REQUIRE(imagenet.ok());
  CHECK(imagenet->resize == 256);
  CHECK(imagenet->center_crop);
  CHECK(imagenet->scale == Approx(1.0 / 255));
  CHECK(imagenet->mean == std::array<float, 3>{0.485f, 0.456f, 0.406f});
  CHECK(imagenet->stddev == std::array<float, 3>{0.229f, 0.224f, 0.225f});
  CHECK(imagenet->order == ImagePreprocess::ChannelOrder::kRGB);
  CHECK(imagenet->layout == ImagePreprocess::Layout::kNCHW);
  CHECK(ImagePreprocessName(*imagenet) == "imagenet");

  auto raw = ParseImagePreprocess("raw");
  REQUIRE(raw.ok());
  CHECK(raw->resize == 0);
  CHECK(raw->scale == 1.0f);
  CHECK(raw->mean == std::array<float, 3>{0, 0, 0});
  CHECK(raw->stddev == std::array<float, 3>{1, 1, 1});
  CHECK(ImagePreprocessName(*raw) == "raw");
  auto empty = ParseImagePreprocess("");
  REQUIRE(empty.ok());
  CHECK(ImagePreprocessName(*empty) == "raw");

  auto caffe = ParseImagePreprocess("caffe");
  REQUIRE(caffe.ok());
  CHECK(caffe->order == ImagePreprocess::ChannelOrder::kBGR);
  CHECK(caffe->mean[0] == Approx(103.939));

  // The long form of the imagenet preset is the imagenet preset.
  auto full = ParseImagePreprocess(
      "resize=256,crop,scale=0.00392157,mean=0.485:0.456:0.406,std=0.229:0.224:0.225,order=rgb,"
      "layout=nchw");
  REQUIRE(full.ok());
  CHECK(full->resize == 256);
  CHECK(full->scale == Approx(1.0 / 255).epsilon(1e-5));
  auto frac = ParseImagePreprocess(" resize = 256 , CROP, scale=1/255, mean=0.485:0.456:0.406, "
                                   "stddev=0.229:0.224:0.225 ");
  REQUIRE(frac.ok());
  CHECK(ImagePreprocessName(*frac) == "imagenet");

  // Later items override a preset; a single mean value applies to all channels.
  auto mixed = ParseImagePreprocess("imagenet,order=BGR,layout=nhwc,mean=0.5,std=2");
  REQUIRE(mixed.ok());
  CHECK(mixed->resize == 256);
  CHECK(mixed->order == ImagePreprocess::ChannelOrder::kBGR);
  CHECK(mixed->layout == ImagePreprocess::Layout::kNHWC);
  CHECK(mixed->mean == std::array<float, 3>{0.5f, 0.5f, 0.5f});
  CHECK(mixed->stddev == std::array<float, 3>{2, 2, 2});
  auto nocrop = ParseImagePreprocess("imagenet,resize=0,nocrop");
  REQUIRE(nocrop.ok());
  CHECK_FALSE(nocrop->center_crop);

  // The canonical string parses back to the same options.
  for (const ImagePreprocess& pp : {*imagenet, *raw, *caffe, *mixed, *nocrop}) {
    const std::string s = ImagePreprocessToString(pp);
    auto back = ParseImagePreprocess(s);
    REQUIRE(back.ok());
    CHECK(ImagePreprocessToString(*back) == s);
    CHECK(back->scale == pp.scale);
    CHECK(back->mean == pp.mean);
    CHECK(back->stddev == pp.stddev);
  }
  CHECK(ImagePreprocessToString(*imagenet) ==
        "resize=256,crop,scale=0.003921569,mean=0.485:0.456:0.406,std=0.229:0.224:0.225,"
        "order=rgb,layout=nchw");
}

TEST_CASE("ParseImagePreprocess: errors name the key", "[dataset]") {
  struct Case {
    const char* spec;
    const char* mentions;
  };
  for (const Case& c : {Case{"imagenet,colour=rgb", "'colour'"}, Case{"resize=-1", "'resize'"},
                        Case{"resize=abc", "'resize'"}, Case{"scale=x", "'scale'"},
                        Case{"scale=1/0", "'scale'"}, Case{"mean=1:2", "'mean'"},
                        Case{"std=1:0:1", "'std'"}, Case{"order=rbg", "'order'"},
                        Case{"layout=chw", "'layout'"}, Case{"mean", "'mean'"},
                        Case{"crop=maybe", "'crop'"}, Case{"imagenet=1", "'imagenet'"},
                        Case{"resize=256,nocrop", "resize=256"}}) {
    INFO(c.spec);
    auto r = ParseImagePreprocess(c.spec);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(Contains(r.status(), c.mentions));
  }
}

TEST_CASE("ComputeGeometry matches torchvision Resize(int) + CenterCrop", "[dataset]") {
  const ImagePreprocess imagenet = ImagenetPreprocess();
  // 500x375 landscape: 256 * 500 / 375 = 341.33 -> 341; left = round(58.5) = 58 (half to even).
  ImageGeometry g = ComputeGeometry(500, 375, 224, 224, imagenet);
  CHECK(g.resized_width == 341);
  CHECK(g.resized_height == 256);
  CHECK(g.left == 58);
  CHECK(g.top == 16);
  // Portrait.
  g = ComputeGeometry(375, 500, 224, 224, imagenet);
  CHECK(g.resized_width == 256);
  CHECK(g.resized_height == 341);
  CHECK(g.left == 16);
  CHECK(g.top == 58);
  // round(59.5) = 60.
  g = ComputeGeometry(343, 256, 224, 224, imagenet);
  CHECK(g.resized_width == 343);
  CHECK(g.left == 60);
  // A crop larger than the resized image pads: offset -floor((out - resized) / 2).
  ImagePreprocess small = imagenet;
  small.resize = 10;
  g = ComputeGeometry(10, 10, 13, 13, small);
  CHECK(g.resized_width == 10);
  CHECK(g.left == -1);
  CHECK(g.top == -1);
  // resize = 0: straight to the output size.
  g = ComputeGeometry(640, 480, 224, 200, RawPreprocess());
  CHECK(g.resized_width == 224);
  CHECK(g.resized_height == 200);
  CHECK(g.left == 0);
  CHECK(g.top == 0);
}

TEST_CASE("Raw preprocessing keeps pixel values, the centre crop is taken", "[dataset]") {
  TempDir dir;
  // 10x6 RGB: R = 20 x, G = 40 y, B = 7.
  const int w = 10, h = 6;
  std::vector<uint8_t> px;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      px.push_back(static_cast<uint8_t>(20 * x));
      px.push_back(static_cast<uint8_t>(40 * y));
      px.push_back(7);
    }
  }
  WritePng(dir.file("img.png"), w, h, 3, px);

  // Shorter side already 6 -> no resampling; 4x4 crop at top 1, left 3.
  DatasetOptions opts = WithPreprocess("raw,resize=6,crop");
  auto ds = Dataset::Open(dir.str(), Input({1, 3, 4, 4}), opts);
  REQUIRE(ds.ok());
  REQUIRE((*ds)->size() == 1);
  CHECK((*ds)->kind() == DatasetKind::kImages);
  CHECK_FALSE((*ds)->has_labels());
  auto s = (*ds)->Get(0);
  REQUIRE(s.ok());
  CHECK(s->name == "img.png");
  CHECK(s->label == -1);
  REQUIRE(s->input.shape() == Dims{1, 3, 4, 4});
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) {
      CHECK(At(s->input, 0, y, x) == 20.0f * (x + 3));
      CHECK(At(s->input, 1, y, x) == 40.0f * (y + 1));
      CHECK(At(s->input, 2, y, x) == 7.0f);
    }
  }

  // Same size as the input: unchanged, exact.
  auto same = Dataset::Open(dir.str(), Input({1, 3, 6, 10}), DatasetOptions{});
  REQUIRE(same.ok());
  auto t = (*same)->Get(0);
  REQUIRE(t.ok());
  CHECK(At(t->input, 0, 5, 9) == 180.0f);
  CHECK(At(t->input, 1, 5, 9) == 200.0f);
}

TEST_CASE("Scale, mean/std, BGR order and NHWC layout", "[dataset]") {
  TempDir dir;
  const int w = 5, h = 4;
  std::vector<uint8_t> px;
  for (int i = 0; i < w * h; ++i) {
    px.insert(px.end(), {100, 150, 200});
  }
  WritePng(dir.file("u.png"), w, h, 3, px);
  const float r = 100 / 255.0f, g = 150 / 255.0f, b = 200 / 255.0f;

  SECTION("mean/std per channel, RGB, NCHW") {
    auto ds = Dataset::Open(dir.str(), Input({1, 3, h, w}),
                            WithPreprocess("scale=1/255,mean=0.485:0.456:0.406,std=0.229:0.224:0.225"));
    REQUIRE(ds.ok());
    auto s = (*ds)->Get(0);
    REQUIRE(s.ok());
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        CHECK(At(s->input, 0, y, x) == Approx((r - 0.485f) / 0.229f).epsilon(1e-5));
        CHECK(At(s->input, 1, y, x) == Approx((g - 0.456f) / 0.224f).epsilon(1e-5));
        CHECK(At(s->input, 2, y, x) == Approx((b - 0.406f) / 0.225f).epsilon(1e-5));
      }
    }
  }
  SECTION("BGR: channel 0 is blue; mean/std follow the output channel order") {
    auto ds = Dataset::Open(dir.str(), Input({1, 3, h, w}),
                            WithPreprocess("order=bgr,mean=1:2:3,std=1:2:4"));
    REQUIRE(ds.ok());
    auto s = (*ds)->Get(0);
    REQUIRE(s.ok());
    CHECK(At(s->input, 0, 1, 1) == Approx((200 - 1) / 1.0));
    CHECK(At(s->input, 1, 1, 1) == Approx((150 - 2) / 2.0));
    CHECK(At(s->input, 2, 1, 1) == Approx((100 - 3) / 4.0));
  }
  SECTION("NHWC: [1, H, W, C], channels innermost") {
    auto ds = Dataset::Open(dir.str(), Input({1, h, w, 3}), WithPreprocess("layout=nhwc"));
    REQUIRE(ds.ok());
    auto s = (*ds)->Get(0);
    REQUIRE(s.ok());
    REQUIRE(s->input.shape() == Dims{1, h, w, 3});
    const float* p = s->input.data_as<float>();
    for (int i = 0; i < h * w; ++i) {
      CHECK(p[i * 3 + 0] == 100.0f);
      CHECK(p[i * 3 + 1] == 150.0f);
      CHECK(p[i * 3 + 2] == 200.0f);
    }
    // An NHWC shape read as NCHW has 4 "channels": rejected, suggesting the layout.
    auto wrong = Dataset::Open(dir.str(), Input({1, h, w, 3}), DatasetOptions{});
    REQUIRE_FALSE(wrong.ok());
    CHECK(Contains(wrong.status(), "layout=nhwc"));
  }
  SECTION("uint8 input gets the rounded values") {
    auto ds = Dataset::Open(dir.str(), Input({1, 3, h, w}, DataType::kUint8), DatasetOptions{});
    REQUIRE(ds.ok());
    auto s = (*ds)->Get(0);
    REQUIRE(s.ok());
    CHECK(s->input.dtype() == DataType::kUint8);
    CHECK(s->input.data_as<uint8_t>()[0] == 100);
    CHECK(s->input.data_as<uint8_t>()[h * w] == 150);
  }
  SECTION("float16 input gets the values rounded to nearest even half") {
    // Caffe means: 100 - 103.939 = -3.939 (nearest half -3.939453125),
    // 150 - 116.779 = 33.221 (33.21875), 200 - 123.68 = 76.32 (76.3125), as
    // numpy's float16 cast gives.
    auto ds = Dataset::Open(dir.str(), Input({1, 3, h, w}, DataType::kFloat16),
                            WithPreprocess("mean=103.939:116.779:123.68"));
    REQUIRE(ds.ok());
    auto s = (*ds)->Get(0);
    REQUIRE(s.ok());
    CHECK(s->input.dtype() == DataType::kFloat16);
    const uint16_t* p = s->input.data_as<uint16_t>();
    CHECK(p[0] == 0xC3E1);          // -3.939453125
    CHECK(p[h * w] == 0x5027);      // 33.21875
    CHECK(p[2 * h * w] == 0x54C5);  // 76.3125
    // Values past the half range saturate to infinity; tiny ones become subnormal.
    auto big = Dataset::Open(dir.str(), Input({1, 3, h, w}, DataType::kFloat16),
                             WithPreprocess("scale=1000"));
    REQUIRE(big.ok());
    auto sb = (*big)->Get(0);
    REQUIRE(sb.ok());
    CHECK(sb->input.data_as<uint16_t>()[0] == 0x7C00);  // 100000 -> +inf
    auto tiny = Dataset::Open(dir.str(), Input({1, 3, h, w}, DataType::kFloat16),
                              WithPreprocess("scale=1e-9"));
    REQUIRE(tiny.ok());
    auto st = (*tiny)->Get(0);
    REQUIRE(st.ok());
    CHECK(st->input.data_as<uint16_t>()[0] == 2);  // 1e-7 = 1.68 x 2^-24 -> 2 x 2^-24
  }
}

TEST_CASE("Grayscale images fill 3 channels, colour becomes luminance for 1 channel", "[dataset]") {
  TempDir dir;
  // A binary PGM (P5) 4x3 gray image, written by hand.
  std::string pgm = "P5\n4 3\n255\n";
  for (int i = 0; i < 12; ++i) pgm += static_cast<char>(i * 20);
  WriteBytes(dir.file("g.pgm"), pgm);

  auto rgb = Dataset::Open(dir.str(), Input({1, 3, 3, 4}), DatasetOptions{});
  REQUIRE(rgb.ok());
  auto s = (*rgb)->Get(0);
  REQUIRE(s.ok());
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 4; ++x) {
      for (int c = 0; c < 3; ++c) CHECK(At(s->input, c, y, x) == 20.0f * (y * 4 + x));
    }
  }

  TempDir colour;
  std::vector<uint8_t> px;
  for (int i = 0; i < 6; ++i) px.insert(px.end(), {200, 100, 50});
  WritePng(colour.file("c.png"), 3, 2, 3, px);
  auto gray = Dataset::Open(colour.str(), Input({1, 1, 2, 3}), DatasetOptions{});
  REQUIRE(gray.ok());
  auto g = (*gray)->Get(0);
  REQUIRE(g.ok());
  REQUIRE(g->input.shape() == Dims{1, 1, 2, 3});
  // PIL's convert("L"): (19595 R + 38470 G + 7471 B + 32768) >> 16.
  const float lum = static_cast<float>((19595 * 200 + 38470 * 100 + 7471 * 50 + 32768) >> 16);
  for (float v : testing::ToVector(g->input)) CHECK(v == lum);

  // A 1-channel PNG, gray input: exact.
  std::vector<uint8_t> gp = {0, 1, 2, 250, 254, 255};
  WritePng(colour.file("d.png"), 3, 2, 1, gp);
  auto both = Dataset::Open(colour.str(), Input({1, 1, 2, 3}), DatasetOptions{});
  REQUIRE(both.ok());
  REQUIRE((*both)->size() == 2);
  auto d = (*both)->Get(1);
  REQUIRE(d.ok());
  CHECK(d->name == "d.png");
  CHECK(testing::ToVector(d->input) == std::vector<float>{0, 1, 2, 250, 254, 255});
}

TEST_CASE("Resizing is bilinear and keeps flat regions flat", "[dataset]") {
  TempDir dir;
  // Horizontal ramp 8x2: value 10 x.
  std::vector<uint8_t> ramp;
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 8; ++x) ramp.push_back(static_cast<uint8_t>(10 * x));
  }
  WritePng(dir.file("ramp.png"), 8, 2, 1, ramp);
  // Doubling: output pixel u samples input x = (u + 0.5) / 2 - 0.5.
  auto ds = Dataset::Open(dir.str(), Input({1, 1, 4, 16}), DatasetOptions{});
  REQUIRE(ds.ok());
  auto s = (*ds)->Get(0);
  REQUIRE(s.ok());
  for (int u = 1; u < 15; ++u) {
    INFO("u = " << u);
    CHECK(std::fabs(At(s->input, 0, 2, u) - 10.0f * ((u + 0.5f) / 2 - 0.5f)) <= 1.0f);
  }
  CHECK(At(s->input, 0, 0, 0) == 0.0f);  // clamped edge
  CHECK(At(s->input, 0, 0, 15) == 70.0f);

  // A flat 40x30 image through imagenet-style resize + crop stays flat.
  TempDir flat;
  std::vector<uint8_t> px(40 * 30 * 3);
  for (size_t i = 0; i < px.size(); i += 3) px[i] = 30, px[i + 1] = 60, px[i + 2] = 90;
  WritePng(flat.file("f.png"), 40, 30, 3, px);
  ImagePreprocess pp;
  pp.resize = 16;
  DatasetOptions opts;
  opts.preprocess = pp;
  auto f = Dataset::Open(flat.str(), Input({1, 3, 12, 12}), opts);
  REQUIRE(f.ok());
  auto fs_ = (*f)->Get(0);
  REQUIRE(fs_.ok());
  for (int y = 0; y < 12; ++y) {
    for (int x = 0; x < 12; ++x) {
      CHECK(At(fs_->input, 0, y, x) == 30.0f);
      CHECK(At(fs_->input, 1, y, x) == 60.0f);
      CHECK(At(fs_->input, 2, y, x) == 90.0f);
    }
  }
  CHECK((*f)->Describe().find("1 images from") == 0);
}

TEST_CASE("An unreadable image fails Open naming it, or is skipped", "[dataset]") {
  TempDir dir;
  std::vector<uint8_t> px(4 * 4 * 3, 128);
  WritePng(dir.file("a.png"), 4, 4, 3, px);
  WriteBytes(dir.file("b.jpg"), "this is not a JPEG at all, just some garbage bytes");
  WritePng(dir.file("c.PNG"), 4, 4, 3, px);
  WriteBytes(dir.file("notes.txt"), "ignored");

  auto bad = Dataset::Open(dir.str(), Input({1, 3, 4, 4}), DatasetOptions{});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(Contains(bad.status(), dir.file("b.jpg")));

  DatasetOptions opts;
  opts.skip_unreadable = true;
  auto ds = Dataset::Open(dir.str(), Input({1, 3, 4, 4}), opts);
  REQUIRE(ds.ok());
  REQUIRE((*ds)->size() == 2);
  CHECK((*ds)->name(0) == "a.png");
  CHECK((*ds)->name(1) == "c.PNG");
  REQUIRE((*ds)->skipped().size() == 1);
  CHECK((*ds)->skipped()[0] == dir.file("b.jpg"));
  CHECK_FALSE((*ds)->skip_reasons()[0].empty());
  CHECK((*ds)->Describe().find("1 unreadable files skipped") != std::string::npos);
  auto b = (*ds)->Batch(0, 2);
  REQUIRE(b.ok());
  CHECK(b->shape() == Dims{2, 3, 4, 4});

  // Only garbage: an error even when skipping.
  TempDir only_bad;
  WriteBytes(only_bad.file("x.jpg"), "garbage");
  auto none = Dataset::Open(only_bad.str(), Input({1, 3, 4, 4}), opts);
  REQUIRE_FALSE(none.ok());
  CHECK(Contains(none.status(), "x.jpg"));

  // A missing path is NotFound naming it.
  auto missing = Dataset::Open(dir.file("nope"), Input({1, 3, 4, 4}), DatasetOptions{});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(Contains(missing.status(), dir.file("nope")));
}

TEST_CASE("Tensor-file directories: .npy and .pb samples, batches and conversions", "[dataset]") {
  TempDir dir;
  WriteNpy(dir.file("a.npy"), testing::MakeFloat({1, 2, 3}, {0, 1, 2, 3, 4, 5}));
  REQUIRE(SaveTensorProtoFile(dir.file("b.pb"), "data", testing::MakeFloat({1, 2, 3}, {6, 7, 8, 9, 10, 11})).ok());
  // Without the batch dimension, and uint8 (converted to float).
  WriteNpy(dir.file("c.npy"), testing::MakeTyped<uint8_t>(DataType::kUint8, {2, 3}, {12, 13, 14, 15, 16, 17}));

  DatasetOptions opts;
  opts.num_threads = 2;
  auto ds = Dataset::Open(dir.str(), Input({1, 2, 3}), opts);
  REQUIRE(ds.ok());
  CHECK((*ds)->kind() == DatasetKind::kTensors);
  REQUIRE((*ds)->size() == 3);
  CHECK((*ds)->name(0) == "a.npy");
  CHECK((*ds)->name(1) == "b.pb");
  CHECK((*ds)->name(2) == "c.npy");
  auto s = (*ds)->Get(1);
  REQUIRE(s.ok());
  CHECK(s->input.shape() == Dims{1, 2, 3});
  CHECK(testing::ToVector(s->input) == std::vector<float>{6, 7, 8, 9, 10, 11});
  auto batch = (*ds)->Batch(0, 3);
  REQUIRE(batch.ok());
  CHECK(batch->shape() == Dims{3, 2, 3});
  std::vector<float> all = testing::ToVector(*batch);
  for (int i = 0; i < 18; ++i) CHECK(all[i] == static_cast<float>(i));
  CHECK((*ds)->Describe() == "3 tensor samples from " + dir.str());
  CHECK_FALSE((*ds)->Batch(2, 2).ok());
  CHECK((*ds)->Get(3).status().code() == absl::StatusCode::kOutOfRange);

  // limit keeps the first samples.
  opts.limit = 2;
  auto limited = Dataset::Open(dir.str(), Input({1, 2, 3}), opts);
  REQUIRE(limited.ok());
  CHECK((*limited)->size() == 2);
}

TEST_CASE("Multi-input tensor directory: files grouped by sample and input", "[dataset]") {
  TempDir dir;
  // s0, s1 by file name (the longer input name 'attention_mask' wins over
  // 'mask'); s2 by TensorProto name.
  const std::vector<std::string> inputs = {"ids", "mask", "attention_mask"};
  float v = 0;
  for (const char* sample : {"s0", "s1"}) {
    for (const std::string& in : inputs) {
      REQUIRE(SaveTensorProtoFile(dir.file(std::string(sample) + "_" + in + ".pb"), "x",
                                  testing::MakeFloat({1, 2}, {v, v + 1})).ok());
      v += 2;
    }
  }
  for (size_t k = 0; k < inputs.size(); ++k) {
    REQUIRE(SaveTensorProtoFile(dir.file("s2_" + std::to_string(k) + ".pb"), inputs[k],
                                testing::MakeFloat({1, 2}, {v, v + 1})).ok());
    v += 2;
  }
  auto g = GroupTensorFilesByInput(dir.str(), inputs);
  REQUIRE(g.ok());
  CHECK(g->samples == std::vector<std::string>{"s0", "s1", "s2"});
  CHECK(g->files.at("mask") == std::vector<std::string>{"s0_mask.pb", "s1_mask.pb", "s2_1.pb"});
  CHECK(g->files.at("attention_mask") ==
        std::vector<std::string>{"s0_attention_mask.pb", "s1_attention_mask.pb", "s2_2.pb"});

  // One input's files as a dataset (DatasetOptions::tensor_files).
  DatasetOptions opts;
  opts.tensor_files = g->files.at("attention_mask");
  auto ds = Dataset::Open(dir.str(), Input({1, 2}), opts);
  REQUIRE(ds.ok());
  REQUIRE((*ds)->size() == 3);
  CHECK((*ds)->name(1) == "s1_attention_mask.pb");
  auto s = (*ds)->Get(1);
  REQUIRE(s.ok());
  CHECK(testing::ToVector(s->input) == std::vector<float>{10, 11});

  // A sample without one input: the error names the directory, sample and input.
  fs::remove(dir.file("s1_mask.pb"));
  auto missing = GroupTensorFilesByInput(dir.str(), inputs);
  REQUIRE_FALSE(missing.ok());
  CHECK(Contains(missing.status(), dir.str()));
  CHECK(Contains(missing.status(), "sample 's1' has no file for input 'mask'"));
  // A file that feeds no input.
  REQUIRE(SaveTensorProtoFile(dir.file("s1_mask.pb"), "x", testing::MakeFloat({1, 2}, {0, 0})).ok());
  WriteNpy(dir.file("s3_other.npy"), testing::MakeFloat({1, 2}, {0, 0}));
  auto stray = GroupTensorFilesByInput(dir.str(), inputs);
  REQUIRE_FALSE(stray.ok());
  CHECK(Contains(stray.status(), "file s3_other.npy feeds no input"));
  CHECK(stray.status().GetPayload(kUnmatchedFilePayload) == absl::Cord("s3_other.npy"));
  CHECK_FALSE(missing.status().GetPayload(kUnmatchedFilePayload).has_value());
  // Two files for one input of one sample.
  fs::remove(dir.file("s3_other.npy"));
  REQUIRE(SaveTensorProtoFile(dir.file("s0_9.pb"), "ids", testing::MakeFloat({1, 2}, {0, 0})).ok());
  auto twice = GroupTensorFilesByInput(dir.str(), inputs);
  REQUIRE_FALSE(twice.ok());
  CHECK(Contains(twice.status(), "sample 's0' has two files for input 'ids'"));
}

TEST_CASE("Whole-batch tensor files give N samples, the last batch is padded", "[dataset]") {
  TempDir dir;
  WriteNpy(dir.file("0.npy"), testing::MakeFloat({2, 3}, {0, 1, 2, 3, 4, 5}));  // a batch of 2
  WriteNpy(dir.file("1.npy"), testing::MakeFloat({1, 3}, {6, 7, 8}));           // one sample
  WriteBytes(dir.file("labels.txt"), "4\n5\n6\n");
  DatasetOptions opts;
  opts.labels_path = dir.file("labels.txt");
  auto ds = Dataset::Open(dir.str(), Input({2, 3}), opts);
  REQUIRE(ds.ok());
  REQUIRE((*ds)->size() == 3);
  CHECK((*ds)->batch_size() == 2);
  CHECK((*ds)->num_batches() == 2);
  CHECK((*ds)->name(0) == "0.npy[0]");
  CHECK((*ds)->name(1) == "0.npy[1]");
  CHECK((*ds)->name(2) == "1.npy");
  CHECK((*ds)->has_labels());
  CHECK((*ds)->label(2) == 6);
  auto s = (*ds)->Get(1);
  REQUIRE(s.ok());
  CHECK(testing::ToVector(s->input) == std::vector<float>{3, 4, 5});
  CHECK(s->label == 5);
  auto b1 = (*ds)->GetBatch(1);
  REQUIRE(b1.ok());
  CHECK(b1->first == 2);
  CHECK(b1->count == 1);
  CHECK(b1->labels == std::vector<int64_t>{6});
  CHECK(b1->names == std::vector<std::string>{"1.npy"});
  CHECK(b1->input.shape() == Dims{2, 3});
  CHECK(testing::ToVector(b1->input) == std::vector<float>{6, 7, 8, 6, 7, 8});
  CHECK_FALSE((*ds)->GetBatch(2).ok());
}

TEST_CASE("A tensor file of the wrong shape is an error naming it and both shapes", "[dataset]") {
  TempDir dir;
  WriteNpy(dir.file("good.npy"), testing::MakeFloat({1, 2, 3}, {0, 1, 2, 3, 4, 5}));
  WriteNpy(dir.file("wrong.npy"), testing::MakeFloat({1, 3, 3}, std::vector<float>(9, 0)));
  auto ds = Dataset::Open(dir.str(), Input({1, 2, 3}), DatasetOptions{});
  REQUIRE_FALSE(ds.ok());
  CHECK(ds.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(Contains(ds.status(), dir.file("wrong.npy")));
  CHECK(Contains(ds.status(), "1x3x3"));
  CHECK(Contains(ds.status(), "1x2x3"));

  // A corrupt tensor file is unreadable: an error, or skipped.
  TempDir corrupt;
  WriteNpy(corrupt.file("a.npy"), testing::MakeFloat({1, 2, 3}, {0, 1, 2, 3, 4, 5}));
  WriteBytes(corrupt.file("b.npy"), "\x93NUMPY garbage");
  auto r = Dataset::Open(corrupt.str(), Input({1, 2, 3}), DatasetOptions{});
  REQUIRE_FALSE(r.ok());
  CHECK(Contains(r.status(), corrupt.file("b.npy")));
  DatasetOptions skip;
  skip.skip_unreadable = true;
  auto k = Dataset::Open(corrupt.str(), Input({1, 2, 3}), skip);
  REQUIRE(k.ok());
  CHECK((*k)->size() == 1);
  CHECK((*k)->skipped() == std::vector<std::string>{corrupt.file("b.npy")});

  // Images and tensor files in one directory are refused.
  std::vector<uint8_t> px(4 * 4 * 3, 1);
  WritePng(dir.file("x.png"), 4, 4, 3, px);
  auto mixed = Dataset::Open(dir.str(), Input({1, 3, 4, 4}), DatasetOptions{});
  REQUIRE_FALSE(mixed.ok());
  CHECK(Contains(mixed.status(), "mixes"));
}

TEST_CASE("Labels: CSV with quoted fields, auto-detected labels.csv, text, missing labels", "[dataset]") {
  TempDir root;
  const fs::path images = fs::path(root.str()) / "images";
  fs::create_directories(images);
  std::vector<uint8_t> px(2 * 2 * 3, 50);
  for (const char* n : {"n1_cat.png", "n2_dog.png", "n3_eel.png"}) WritePng((images / n).string(), 2, 2, 3, px);
  WriteBytes(root.file("labels.csv"),
             "file,class_index,wnid,synset_name\r\n"
             "n2_dog.png,5,n2,\"dog, domestic dog\"\r\n"
             "n1_cat.png,3,n1,\"cat, \"\"house\"\" cat\nmultiline\"\r\n"
             "n3_eel.png,7,n3,eel\r\n");

  // The root holds only images/ and labels.csv: both are found.
  auto ds = Dataset::Open(root.str(), Input({1, 3, 2, 2}), DatasetOptions{});
  REQUIRE(ds.ok());
  REQUIRE((*ds)->size() == 3);
  CHECK((*ds)->has_labels());
  CHECK((*ds)->labels_path() == root.file("labels.csv"));
  CHECK((*ds)->label(0) == 3);
  CHECK((*ds)->label(1) == 5);
  CHECK((*ds)->label(2) == 7);
  CHECK((*ds)->Describe() ==
        "3 images from " + root.str() + " (raw preprocessing), labels from " + root.file("labels.csv"));
  // Opening images/ directly finds the labels.csv beside it.
  auto direct = Dataset::Open(images.string(), Input({1, 3, 2, 2}), DatasetOptions{});
  REQUIRE(direct.ok());
  CHECK((*direct)->label(2) == 7);

  // An image missing from the CSV is an error naming it.
  WritePng((images / "n4_fox.png").string(), 2, 2, 3, px);
  auto missing = Dataset::Open(root.str(), Input({1, 3, 2, 2}), DatasetOptions{});
  REQUIRE_FALSE(missing.ok());
  CHECK(Contains(missing.status(), "n4_fox.png"));

  // Text labels in file order; too few is an error naming the sample.
  WriteBytes(root.file("order.txt"), "1\n2\n3\n4\n");
  DatasetOptions text;
  text.labels_path = root.file("order.txt");
  auto t = Dataset::Open(images.string(), Input({1, 3, 2, 2}), text);
  REQUIRE(t.ok());
  CHECK((*t)->label(3) == 4);
  WriteBytes(root.file("short.txt"), "1\n2\n");
  text.labels_path = root.file("short.txt");
  auto s = Dataset::Open(images.string(), Input({1, 3, 2, 2}), text);
  REQUIRE_FALSE(s.ok());
  CHECK(Contains(s.status(), "n3_eel.png"));
  // "<file> <label>" lines.
  WriteBytes(root.file("named.txt"), "n4_fox.png 9\nn1_cat.png 1\nn2_dog.png 2\nn3_eel.png 3\n");
  text.labels_path = root.file("named.txt");
  auto n = Dataset::Open(images.string(), Input({1, 3, 2, 2}), text);
  REQUIRE(n.ok());
  CHECK((*n)->label(3) == 9);
  // Bad lines name the file and line.
  WriteBytes(root.file("bad.txt"), "1\nx\n");
  text.labels_path = root.file("bad.txt");
  auto b = Dataset::Open(images.string(), Input({1, 3, 2, 2}), text);
  REQUIRE_FALSE(b.ok());
  CHECK(Contains(b.status(), root.file("bad.txt") + ":2"));
  // A CSV without the needed columns.
  WriteBytes(root.file("cols.csv"), "name,cls\nn1_cat.png,1\n");
  text.labels_path = root.file("cols.csv");
  auto c = Dataset::Open(images.string(), Input({1, 3, 2, 2}), text);
  REQUIRE_FALSE(c.ok());
  CHECK(Contains(c.status(), "class_index"));
}

TEST_CASE("MNIST IDX test set: 10,000 raw 28x28 images with labels", "[dataset]") {
  const std::string images = testing::SharedPath("datasets/mnist_test/t10k-images-idx3-ubyte.gz");
  const std::string labels = testing::SharedPath("datasets/mnist_test/t10k-labels-idx1-ubyte.gz");
  if (images.empty() || labels.empty()) {
    WARN("SKIPPED: ../shared/datasets/mnist_test not found");
    return;
  }
  DatasetOptions opts = WithPreprocess("raw");
  opts.labels_path = labels;
  auto ds = Dataset::Open(images, Input({1, 1, 28, 28}), opts);
  REQUIRE(ds.ok());
  CHECK((*ds)->kind() == DatasetKind::kMnist);
  REQUIRE((*ds)->size() == 10000);
  CHECK((*ds)->has_labels());
  auto s = (*ds)->Get(0);
  REQUIRE(s.ok());
  CHECK(s->label == 7);
  CHECK(s->name == "mnist[0]");
  REQUIRE(s->input.shape() == Dims{1, 1, 28, 28});
  std::vector<float> v = testing::ToVector(s->input);
  CHECK(*std::min_element(v.begin(), v.end()) == 0.0f);
  CHECK(*std::max_element(v.begin(), v.end()) == 255.0f);
  for (float x : v) REQUIRE(x == std::floor(x));
  CHECK((*ds)->label(9999) >= 0);
  CHECK((*ds)->Describe() == "10000 images from " + images + " (raw preprocessing), labels from " + labels);

  // Without labels_path the labels file beside the images is found; a
  // directory with one IDX image file works too; batches of 8.
  DatasetOptions dir_opts;
  dir_opts.limit = 20;
  auto by_dir = Dataset::Open(fs::path(images).parent_path().string(), Input({8, 1, 28, 28}), dir_opts);
  REQUIRE(by_dir.ok());
  CHECK((*by_dir)->size() == 20);
  CHECK((*by_dir)->labels_path() == labels);
  CHECK((*by_dir)->num_batches() == 3);
  auto b = (*by_dir)->GetBatch(0);
  REQUIRE(b.ok());
  CHECK(b->labels[0] == 7);
  std::vector<float> first = testing::ToVector(b->input);
  CHECK(std::vector<float>(first.begin(), first.begin() + 784) == v);
  auto last = (*by_dir)->GetBatch(2);
  REQUIRE(last.ok());
  CHECK(last->count == 4);

  // 3-channel input: the gray value is replicated.
  auto rgb = Dataset::Open(images, Input({1, 3, 28, 28}), opts);
  REQUIRE(rgb.ok());
  auto c = (*rgb)->Get(0);
  REQUIRE(c.ok());
  std::vector<float> cv = testing::ToVector(c->input);
  CHECK(std::vector<float>(cv.begin() + 784, cv.begin() + 2 * 784) == v);
}

TEST_CASE("ImageNet sample: 450 JPEGs, labels.csv, imagenet preprocessing", "[dataset]") {
  const std::string root = testing::SharedPath("datasets/imagenet_sample_450");
  if (root.empty()) {
    WARN("SKIPPED: ../shared/datasets/imagenet_sample_450 not found");
    return;
  }
  DatasetOptions opts = WithPreprocess("imagenet");
  opts.num_threads = 2;
  auto ds = Dataset::Open(root, Input({1, 3, 224, 224}), opts);
  REQUIRE(ds.ok());
  REQUIRE((*ds)->size() == 450);
  CHECK((*ds)->has_labels());
  CHECK((*ds)->skipped().empty());
  CHECK((*ds)->Describe() == "450 images from " + root + " (imagenet preprocessing), labels from " +
                                 root + "/labels.csv");
  auto s = (*ds)->Get(0);
  REQUIRE(s.ok());
  CHECK(s->name == "n01440764_tench.JPEG");
  CHECK(s->label == 0);
  REQUIRE(s->input.shape() == Dims{1, 3, 224, 224});
  std::vector<float> v = testing::ToVector(s->input);
  const float lo = *std::min_element(v.begin(), v.end());
  const float hi = *std::max_element(v.begin(), v.end());
  CHECK(lo >= -2.2f);
  CHECK(hi <= 2.7f);
  CHECK(hi - lo > 1.0f);  // a real photo, not a flat image

  // Labels follow labels.csv for every image (class_index values are even).
  for (int64_t i = 0; i < (*ds)->size(); ++i) {
    REQUIRE((*ds)->label(i) >= 0);
    REQUIRE((*ds)->label(i) < 1000);
  }
  // The grayscale JPEGs decode to 3 equal channels (before normalisation).
  int64_t guitar = -1;
  for (int64_t i = 0; i < (*ds)->size(); ++i) {
    if ((*ds)->name(i) == "n02676566_acoustic_guitar.JPEG") guitar = i;
  }
  REQUIRE(guitar >= 0);
  auto raw = Dataset::Open(root, Input({1, 3, 224, 224}), WithPreprocess("imagenet,scale=1,mean=0,std=1"));
  REQUIRE(raw.ok());
  auto g = (*raw)->Get(guitar);
  REQUIRE(g.ok());
  std::vector<float> gv = testing::ToVector(g->input);
  const size_t plane = 224 * 224;
  CHECK(std::equal(gv.begin(), gv.begin() + plane, gv.begin() + plane));
  CHECK(std::equal(gv.begin(), gv.begin() + plane, gv.begin() + 2 * plane));

  // Every image decodes (batches of 50), within the normalised range.
  for (int64_t first = 0; first < (*ds)->size(); first += 50) {
    auto b = (*ds)->Batch(first, 50);
    REQUIRE(b.ok());
    std::vector<float> bv = testing::ToVector(*b);
    INFO("batch at " << first);
    CHECK(*std::min_element(bv.begin(), bv.end()) >= -2.2f);
    CHECK(*std::max_element(bv.begin(), bv.end()) <= 2.7f);
  }

  // A batch of 4 equals the single samples.
  auto batch = (*ds)->Batch(0, 4);
  REQUIRE(batch.ok());
  CHECK(batch->shape() == Dims{4, 3, 224, 224});
  std::vector<float> bv = testing::ToVector(*batch);
  CHECK(std::vector<float>(bv.begin(), bv.begin() + 3 * plane) == v);
}
