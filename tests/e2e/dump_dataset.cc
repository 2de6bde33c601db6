// Writes the samples of an image (or tensor) dataset exactly as the engine's
// --evalData / --calibData reads them (engine::data::Dataset, the same
// decoding and --preprocess), so that ONNX Runtime can be run on the very
// tensors the engine is evaluated on (tests/e2e/imagenet_top1.py).
//
//   dump_dataset <dataset dir> <preprocess spec> <C> <H> <W> <out.npy> <out_names.txt>
//
// out.npy: float32 [N, C, H, W] (or [N, H, W, C] with layout=nhwc), the N
// samples in the dataset's order; out_names.txt: one "<file name> <label>"
// line per sample (label -1 without labels). Exit status 1 with a message on
// any error.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "common/dataset.h"

namespace {

int Fail(const std::string& msg) {
  std::fprintf(stderr, "dump_dataset: %s\n", msg.c_str());
  return 1;
}

std::string NpyHeader(const engine::Dims& shape) {
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i) dims += std::to_string(shape[i]) + ", ";
  std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  const size_t total = 10 + h.size() + 1;
  h += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::string out = "\x93NUMPY";
  out += static_cast<char>(1);
  out += static_cast<char>(0);
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>((h.size() >> 8) & 0xff);
  return out + h;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8) {
    return Fail("usage: dump_dataset <dir> <preprocess> <C> <H> <W> <out.npy> <out_names.txt>");
  }
  auto pp = engine::data::ParseImagePreprocess(argv[2]);
  if (!pp.ok()) return Fail(std::string(pp.status().message()));
  const int64_t c = std::atoll(argv[3]), h = std::atoll(argv[4]), w = std::atoll(argv[5]);
  engine::TensorDesc desc;
  desc.name = "input";
  desc.dtype = engine::DataType::kFloat32;
  desc.shape = pp->layout == engine::data::ImagePreprocess::Layout::kNHWC
                   ? engine::Dims{1, h, w, c}
                   : engine::Dims{1, c, h, w};
  engine::data::DatasetOptions options;
  options.preprocess = *pp;
  auto ds = engine::data::Dataset::Open(argv[1], desc, options);
  if (!ds.ok()) return Fail(std::string(ds.status().message()));
  const int64_t n = (*ds)->size();
  engine::Dims shape = desc.shape;
  shape[0] = n;
  std::ofstream out(argv[6], std::ios::binary);
  std::ofstream names(argv[7]);
  if (!out || !names) return Fail("cannot write the output files");
  out << NpyHeader(shape);
  for (int64_t i = 0; i < n; ++i) {
    auto s = (*ds)->Get(i);
    if (!s.ok()) return Fail(std::string(s.status().message()));
    out.write(static_cast<const char*>(s->input.data()),
              static_cast<std::streamsize>(s->input.byte_size()));
    names << s->name << " " << s->label << "\n";
  }
  if (!out || !names) return Fail("write failed");
  std::printf("%lld samples: %s\n", static_cast<long long>(n), (*ds)->Describe().c_str());
  return 0;
}
