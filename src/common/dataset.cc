#include "common/dataset.h"

#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/half.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "engine/tensor_io.h"

// Image decoding: stb_image from Debian's libstb (declarations only here).
#include <stb/stb_image.h>

// Resizing: stb_image_resize (v0.97) compiled from Debian's header into this
// file, private to it (STB_IMAGE_RESIZE_STATIC), with STBIR_ASSERT disabled.
// Debian's libstb is built with assertions on, and
// stbir__normalize_downsample_coefficients asserts `total < 1.1f` for most
// ordinary downscale ratios (e.g. 500x375 -> 341x256; 311 of the 450 ImageNet
// sample images), aborting the process: nothings/stb issue #1449. The code
// renormalises the weights right after that check, so the results are right
// (checked: a linear ramp stays linear, a flat image stays flat).
#define STBIR_ASSERT(x) ((void)0)
#define STB_IMAGE_RESIZE_STATIC
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wcast-qual"
#include <stb/stb_image_resize.h>
#pragma GCC diagnostic pop

namespace engine::data {
namespace {

namespace fs = std::filesystem;
using ChannelOrder = ImagePreprocess::ChannelOrder;
using Layout = ImagePreprocess::Layout;

constexpr uint32_t kIdxImagesMagic = 2051;  // 0x00000803: uint8, 3 dims
constexpr uint32_t kIdxLabelsMagic = 2049;  // 0x00000801: uint8, 1 dim

// ---------------------------------------------------------------------------
// Small string helpers.

std::string ToLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}

bool ParseInt64(const std::string& text, int64_t* out) {
  std::string t = Trim(text);
  if (t.empty()) return false;
  const char* b = t.data();
  if (*b == '+') ++b;
  auto [ptr, ec] = std::from_chars(b, t.data() + t.size(), *out);
  return ec == std::errc() && ptr == t.data() + t.size();
}

bool ParseFloatPlain(const std::string& text, float* out) {
  std::string t = Trim(text);
  if (t.empty()) return false;
  const char* b = t.data();
  if (*b == '+') ++b;
  auto [ptr, ec] = std::from_chars(b, t.data() + t.size(), *out);
  return ec == std::errc() && ptr == t.data() + t.size() && std::isfinite(*out);
}

// A number or a fraction "a/b".
bool ParseFloat(const std::string& text, float* out) {
  size_t slash = text.find('/');
  if (slash == std::string::npos) return ParseFloatPlain(text, out);
  float num = 0, den = 0;
  if (!ParseFloatPlain(text.substr(0, slash), &num) ||
      !ParseFloatPlain(text.substr(slash + 1), &den) || den == 0.0f) {
    return false;
  }
  *out = num / den;
  return std::isfinite(*out);
}

std::string FloatToString(float v) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return absl::StrCat(v);
  return std::string(buf, ptr);
}

bool HasExtension(const std::string& name, std::initializer_list<const char*> exts) {
  std::string lower = ToLower(name);
  for (const char* e : exts) {
    if (EndsWith(lower, e)) return true;
  }
  return false;
}

bool IsImageFile(const std::string& name) {
  return HasExtension(name, {".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm"});
}
bool IsTensorFile(const std::string& name) { return HasExtension(name, {".pb", ".npy"}); }
bool IsIdx3Name(const std::string& name) {
  return HasExtension(name, {"-idx3-ubyte", "-idx3-ubyte.gz", ".idx3-ubyte", ".idx3-ubyte.gz"});
}

uint32_t BigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Reads a whole file with the one file reader (regular files only, at most
// `max_bytes`), gunzipping it in memory when it starts with the gzip magic
// (concatenated members too); the decompressed size is capped at `max_bytes`
// as well, so a gzip bomb is refused instead of exhausting memory.
absl::StatusOr<std::string> ReadMaybeGzip(const std::string& path, uint64_t max_bytes) {
  ReadFileOptions read_options;
  read_options.max_bytes = max_bytes;
  absl::StatusOr<std::string> read = ReadFileToString(path, read_options);
  if (!read.ok()) return read.status();
  std::string& raw = *read;
  const auto* magic = reinterpret_cast<const uint8_t*>(raw.data());
  if (raw.size() < 2 || magic[0] != 0x1f || magic[1] != 0x8b) return read;
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) {
    return absl::InternalError(absl::StrCat(path, ": cannot initialise zlib"));
  }
  std::string out;
  char buf[1 << 16];
  Bytef* const base = reinterpret_cast<Bytef*>(raw.data());
  z.next_in = base;
  z.avail_in = static_cast<uInt>(std::min<size_t>(raw.size(), UINT32_MAX));
  absl::Status status;
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    const int rc = inflate(&z, Z_NO_FLUSH);
    const size_t produced = sizeof(buf) - z.avail_out;
    if (out.size() + produced > max_bytes) {
      status = absl::ResourceExhaustedError(absl::StrCat(
          path, ": gzip data decompresses to more than ", max_bytes, " bytes (the limit)"));
      break;
    }
    out.append(buf, produced);
    const size_t consumed = static_cast<size_t>(z.next_in - base);
    if (rc == Z_STREAM_END) {
      // Another gzip member may follow (as gzip -c a b > c writes).
      if (consumed + 2 <= raw.size() && static_cast<uint8_t>(raw[consumed]) == 0x1f &&
          static_cast<uint8_t>(raw[consumed + 1]) == 0x8b) {
        inflateReset(&z);
        continue;
      }
      break;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0) {
      if (consumed < raw.size()) {  // the next window of a file over 4 GiB
        z.avail_in = static_cast<uInt>(std::min<size_t>(raw.size() - consumed, UINT32_MAX));
        continue;
      }
      status = absl::DataLossError(absl::StrCat(path, ": truncated gzip data"));
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      status = absl::DataLossError(
          absl::StrCat(path, ": corrupt gzip data: ", z.msg != nullptr ? z.msg : "inflate failed"));
      break;
    }
  }
  inflateEnd(&z);
  if (!status.ok()) return status;
  return out;
}

// ---------------------------------------------------------------------------
// Image input shape.

struct ImageShape {
  int64_t c = 0, h = 0, w = 0;
};

absl::StatusOr<ImageShape> CheckImageInput(const TensorDesc& input, const ImagePreprocess& pp) {
  const std::string who = absl::StrCat("input '", input.name, "' (", DimsToString(input.shape), ")");
  if (input.dtype != DataType::kFloat32 && input.dtype != DataType::kFloat16 &&
      input.dtype != DataType::kUint8) {
    return absl::InvalidArgumentError(
        absl::StrCat(who, " has dtype ", DataTypeName(input.dtype),
                     "; image datasets produce float32, float16 or uint8"));
  }
  if (input.shape.size() != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat(who, " is not rank 4; image datasets need [N, C, H, W] or [N, H, W, C]"));
  }
  ImageShape s;
  const bool nhwc = pp.layout == Layout::kNHWC;
  s.c = nhwc ? input.shape[3] : input.shape[1];
  s.h = nhwc ? input.shape[1] : input.shape[2];
  s.w = nhwc ? input.shape[2] : input.shape[3];
  if (s.c != 1 && s.c != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        who, " has ", s.c, " channels in layout ", nhwc ? "nhwc" : "nchw",
        "; images need 1 or 3 (pass layout=", nhwc ? "nchw" : "nhwc", " if that is the layout)"));
  }
  if (s.h <= 0 || s.w <= 0 || input.shape[0] <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(who, " has an empty dimension"));
  }
  // A colour normalization (different mean or std per channel, e.g. the
  // imagenet preset) on a 1-channel input would silently use the red
  // channel's constants on gray pixels: refuse it.
  if (s.c == 1 && (pp.mean[0] != pp.mean[1] || pp.mean[0] != pp.mean[2] ||
                   pp.stddev[0] != pp.stddev[1] || pp.stddev[0] != pp.stddev[2])) {
    return absl::InvalidArgumentError(absl::StrCat(
        who, " has 1 channel, but the preprocessing ", ImagePreprocessName(pp),
        " normalizes three colour channels with different mean/std; use raw, or give one "
        "value for all channels (e.g. scale=0.0039,mean=0.5:0.5:0.5,std=0.5:0.5:0.5)"));
  }
  return s;
}

Dims SampleShape(const Dims& input_shape) {
  Dims s = input_shape;
  if (!s.empty()) s[0] = 1;
  return s;
}

int64_t CropOffset(int64_t resized, int64_t out) {
  if (resized >= out) {
    const int64_t d = resized - out;
    const int64_t k = d / 2;
    if (d % 2 == 0) return k;
    return (k % 2 == 0) ? k : k + 1;  // round half to even, as Python's round()
  }
  return -((out - resized) / 2);
}

// ---------------------------------------------------------------------------
// Tensor conversion.

// `t` as dtype `to` (same values); only to float32 from other numeric types.
absl::StatusOr<Tensor> ConvertTensor(Tensor t, DataType to, const std::string& path) {
  if (t.dtype() == to) return t;
  if (to != DataType::kFloat32) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": tensor has dtype ",
                                                   DataTypeName(t.dtype()), " but the input takes ",
                                                   DataTypeName(to)));
  }
  Tensor out(DataType::kFloat32, t.shape());
  float* dst = out.data_as<float>();
  const int64_t n = t.num_elements();
  auto copy = [&](auto* src) {
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]);
  };
  switch (t.dtype()) {
    case DataType::kUint8: copy(t.data_as<uint8_t>()); break;
    case DataType::kInt8: copy(t.data_as<int8_t>()); break;
    case DataType::kInt32: copy(t.data_as<int32_t>()); break;
    case DataType::kInt64: copy(t.data_as<int64_t>()); break;
    case DataType::kBool: copy(t.data_as<uint8_t>()); break;
    case DataType::kFloat16: {
      const uint16_t* src = t.data_as<uint16_t>();
      for (int64_t i = 0; i < n; ++i) dst[i] = HalfToFloat(src[i]);
      break;
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat(path, ": tensor dtype ",
                                                     DataTypeName(t.dtype()),
                                                     " cannot be converted to float"));
  }
  return out;
}

// How many samples a tensor file of `shape` holds for `input` (1 or N), or an
// error naming the file and both shapes.
absl::StatusOr<int64_t> SamplesInTensorFile(const Dims& shape, const TensorDesc& input,
                                            const std::string& path) {
  const Dims sample = SampleShape(input.shape);
  if (shape == sample) return 1;
  if (!sample.empty() && shape == Dims(sample.begin() + 1, sample.end())) return 1;
  if (shape == input.shape) return input.shape.empty() ? 1 : input.shape[0];
  return absl::InvalidArgumentError(absl::StrCat(
      path, ": tensor shape ", DimsToString(shape), " does not match input '", input.name,
      "' shape ", DimsToString(input.shape), " (expected ", DimsToString(sample),
      " for one sample or ", DimsToString(input.shape), " for a whole batch)"));
}

// ---------------------------------------------------------------------------
// Labels.

struct Labels {
  std::string path;
  bool by_name = false;
  std::vector<int64_t> ordered;
  std::map<std::string, int64_t> named;
};

// RFC 4180 CSV: fields separated by commas, optionally quoted with '"' (with
// "" for a quote inside, and commas/newlines allowed inside quotes); CRLF or LF
// line ends. Returns rows with their 1-based starting line numbers.
absl::StatusOr<std::vector<std::pair<int64_t, std::vector<std::string>>>> ParseCsv(
    const std::string& text, const std::string& path) {
  std::vector<std::pair<int64_t, std::vector<std::string>>> rows;
  std::vector<std::string> row;
  std::string field;
  bool in_quotes = false, field_quoted = false, row_has_content = false;
  int64_t line = 1, row_line = 1;
  size_t i = 0;
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) i = 3;  // UTF-8 BOM
  auto end_field = [&] {
    row.push_back(std::move(field));
    field.clear();
    field_quoted = false;
  };
  auto end_row = [&] {
    end_field();
    if (row_has_content || row.size() > 1 || !row[0].empty()) rows.emplace_back(row_line, row);
    row.clear();
    row_has_content = false;
  };
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"') {
      if (!field.empty() || field_quoted) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ":", line, ": stray quote inside an unquoted CSV field"));
      }
      in_quotes = field_quoted = row_has_content = true;
    } else if (c == ',') {
      end_field();
      row_has_content = true;
    } else if (c == '\n' || c == '\r') {
      end_row();
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++line;
      row_line = line;
    } else {
      if (field_quoted) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ":", line, ": text after a closing quote in a CSV field"));
      }
      field += c;
      row_has_content = true;
    }
  }
  if (in_quotes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", row_line, ": unterminated quoted CSV field"));
  }
  if (!field.empty() || !row.empty() || field_quoted) end_row();
  return rows;
}

absl::Status CheckLabelValue(int64_t v, const std::string& where) {
  if (v < 0) return absl::InvalidArgumentError(absl::StrCat(where, ": negative label ", v));
  return absl::OkStatus();
}

absl::StatusOr<Labels> LoadLabels(const std::string& path, uint64_t max_bytes) {
  ENGINE_ASSIGN_OR_RETURN(std::string text, ReadMaybeGzip(path, max_bytes));
  Labels labels;
  labels.path = path;
  // IDX label file.
  if (text.size() >= 8 &&
      BigEndian32(reinterpret_cast<const uint8_t*>(text.data())) == kIdxLabelsMagic) {
    const uint32_t count = BigEndian32(reinterpret_cast<const uint8_t*>(text.data()) + 4);
    if (text.size() < 8 + uint64_t{count}) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": IDX label file is truncated: header says ",
                                                     count, " labels, file has ", text.size() - 8));
    }
    labels.ordered.reserve(count);
    for (uint32_t i = 0; i < count; ++i) labels.ordered.push_back(static_cast<uint8_t>(text[8 + i]));
    return labels;
  }
  if (text.size() >= 4 && text[0] == 0 && text[1] == 0 && text[2] == 0x08) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": IDX file with magic ", BigEndian32(reinterpret_cast<const uint8_t*>(text.data())),
        " is not a label file (magic 2049)"));
  }
  if (HasExtension(path, {".csv", ".csv.gz"})) {
    ENGINE_ASSIGN_OR_RETURN(auto rows, ParseCsv(text, path));
    if (rows.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": empty CSV file"));
    const std::vector<std::string>& header = rows[0].second;
    int file_col = -1, label_col = -1;
    for (size_t c = 0; c < header.size(); ++c) {
      const std::string h = ToLower(Trim(header[c]));
      if (file_col < 0 && (h == "file" || h == "filename" || h == "file_name")) file_col = static_cast<int>(c);
      if (label_col < 0 && (h == "class_index" || h == "label")) label_col = static_cast<int>(c);
    }
    if (file_col < 0 || label_col < 0) {
      std::vector<std::string> quoted;
      for (const auto& h : header) quoted.push_back(absl::StrCat("'", h, "'"));
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": CSV header needs a 'file' and a 'class_index' (or 'label') column; it has ",
          absl::StrJoin(quoted, ", ")));
    }
    labels.by_name = true;
    for (size_t r = 1; r < rows.size(); ++r) {
      const auto& [line, fields] = rows[r];
      const std::string where = absl::StrCat(path, ":", line);
      if (static_cast<int>(fields.size()) <= std::max(file_col, label_col)) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": row has ", fields.size(),
                                                       " fields, fewer than the header"));
      }
      int64_t v = 0;
      if (!ParseInt64(fields[label_col], &v)) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": label '", fields[label_col], "' is not an integer"));
      }
      ENGINE_RETURN_IF_ERROR(CheckLabelValue(v, where));
      labels.named.emplace(Trim(fields[file_col]), v);
    }
    return labels;
  }
  // Text: "<label>" per line (sample order) or "<file name> <label>" per line.
  int kind = 0;  // 1 ordered, 2 named
  int64_t line_no = 0;
  for (const std::string& raw : Split(text, '\n')) {
    ++line_no;
    const std::string line = Trim(raw);
    if (line.empty() || line[0] == '#') continue;
    const std::string where = absl::StrCat(path, ":", line_no);
    size_t sep = line.find_last_of(" \t,");
    const int this_kind = sep == std::string::npos ? 1 : 2;
    if (kind != 0 && kind != this_kind) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": mixes '<label>' lines and '<file> <label>' lines"));
    }
    kind = this_kind;
    int64_t v = 0;
    const std::string value = this_kind == 1 ? line : line.substr(sep + 1);
    if (!ParseInt64(value, &v)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": label '", value, "' is not an integer"));
    }
    ENGINE_RETURN_IF_ERROR(CheckLabelValue(v, where));
    if (this_kind == 1) {
      labels.ordered.push_back(v);
    } else {
      std::string name = Trim(line.substr(0, sep));
      while (!name.empty() && name.back() == ',') name = Trim(name.substr(0, name.size() - 1));
      labels.named.emplace(name, v);
    }
  }
  if (kind == 0) return absl::InvalidArgumentError(absl::StrCat(path, ": no labels in file"));
  labels.by_name = kind == 2;
  return labels;
}

// Label of the sample at sorted position `order` named `name`.
absl::StatusOr<int64_t> LookUpLabel(const Labels& labels, int64_t order, const std::string& name,
                                    const std::string& file_name) {
  if (labels.by_name) {
    auto it = labels.named.find(name);
    if (it == labels.named.end() && file_name != name) it = labels.named.find(file_name);
    if (it == labels.named.end()) {
      return absl::InvalidArgumentError(absl::StrCat("sample '", name, "' (index ", order,
                                                     ") has no label in ", labels.path));
    }
    return it->second;
  }
  if (order >= static_cast<int64_t>(labels.ordered.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sample '", name, "' (index ", order, ") has no label: ", labels.path, " has only ",
        labels.ordered.size(), " labels"));
  }
  return labels.ordered[order];
}

bool IsFile(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// Default labels file for a dataset, or "".
std::string FindDefaultLabels(DatasetKind kind, const fs::path& given, const fs::path& source) {
  if (kind == DatasetKind::kMnist) {
    std::string name = source.filename().string();
    size_t pos = name.find("images-idx3-ubyte");
    if (pos == std::string::npos) pos = name.find("images.idx3-ubyte");
    if (pos == std::string::npos) return "";
    std::string base = name.substr(0, pos) + "labels" + name.substr(pos + 6, 1) + "idx1-ubyte";
    for (const char* ext : {"", ".gz"}) {
      fs::path p = source.parent_path() / (base + ext);
      if (IsFile(p)) return p.string();
    }
    return "";
  }
  std::error_code ec;
  if (!fs::is_directory(source, ec)) return "";
  std::vector<fs::path> candidates = {source / "labels.csv"};
  if (given != source) candidates.push_back(given / "labels.csv");
  if (source.filename() == "images") candidates.push_back(source.parent_path() / "labels.csv");
  for (const fs::path& p : candidates) {
    if (IsFile(p)) return p.string();
  }
  return "";
}

}  // namespace

// ---------------------------------------------------------------------------
// Preprocessing options.

ImagePreprocess ImagenetPreprocess() {
  ImagePreprocess pp;
  pp.resize = 256;
  pp.center_crop = true;
  pp.scale = 1.0f / 255.0f;
  pp.mean = {0.485f, 0.456f, 0.406f};
  pp.stddev = {0.229f, 0.224f, 0.225f};
  return pp;
}

ImagePreprocess RawPreprocess() { return ImagePreprocess{}; }

ImagePreprocess CaffePreprocess() {
  ImagePreprocess pp;
  pp.resize = 256;
  pp.center_crop = true;
  pp.scale = 1.0f;
  pp.mean = {103.939f, 116.779f, 123.68f};
  pp.stddev = {1.0f, 1.0f, 1.0f};
  pp.order = ChannelOrder::kBGR;
  return pp;
}

absl::Status ValidateImagePreprocess(const ImagePreprocess& pp) {
  if (pp.resize < 0) {
    return absl::InvalidArgumentError(absl::StrCat("preprocessing: resize=", pp.resize, " is negative"));
  }
  if (pp.resize > 0 && !pp.center_crop) {
    return absl::InvalidArgumentError(absl::StrCat(
        "preprocessing: resize=", pp.resize,
        " needs crop (the shorter side is resized, then the input's H x W is cropped); use resize=0 "
        "to resize directly to H x W"));
  }
  if (!std::isfinite(pp.scale)) {
    return absl::InvalidArgumentError("preprocessing: scale is not finite");
  }
  for (int c = 0; c < 3; ++c) {
    if (!std::isfinite(pp.mean[c])) {
      return absl::InvalidArgumentError(absl::StrCat("preprocessing: mean[", c, "] is not finite"));
    }
    if (!std::isfinite(pp.stddev[c]) || pp.stddev[c] == 0.0f) {
      return absl::InvalidArgumentError(
          absl::StrCat("preprocessing: std[", c, "] = ", pp.stddev[c], " must be finite and non-zero"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ImagePreprocess> ParseImagePreprocess(const std::string& spec) {
  ImagePreprocess pp = RawPreprocess();
  const std::string ctx = absl::StrCat(" in preprocessing '", spec, "'");
  for (const std::string& raw_item : Split(spec, ',')) {
    const std::string item = Trim(raw_item);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    const std::string key = ToLower(Trim(item.substr(0, eq)));
    const bool has_value = eq != std::string::npos;
    const std::string value = has_value ? Trim(item.substr(eq + 1)) : "";
    const std::string lvalue = ToLower(value);
    auto bad_value = [&](const std::string& why) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad value '", value, "' for key '", key, "'", ctx, ": ", why));
    };
    auto need_value = [&]() -> absl::Status {
      if (!has_value || value.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("key '", key, "' needs a value (", key, "=...)", ctx));
      }
      return absl::OkStatus();
    };
    auto parse_triple = [&](std::array<float, 3>* out) -> absl::Status {
      ENGINE_RETURN_IF_ERROR(need_value());
      std::vector<std::string> parts = Split(value, ':');
      if (parts.size() != 1 && parts.size() != 3) {
        return bad_value(absl::StrCat("expected 1 or 3 ':'-separated numbers, got ", parts.size()));
      }
      std::array<float, 3> v{};
      for (size_t i = 0; i < parts.size(); ++i) {
        if (!ParseFloat(parts[i], &v[i])) return bad_value(absl::StrCat("'", parts[i], "' is not a number"));
      }
      if (parts.size() == 1) v = {v[0], v[0], v[0]};
      *out = v;
      return absl::OkStatus();
    };
    if (!has_value && (key == "imagenet" || key == "raw" || key == "caffe")) {
      pp = key == "imagenet" ? ImagenetPreprocess() : key == "raw" ? RawPreprocess() : CaffePreprocess();
    } else if (key == "resize") {
      ENGINE_RETURN_IF_ERROR(need_value());
      int64_t v = 0;
      if (!ParseInt64(value, &v) || v < 0) return bad_value("expected an integer >= 0");
      pp.resize = v;
    } else if (key == "crop" || key == "center_crop") {
      if (!has_value) {
        pp.center_crop = true;
      } else if (lvalue == "true" || lvalue == "1" || lvalue == "on" || lvalue == "yes" || lvalue == "center") {
        pp.center_crop = true;
      } else if (lvalue == "false" || lvalue == "0" || lvalue == "off" || lvalue == "no" || lvalue == "none") {
        pp.center_crop = false;
      } else {
        return bad_value("expected true or false");
      }
    } else if (key == "nocrop" && !has_value) {
      pp.center_crop = false;
    } else if (key == "scale") {
      ENGINE_RETURN_IF_ERROR(need_value());
      if (!ParseFloat(value, &pp.scale)) return bad_value("expected a number or a fraction like 1/255");
    } else if (key == "mean") {
      ENGINE_RETURN_IF_ERROR(parse_triple(&pp.mean));
    } else if (key == "std" || key == "stddev") {
      std::array<float, 3> v;
      ENGINE_RETURN_IF_ERROR(parse_triple(&v));
      for (float x : v) {
        if (x == 0.0f) return bad_value("std must be non-zero");
      }
      pp.stddev = v;
    } else if (key == "order") {
      ENGINE_RETURN_IF_ERROR(need_value());
      if (lvalue == "rgb") pp.order = ChannelOrder::kRGB;
      else if (lvalue == "bgr") pp.order = ChannelOrder::kBGR;
      else return bad_value("expected rgb or bgr");
    } else if (key == "layout") {
      ENGINE_RETURN_IF_ERROR(need_value());
      if (lvalue == "nchw") pp.layout = Layout::kNCHW;
      else if (lvalue == "nhwc") pp.layout = Layout::kNHWC;
      else return bad_value("expected nchw or nhwc");
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown preprocessing key '", key, "'", ctx,
          "; known: imagenet, raw, caffe, resize=N, crop, nocrop, scale=F, mean=A:B:C, std=A:B:C, "
          "order=rgb|bgr, layout=nchw|nhwc"));
    }
  }
  absl::Status valid = ValidateImagePreprocess(pp);
  if (!valid.ok()) return absl::InvalidArgumentError(absl::StrCat(valid.message(), ctx));
  return pp;
}

std::string ImagePreprocessToString(const ImagePreprocess& pp) {
  auto triple = [](const std::array<float, 3>& v) {
    return absl::StrCat(FloatToString(v[0]), ":", FloatToString(v[1]), ":", FloatToString(v[2]));
  };
  return absl::StrCat("resize=", pp.resize, ",", pp.center_crop ? "crop" : "nocrop",
                      ",scale=", FloatToString(pp.scale), ",mean=", triple(pp.mean),
                      ",std=", triple(pp.stddev),
                      ",order=", pp.order == ChannelOrder::kBGR ? "bgr" : "rgb",
                      ",layout=", pp.layout == Layout::kNHWC ? "nhwc" : "nchw");
}

std::string ImagePreprocessName(const ImagePreprocess& pp) {
  auto close = [](float a, float b) { return std::fabs(a - b) <= 1e-6f * std::max(1.0f, std::fabs(b)); };
  auto same = [&](const ImagePreprocess& q) {
    if (pp.resize != q.resize || pp.order != q.order || pp.layout != q.layout ||
        !close(pp.scale, q.scale)) {
      return false;
    }
    // center_crop has no effect without resize.
    if (pp.resize > 0 && pp.center_crop != q.center_crop) return false;
    for (int c = 0; c < 3; ++c) {
      if (!close(pp.mean[c], q.mean[c]) || !close(pp.stddev[c], q.stddev[c])) return false;
    }
    return true;
  };
  if (same(ImagenetPreprocess())) return "imagenet";
  if (same(RawPreprocess())) return "raw";
  if (same(CaffePreprocess())) return "caffe";
  return ImagePreprocessToString(pp);
}

ImageGeometry ComputeGeometry(int64_t src_width, int64_t src_height, int64_t out_width,
                              int64_t out_height, const ImagePreprocess& pp) {
  ImageGeometry g;
  if (pp.resize > 0) {
    if (src_width <= src_height) {
      g.resized_width = pp.resize;
      g.resized_height = std::max<int64_t>(1, pp.resize * src_height / std::max<int64_t>(1, src_width));
    } else {
      g.resized_height = pp.resize;
      g.resized_width = std::max<int64_t>(1, pp.resize * src_width / std::max<int64_t>(1, src_height));
    }
    g.left = CropOffset(g.resized_width, out_width);
    g.top = CropOffset(g.resized_height, out_height);
  } else {
    g.resized_width = out_width;
    g.resized_height = out_height;
  }
  return g;
}

absl::StatusOr<Tensor> PreprocessImage(const uint8_t* pixels, int64_t width, int64_t height,
                                       int channels, const TensorDesc& input,
                                       const ImagePreprocess& pp) {
  ENGINE_RETURN_IF_ERROR(ValidateImagePreprocess(pp));
  ENGINE_ASSIGN_OR_RETURN(ImageShape shape, CheckImageInput(input, pp));
  if (pixels == nullptr || width <= 0 || height <= 0 || width > (1 << 24) || height > (1 << 24)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad image size ", width, "x", height, " or no pixel data"));
  }
  if (channels < 1 || channels > 4) {
    return absl::InvalidArgumentError(absl::StrCat("bad image channel count ", channels));
  }
  const int64_t C = shape.c, H = shape.h, W = shape.w;
  const int64_t npix = width * height;

  // 1. Channel conversion to C channels (RGB order for C = 3).
  std::vector<uint8_t> converted;
  const uint8_t* src = pixels;
  if (channels != C) {
    converted.resize(static_cast<size_t>(npix * C));
    for (int64_t i = 0; i < npix; ++i) {
      const uint8_t* p = pixels + i * channels;
      uint8_t* q = converted.data() + i * C;
      if (C == 3) {
        if (channels <= 2) {
          q[0] = q[1] = q[2] = p[0];
        } else {
          q[0] = p[0], q[1] = p[1], q[2] = p[2];
        }
      } else if (channels <= 2) {
        q[0] = p[0];
      } else {
        q[0] = static_cast<uint8_t>((19595u * p[0] + 38470u * p[1] + 7471u * p[2] + 0x8000u) >> 16);
      }
    }
    src = converted.data();
  }

  // 2. Geometry.
  const ImageGeometry g = ComputeGeometry(width, height, W, H, pp);
  std::vector<uint8_t> resized;
  const uint8_t* img = src;
  if (g.resized_width != width || g.resized_height != height) {
    resized.resize(static_cast<size_t>(g.resized_width * g.resized_height * C));
    const int ok = stbir_resize_uint8_generic(
        src, static_cast<int>(width), static_cast<int>(height), 0, resized.data(),
        static_cast<int>(g.resized_width), static_cast<int>(g.resized_height), 0,
        static_cast<int>(C), STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP, STBIR_FILTER_TRIANGLE,
        STBIR_COLORSPACE_LINEAR, nullptr);
    if (!ok) {
      return absl::InternalError(absl::StrCat("stb_image_resize failed resizing ", width, "x",
                                              height, " to ", g.resized_width, "x",
                                              g.resized_height));
    }
    img = resized.data();
  }

  // 3./4. Normalisation through a per-channel table, channel order, layout.
  std::array<std::array<float, 256>, 3> lut;
  for (int64_t k = 0; k < C; ++k) {
    for (int p = 0; p < 256; ++p) {
      lut[k][p] = (static_cast<float>(p) * pp.scale - pp.mean[k]) / pp.stddev[k];
    }
  }
  const bool bgr = C == 3 && pp.order == ChannelOrder::kBGR;
  const bool nhwc = pp.layout == Layout::kNHWC;
  Tensor out(input.dtype, SampleShape(input.shape));
  float* out_f = input.dtype == DataType::kFloat32 ? out.data_as<float>() : nullptr;
  uint16_t* out_f16 = input.dtype == DataType::kFloat16 ? out.data_as<uint16_t>() : nullptr;
  uint8_t* out_u8 = input.dtype == DataType::kUint8 ? out.data_as<uint8_t>() : nullptr;
  for (int64_t y = 0; y < H; ++y) {
    const int64_t sy = y + g.top;
    const bool row_in = sy >= 0 && sy < g.resized_height;
    for (int64_t x = 0; x < W; ++x) {
      const int64_t sx = x + g.left;
      const bool in = row_in && sx >= 0 && sx < g.resized_width;
      const uint8_t* px = in ? img + (sy * g.resized_width + sx) * C : nullptr;
      for (int64_t k = 0; k < C; ++k) {
        const int64_t sk = bgr ? 2 - k : k;
        const float v = lut[k][px ? px[sk] : 0];
        const int64_t o = nhwc ? (y * W + x) * C + k : (k * H + y) * W + x;
        if (out_f) {
          out_f[o] = v;
        } else if (out_f16) {
          out_f16[o] = FloatToHalf(v);
        } else {
          out_u8[o] = static_cast<uint8_t>(std::clamp(std::nearbyint(v), 0.0f, 255.0f));
        }
      }
    }
  }
  return out;
}

namespace {

uint32_t LittleEndian32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

/// Width and height declared by a PNG, BMP, GIF or binary/ASCII PNM header,
/// read directly (stb_image refuses sizes past 2^24 per side with a generic
/// error, which would hide a decompression bomb behind "unknown image type").
std::optional<std::pair<uint64_t, uint64_t>> PeekImageSize(const std::string& bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  if (n >= 24 && std::memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0 && std::memcmp(p + 12, "IHDR", 4) == 0) {
    return std::make_pair(uint64_t{BigEndian32(p + 16)}, uint64_t{BigEndian32(p + 20)});
  }
  if (n >= 26 && p[0] == 'B' && p[1] == 'M') {
    const int32_t w = static_cast<int32_t>(LittleEndian32(p + 18));
    const int32_t h = static_cast<int32_t>(LittleEndian32(p + 22));
    auto mag = [](int32_t v) { return v < 0 ? uint64_t{0} - static_cast<uint64_t>(int64_t{v}) : static_cast<uint64_t>(v); };
    return std::make_pair(mag(w), mag(h));
  }
  if (n >= 10 && (std::memcmp(p, "GIF87a", 6) == 0 || std::memcmp(p, "GIF89a", 6) == 0)) {
    return std::make_pair(uint64_t{p[6]} | (uint64_t{p[7]} << 8), uint64_t{p[8]} | (uint64_t{p[9]} << 8));
  }
  if (n >= 3 && p[0] == 'P' && p[1] >= '1' && p[1] <= '6') {
    // "P6 <ws> width <ws> height ...", '#' comments to the end of the line.
    size_t i = 2;
    uint64_t dims[2] = {0, 0};
    for (uint64_t& d : dims) {
      while (i < n && (std::isspace(p[i]) || p[i] == '#')) {
        if (p[i] == '#') {
          while (i < n && p[i] != '\n') ++i;
        } else {
          ++i;
        }
      }
      if (i >= n || !std::isdigit(p[i])) return std::nullopt;
      while (i < n && std::isdigit(p[i])) {
        if (d > (uint64_t{1} << 40)) return std::make_pair(uint64_t{1} << 40, uint64_t{1} << 40);
        d = d * 10 + (p[i++] - '0');
      }
    }
    return std::make_pair(dims[0], dims[1]);
  }
  return std::nullopt;
}

// stb_image's limit on either side (STBI_MAX_DIMENSIONS).
constexpr uint64_t kMaxImageSide = uint64_t{1} << 24;

absl::Status ImageTooLarge(const std::string& path, uint64_t w, uint64_t h, int64_t max_pixels) {
  return absl::ResourceExhaustedError(absl::StrCat(path, ": image too large: ", w, "x", h,
                                                   " (limit ", max_pixels, " pixels, ",
                                                   kMaxImageSide, " per side)"));
}

/// Whether a w x h image is over `max_pixels` or kMaxImageSide (without
/// overflow).
bool OverPixelLimit(uint64_t w, uint64_t h, int64_t max_pixels) {
  const uint64_t max = static_cast<uint64_t>(std::max<int64_t>(0, max_pixels));
  return w > kMaxImageSide || h > kMaxImageSide || (w != 0 && h > max / w);
}

/// Frees stb_image pixels.
struct StbiFree {
  void operator()(stbi_uc* p) const { stbi_image_free(p); }
};
using StbiPixels = std::unique_ptr<stbi_uc, StbiFree>;

/// Checks and decodes image file contents to 8-bit pixels: `gray` loads a
/// gray source as 1 channel (then *channels = 1), otherwise everything as
/// RGB (*channels = 3).
absl::StatusOr<StbiPixels> DecodeImageBytes(const std::string& path, const std::string& bytes,
                                            const ImageLimits& limits, bool gray, int* width,
                                            int* height, int* channels) {
  int w = 0, h = 0, comp = 0;
  ENGINE_RETURN_IF_ERROR(CheckImageHeader(path, bytes, limits, &w, &h, &comp));
  const int req = gray && comp <= 2 ? 1 : 3;
  int dw = 0, dh = 0, dcomp = 0;
  StbiPixels pixels(stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()),
                                          static_cast<int>(bytes.size()), &dw, &dh, &dcomp, req));
  if (pixels == nullptr) {
    const char* why = stbi_failure_reason();
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot decode image: ", why ? why : "unknown error"));
  }
  if (OverPixelLimit(static_cast<uint64_t>(dw), static_cast<uint64_t>(dh), limits.max_pixels)) {
    return ImageTooLarge(path, static_cast<uint64_t>(dw), static_cast<uint64_t>(dh), limits.max_pixels);
  }
  *width = dw;
  *height = dh;
  *channels = req;
  return pixels;
}

absl::StatusOr<std::string> ReadImageFile(const std::string& path, const ImageLimits& limits) {
  ReadFileOptions options;
  options.max_bytes = std::min<uint64_t>(limits.max_file_bytes, INT32_MAX);
  absl::StatusOr<std::string> bytes = ReadFileToString(path, options);
  if (!bytes.ok() && bytes.status().code() == absl::StatusCode::kNotFound) return bytes.status();
  if (!bytes.ok() && bytes.status().code() == absl::StatusCode::kDataLoss) {
    return absl::InvalidArgumentError(bytes.status().message());
  }
  return bytes;
}

}  // namespace

absl::Status CheckImageHeader(const std::string& path, const std::string& bytes,
                              const ImageLimits& limits, int* width, int* height, int* channels) {
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) {
    return absl::ResourceExhaustedError(
        absl::StrCat(path, ": image file of ", bytes.size(), " bytes is too large to decode"));
  }
  int w = 0, h = 0, comp = 0;
  if (stbi_info_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()),
                            static_cast<int>(bytes.size()), &w, &h, &comp) &&
      w > 0 && h > 0) {
    if (OverPixelLimit(static_cast<uint64_t>(w), static_cast<uint64_t>(h), limits.max_pixels)) {
      return ImageTooLarge(path, static_cast<uint64_t>(w), static_cast<uint64_t>(h), limits.max_pixels);
    }
    *width = w;
    *height = h;
    *channels = comp;
    return absl::OkStatus();
  }
  const char* why = stbi_failure_reason();
  if (auto size = PeekImageSize(bytes);
      size && OverPixelLimit(size->first, size->second, limits.max_pixels)) {
    return ImageTooLarge(path, size->first, size->second, limits.max_pixels);
  }
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": cannot decode image: ", why ? why : "unknown error"));
}

absl::StatusOr<Tensor> LoadImageTensor(const std::string& path, const TensorDesc& input,
                                       const ImagePreprocess& pp, const ImageLimits& limits) {
  ENGINE_ASSIGN_OR_RETURN(ImageShape shape, CheckImageInput(input, pp));
  ENGINE_ASSIGN_OR_RETURN(std::string bytes, ReadImageFile(path, limits));
  // Gray sources are loaded as they are for a 1-channel input; colour ones as
  // RGB (converted with PIL's luminance weights in PreprocessImage).
  int w = 0, h = 0, channels = 0;
  ENGINE_ASSIGN_OR_RETURN(StbiPixels pixels,
                          DecodeImageBytes(path, bytes, limits, shape.c == 1, &w, &h, &channels));
  bytes = std::string();
  absl::StatusOr<Tensor> t = PreprocessImage(pixels.get(), w, h, channels, input, pp);
  if (!t.ok()) return Annotate(t.status(), path);
  return t;
}

// ---------------------------------------------------------------------------
// Dataset.

absl::StatusOr<std::unique_ptr<Dataset>> Dataset::Open(const std::string& path,
                                                       const TensorDesc& input,
                                                       const DatasetOptions& options) {
  std::unique_ptr<Dataset> ds(new Dataset());
  ds->path_ = path;
  ds->input_ = input;
  ds->options_ = options;
  ds->sample_shape_ = SampleShape(input.shape);
  if (input.shape.empty() || input.shape[0] <= 0 || NumElements(input.shape) <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dataset ", path, ": input '", input.name, "' shape ", DimsToString(input.shape),
        " has no batch dimension or is empty"));
  }

  // Find the source.
  std::error_code ec;
  const fs::path given(path);
  const fs::file_status st = fs::status(given, ec);
  if (ec || !fs::exists(st)) {
    return absl::NotFoundError(absl::StrCat("dataset path ", path, " does not exist"));
  }
  fs::path source = given;
  std::vector<std::string> files;  // sorted file names (images or tensors), or the MNIST file
  auto list_dir = [&](const fs::path& dir, std::vector<std::string>* images,
                      std::vector<std::string>* tensors, std::vector<std::string>* idx) -> absl::Status {
    std::error_code lec;
    fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, lec);
    if (lec) {
      return absl::NotFoundError(absl::StrCat(dir.string(), ": cannot list directory: ", lec.message()));
    }
    for (const fs::directory_entry& e : it) {
      std::error_code fec;
      if (!e.is_regular_file(fec)) continue;
      const std::string name = e.path().filename().string();
      if (IsImageFile(name)) images->push_back(name);
      else if (IsTensorFile(name)) tensors->push_back(name);
      else if (IsIdx3Name(name)) idx->push_back(name);
    }
    std::sort(images->begin(), images->end());
    std::sort(tensors->begin(), tensors->end());
    std::sort(idx->begin(), idx->end());
    return absl::OkStatus();
  };
  bool single_file = false;
  if (fs::is_directory(st) && !options.tensor_files.empty()) {
    for (const std::string& name : options.tensor_files) {
      if (!IsTensorFile(name)) {
        return absl::InvalidArgumentError(
            absl::StrCat("dataset ", path, ": ", name, " is not a tensor file (.pb .npy)"));
      }
    }
    ds->kind_ = DatasetKind::kTensors;
    files = options.tensor_files;
  } else if (fs::is_directory(st)) {
    std::vector<std::string> images, tensors, idx;
    ENGINE_RETURN_IF_ERROR(list_dir(source, &images, &tensors, &idx));
    if (images.empty() && tensors.empty() && idx.empty() && fs::is_directory(source / "images", ec)) {
      source = source / "images";
      ENGINE_RETURN_IF_ERROR(list_dir(source, &images, &tensors, &idx));
    }
    if (!images.empty() && !tensors.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "dataset ", source.string(), " mixes image files (", images.front(), ") and tensor files (",
          tensors.front(), "); keep one kind per directory"));
    }
    if (!images.empty()) {
      ds->kind_ = DatasetKind::kImages;
      files = std::move(images);
    } else if (!tensors.empty()) {
      ds->kind_ = DatasetKind::kTensors;
      files = std::move(tensors);
    } else if (idx.size() == 1) {
      ds->kind_ = DatasetKind::kMnist;
      source = source / idx[0];
    } else if (idx.size() > 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "dataset ", source.string(), " holds several MNIST image files (", absl::StrJoin(idx, ", "),
          "); pass one of them"));
    } else {
      return absl::NotFoundError(absl::StrCat(
          "dataset ", path, " holds no images (.jpg .jpeg .png .bmp .pgm .ppm), tensor files "
          "(.pb .npy) or MNIST IDX image file (*-idx3-ubyte[.gz])"));
    }
  } else {
    single_file = true;
    const std::string name = given.filename().string();
    if (IsImageFile(name)) {
      ds->kind_ = DatasetKind::kImages;
    } else if (IsTensorFile(name)) {
      ds->kind_ = DatasetKind::kTensors;
    } else {
      ds->kind_ = DatasetKind::kMnist;  // checked by its magic below
    }
    if (ds->kind_ != DatasetKind::kMnist) {
      files.push_back(name);
      source = given.parent_path();
    }
  }

  if (ds->kind_ != DatasetKind::kTensors) {
    ENGINE_RETURN_IF_ERROR(ValidateImagePreprocess(options.preprocess));
    absl::StatusOr<ImageShape> shape = CheckImageInput(input, options.preprocess);
    if (!shape.ok()) return Annotate(shape.status(), absl::StrCat("dataset ", path));
  }

  // Labels.
  std::string labels_path = options.labels_path;
  if (labels_path.empty() && !single_file) labels_path = FindDefaultLabels(ds->kind_, given, source);
  if (labels_path.empty() && single_file && ds->kind_ == DatasetKind::kMnist) {
    labels_path = FindDefaultLabels(ds->kind_, given, given);
  }
  std::optional<Labels> labels;
  if (!labels_path.empty()) {
    ENGINE_ASSIGN_OR_RETURN(labels, LoadLabels(labels_path, options.limits.max_file_bytes));
    ds->has_labels_ = true;
    ds->labels_path_ = labels_path;
  }

  const int64_t limit = options.limit > 0 ? options.limit : INT64_MAX;
  auto add_entry = [&](std::string file_path, std::string name, const std::string& file_name,
                       int64_t sub, int64_t order) -> absl::Status {
    Entry e{std::move(file_path), std::move(name), sub, -1};
    if (labels) {
      absl::StatusOr<int64_t> label = LookUpLabel(*labels, order, e.name, file_name);
      if (!label.ok()) return Annotate(label.status(), absl::StrCat("dataset ", path));
      e.label = *label;
    }
    ds->entries_.push_back(std::move(e));
    return absl::OkStatus();
  };
  auto skip = [&](const std::string& file, const absl::Status& why) {
    ds->skipped_.push_back(file);
    ds->skip_reasons_.push_back(std::string(why.message()));
  };

  switch (ds->kind_) {
    case DatasetKind::kImages: {
      // Each file is read and its header checked (decoded whole with
      // skip_unreadable), in parallel chunks, until `limit` samples are found.
      auto check = [&](const std::string& file) -> absl::Status {
        ENGINE_ASSIGN_OR_RETURN(std::string bytes, ReadImageFile(file, options.limits));
        int w = 0, h = 0, c = 0;
        if (!options.skip_unreadable) return CheckImageHeader(file, bytes, options.limits, &w, &h, &c);
        return DecodeImageBytes(file, bytes, options.limits, /*gray=*/false, &w, &h, &c).status();
      };
      const size_t threads = static_cast<size_t>(
          options.num_threads > 0 ? options.num_threads
                                  : std::max<unsigned>(1, std::thread::hardware_concurrency()));
      const size_t chunk = std::max<size_t>(threads * 4, 16);
      for (size_t begin = 0; begin < files.size() && ds->size() < limit; begin += chunk) {
        const size_t end = std::min(files.size(), begin + chunk);
        std::vector<absl::Status> status(end - begin);
        std::atomic<size_t> next{begin};
        auto work = [&] {
          for (size_t i = next++; i < end; i = next++) status[i - begin] = check((source / files[i]).string());
        };
        if (threads <= 1 || end - begin <= 1) {
          work();
        } else {
          std::vector<std::thread> pool;
          for (size_t t = 0; t < std::min(threads, end - begin); ++t) pool.emplace_back(work);
          for (std::thread& t : pool) t.join();
        }
        for (size_t i = begin; i < end && ds->size() < limit; ++i) {
          const std::string file = (source / files[i]).string();
          if (!status[i - begin].ok()) {
            if (!options.skip_unreadable) return status[i - begin];
            skip(file, status[i - begin]);
            continue;
          }
          ENGINE_RETURN_IF_ERROR(add_entry(file, files[i], files[i], -1, static_cast<int64_t>(i)));
        }
      }
      break;
    }
    case DatasetKind::kTensors: {
      int64_t order = 0;
      for (size_t i = 0; i < files.size() && ds->size() < limit; ++i) {
        const std::string file = (source / files[i]).string();
        absl::StatusOr<NamedTensor> t = LoadTensorFile(file);
        if (!t.ok()) {
          absl::Status status = std::string(t.status().message()).find(file) == std::string::npos
                                    ? Annotate(t.status(), file)
                                    : t.status();
          if (!options.skip_unreadable) return status;
          skip(file, status);
          continue;
        }
        ENGINE_ASSIGN_OR_RETURN(int64_t n, SamplesInTensorFile(t->tensor.shape(), input, file));
        if (t->tensor.dtype() != input.dtype) {
          // Checks convertibility now rather than at Get.
          ENGINE_RETURN_IF_ERROR(ConvertTensor(Tensor(t->tensor.dtype(), {0}), input.dtype, file).status());
        }
        for (int64_t j = 0; j < n && ds->size() < limit; ++j, ++order) {
          if (n == 1) {
            ENGINE_RETURN_IF_ERROR(add_entry(file, files[i], files[i], -1, order));
          } else {
            ENGINE_RETURN_IF_ERROR(
                add_entry(file, absl::StrCat(files[i], "[", j, "]"), files[i], j, order));
          }
        }
      }
      break;
    }
    case DatasetKind::kMnist: {
      const std::string file = source.string();
      ENGINE_ASSIGN_OR_RETURN(std::string bytes, ReadMaybeGzip(file, options.limits.max_file_bytes));
      const uint8_t* p = reinterpret_cast<const uint8_t*>(bytes.data());
      if (bytes.size() < 16 || BigEndian32(p) != kIdxImagesMagic) {
        return absl::InvalidArgumentError(absl::StrCat(
            file, single_file ? ": not an image (.jpg .jpeg .png .bmp .pgm .ppm), tensor file (.pb "
                                ".npy) or MNIST IDX image file (magic 2051)"
                              : ": not an MNIST IDX image file (magic 2051)"));
      }
      const int64_t count = BigEndian32(p + 4);
      ds->mnist_rows_ = BigEndian32(p + 8);
      ds->mnist_cols_ = BigEndian32(p + 12);
      if (OverPixelLimit(static_cast<uint64_t>(ds->mnist_cols_), static_cast<uint64_t>(ds->mnist_rows_),
                         options.limits.max_pixels)) {
        return ImageTooLarge(file, static_cast<uint64_t>(ds->mnist_cols_),
                             static_cast<uint64_t>(ds->mnist_rows_), options.limits.max_pixels);
      }
      // rows x cols is within the pixel limit now; the data size is compared
      // by division so that count x image_bytes cannot overflow.
      const int64_t image_bytes = ds->mnist_rows_ * ds->mnist_cols_;
      if (image_bytes <= 0 || count > static_cast<int64_t>(bytes.size() - 16) / image_bytes) {
        return absl::InvalidArgumentError(absl::StrCat(
            file, ": IDX image file is truncated or empty: header says ", count, " images of ",
            ds->mnist_rows_, "x", ds->mnist_cols_, ", file has ", bytes.size() - 16, " data bytes"));
      }
      const int64_t n = std::min(count, limit);
      ds->mnist_pixels_.assign(p + 16, p + 16 + n * image_bytes);
      ds->path_ = file;
      for (int64_t i = 0; i < n; ++i) {
        ENGINE_RETURN_IF_ERROR(add_entry("", absl::StrCat("mnist[", i, "]"), "", i, i));
      }
      break;
    }
  }

  if (ds->entries_.empty()) {
    if (!ds->skipped_.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "dataset ", path, ": no readable files; all ", ds->skipped_.size(),
          " were skipped (first: ", ds->skip_reasons_.front(), ")"));
    }
    return absl::NotFoundError(absl::StrCat("dataset ", path, " has no samples"));
  }
  return ds;
}

absl::StatusOr<MultiInputFiles> GroupTensorFilesByInput(
    const std::string& dir, const std::vector<std::string>& input_names) {
  std::error_code ec;
  if (!fs::is_directory(fs::path(dir), ec)) {
    return absl::NotFoundError(absl::StrCat("dataset ", dir, " is not a directory"));
  }
  std::vector<std::string> names;
  fs::directory_iterator it(fs::path(dir), fs::directory_options::skip_permission_denied, ec);
  if (ec) return absl::NotFoundError(absl::StrCat(dir, ": cannot list directory: ", ec.message()));
  for (const fs::directory_entry& e : it) {
    std::error_code fec;
    const std::string name = e.path().filename().string();
    if (e.is_regular_file(fec) && IsTensorFile(name)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  if (names.empty()) {
    return absl::NotFoundError(absl::StrCat("dataset ", dir, " holds no tensor files (.pb .npy)"));
  }
  const std::string inputs_list = absl::StrJoin(input_names, ", ");
  // sample -> input -> file
  std::map<std::string, std::map<std::string, std::string>> by_sample;
  for (const std::string& name : names) {
    const std::string stem = fs::path(name).stem().string();
    std::string sample, input;
    for (const std::string& in : input_names) {
      const std::string suffix = "_" + in;
      if (stem.size() > suffix.size() && EndsWith(stem, suffix) && in.size() > input.size()) {
        input = in;
        sample = stem.substr(0, stem.size() - suffix.size());
      }
    }
    if (input.empty()) {
      std::string tensor_name;
      if (HasExtension(name, {".pb"})) {
        absl::StatusOr<NamedTensor> t = LoadTensorFile((fs::path(dir) / name).string());
        if (!t.ok()) return Annotate(t.status(), absl::StrCat("dataset ", dir, ": ", name));
        tensor_name = t->name;
      }
      if (std::find(input_names.begin(), input_names.end(), tensor_name) == input_names.end() ||
          tensor_name.empty()) {
        absl::Status unmatched = absl::InvalidArgumentError(absl::StrCat(
            "dataset ", dir, ": file ", name, " feeds no input: name it <sample>_<input>",
            HasExtension(name, {".pb"}) ? " or give its TensorProto an input's name" : "",
            tensor_name.empty() ? "" : absl::StrCat(" (its tensor is named '", tensor_name, "')"),
            " (inputs: ", inputs_list, ")"));
        unmatched.SetPayload(kUnmatchedFilePayload, absl::Cord(name));
        return unmatched;
      }
      input = tensor_name;
      const size_t us = stem.rfind('_');
      sample = us == std::string::npos ? stem : stem.substr(0, us);
    }
    auto [pos, added] = by_sample[sample].emplace(input, name);
    if (!added) {
      return absl::InvalidArgumentError(absl::StrCat("dataset ", dir, ": sample '", sample,
                                                     "' has two files for input '", input, "': ",
                                                     pos->second, " and ", name));
    }
  }
  MultiInputFiles out;
  for (const auto& [sample, files] : by_sample) {
    for (const std::string& in : input_names) {
      auto f = files.find(in);
      if (f == files.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "dataset ", dir, ": sample '", sample, "' has no file for input '", in, "' (expected ",
            sample, "_", in, ".pb or .npy; every sample needs one file per input: ", inputs_list,
            ")"));
      }
      out.files[in].push_back(f->second);
    }
    out.samples.push_back(sample);
  }
  return out;
}

absl::Status Dataset::DecodeInto(int64_t index, std::byte* dst) const {
  const Entry& e = entries_[static_cast<size_t>(index)];
  const size_t sample_bytes = static_cast<size_t>(NumElements(sample_shape_)) * DataTypeSize(input_.dtype);
  switch (kind_) {
    case DatasetKind::kImages: {
      ENGINE_ASSIGN_OR_RETURN(Tensor t, LoadImageTensor(e.path, input_, options_.preprocess, options_.limits));
      std::memcpy(dst, t.data(), sample_bytes);
      return absl::OkStatus();
    }
    case DatasetKind::kMnist: {
      const int64_t image_bytes = mnist_rows_ * mnist_cols_;
      absl::StatusOr<Tensor> t =
          PreprocessImage(mnist_pixels_.data() + e.sub * image_bytes, mnist_cols_, mnist_rows_, 1,
                          input_, options_.preprocess);
      if (!t.ok()) return Annotate(t.status(), absl::StrCat(path_, " image ", e.sub));
      std::memcpy(dst, t->data(), sample_bytes);
      return absl::OkStatus();
    }
    case DatasetKind::kTensors: {
      ENGINE_ASSIGN_OR_RETURN(NamedTensor nt, LoadTensorFile(e.path));
      ENGINE_ASSIGN_OR_RETURN(int64_t n, SamplesInTensorFile(nt.tensor.shape(), input_, e.path));
      if ((e.sub < 0) != (n == 1)) {
        return absl::InvalidArgumentError(
            absl::StrCat(e.path, ": tensor file changed shape since the dataset was opened"));
      }
      ENGINE_ASSIGN_OR_RETURN(Tensor t, ConvertTensor(std::move(nt.tensor), input_.dtype, e.path));
      const size_t offset = e.sub < 0 ? 0 : static_cast<size_t>(e.sub) * sample_bytes;
      std::memcpy(dst, static_cast<const std::byte*>(t.data()) + offset, sample_bytes);
      return absl::OkStatus();
    }
  }
  return absl::InternalError("unknown dataset kind");
}

absl::Status Dataset::DecodeRange(int64_t first, int64_t count, std::byte* dst) const {
  const size_t sample_bytes = static_cast<size_t>(NumElements(sample_shape_)) * DataTypeSize(input_.dtype);
  int64_t threads = options_.num_threads > 0 ? options_.num_threads
                                             : std::max<int64_t>(1, std::thread::hardware_concurrency());
  threads = std::min(threads, count);
  std::vector<absl::Status> status(static_cast<size_t>(count));
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t i = next++; i < count; i = next++) {
      status[i] = DecodeInto(first + i, dst + i * sample_bytes);
    }
  };
  if (threads <= 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    for (int64_t t = 0; t < threads; ++t) pool.emplace_back(work);
    for (std::thread& t : pool) t.join();
  }
  for (const absl::Status& s : status) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<Sample> Dataset::Get(int64_t index) const {
  if (index < 0 || index >= size()) {
    return absl::OutOfRangeError(
        absl::StrCat("dataset ", path_, ": sample index ", index, " is outside [0, ", size(), ")"));
  }
  Sample s;
  s.input = Tensor(input_.dtype, sample_shape_);
  ENGINE_RETURN_IF_ERROR(DecodeInto(index, static_cast<std::byte*>(s.input.data())));
  s.label = entries_[index].label;
  s.name = entries_[index].name;
  return s;
}

absl::StatusOr<Tensor> Dataset::Batch(int64_t first, int64_t count) const {
  if (first < 0 || count < 1 || first > size() - count) {
    return absl::OutOfRangeError(absl::StrCat("dataset ", path_, ": samples [", first, ", ",
                                              first + count, ") are outside [0, ", size(), ")"));
  }
  Dims shape = sample_shape_;
  shape[0] = count;
  Tensor out(input_.dtype, shape);
  ENGINE_RETURN_IF_ERROR(DecodeRange(first, count, static_cast<std::byte*>(out.data())));
  return out;
}

absl::StatusOr<SampleBatch> Dataset::GetBatch(int64_t batch_index) const {
  if (batch_index < 0 || batch_index >= num_batches()) {
    return absl::OutOfRangeError(absl::StrCat("dataset ", path_, ": batch ", batch_index,
                                              " is outside [0, ", num_batches(), ")"));
  }
  SampleBatch b;
  const int64_t n = batch_size();
  b.first = batch_index * n;
  b.count = std::min(n, size() - b.first);
  b.input = Tensor(input_.dtype, input_.shape);
  std::byte* dst = static_cast<std::byte*>(b.input.data());
  ENGINE_RETURN_IF_ERROR(DecodeRange(b.first, b.count, dst));
  const size_t sample_bytes = b.input.byte_size() / static_cast<size_t>(n);
  for (int64_t i = b.count; i < n; ++i) {
    std::memcpy(dst + i * sample_bytes, dst + (b.count - 1) * sample_bytes, sample_bytes);
  }
  for (int64_t i = 0; i < b.count; ++i) {
    b.labels.push_back(entries_[b.first + i].label);
    b.names.push_back(entries_[b.first + i].name);
  }
  return b;
}

int64_t Dataset::label(int64_t index) const {
  if (index < 0 || index >= size()) return -1;
  return entries_[index].label;
}

std::string Dataset::name(int64_t index) const {
  if (index < 0 || index >= size()) return "";
  return entries_[index].name;
}

std::string Dataset::Describe() const {
  std::string s;
  if (kind_ == DatasetKind::kTensors) {
    s = absl::StrCat(size(), " tensor samples from ", path_);
  } else {
    const std::string pp = ImagePreprocessName(options_.preprocess);
    const bool preset = pp.find('=') == std::string::npos;
    s = absl::StrCat(size(), " images from ", path_, " (",
                     preset ? absl::StrCat(pp, " preprocessing") : absl::StrCat("preprocessing ", pp),
                     ")");
  }
  if (has_labels_) absl::StrAppend(&s, ", labels from ", labels_path_);
  if (!skipped_.empty()) absl::StrAppend(&s, ", ", skipped_.size(), " unreadable files skipped");
  return s;
}

}  // namespace engine::data
