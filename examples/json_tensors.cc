#include "json_tensors.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace engine_example {
namespace {

using nlohmann::json;

// Whether the text at `p` is a spelling of NaN or Infinity that a client may
// have sent (JavaScript's and Python's json.dumps write NaN, Infinity and
// -Infinity; others write nan, inf).
bool LooksNonFinite(std::string_view p) {
  if (!p.empty() && (p[0] == '-' || p[0] == '+')) p.remove_prefix(1);
  auto starts = [&](std::string_view word) {
    if (p.size() < word.size()) return false;
    for (size_t i = 0; i < word.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(p[i])) != word[i]) return false;
    }
    return true;
  };
  return starts("nan") || starts("inf");
}

// One JSON scalar as the SAX parser reports it.
struct Scalar {
  enum class Kind { kInt, kUint, kFloat, kBool, kNull, kString };
  explicit Scalar(Kind k) : kind(k) {}
  Kind kind;
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  bool b = false;
  std::string_view text;  // kFloat: the number as written; kString: the string
};

std::string ScalarText(const Scalar& v) {
  switch (v.kind) {
    case Scalar::Kind::kInt: return std::to_string(v.i);
    case Scalar::Kind::kUint: return std::to_string(v.u);
    case Scalar::Kind::kFloat: return Printable(v.text, 32);
    case Scalar::Kind::kBool: return v.b ? "true" : "false";
    case Scalar::Kind::kNull: return "null";
    case Scalar::Kind::kString: return "\"" + Printable(v.text, 32) + "\"";
  }
  return "?";
}

const char* KindName(const Scalar& v) {
  switch (v.kind) {
    case Scalar::Kind::kBool: return "a boolean";
    case Scalar::Kind::kNull: return "null";
    case Scalar::Kind::kString: return "a string";
    default: return "a number";
  }
}

// Converts `v` to T, or says why it cannot be.
template <typename T>
std::optional<std::string> Convert(const Scalar& v, T* out) {
  using K = Scalar::Kind;
  if (v.kind == K::kNull || v.kind == K::kString) {
    std::string why = std::string("is ") + KindName(v) + " (" + ScalarText(v) + "), not a number";
    if (v.kind == K::kString && LooksNonFinite(v.text)) {
      why += ": non-finite values are not accepted in JSON requests (send raw bytes, "
             "Content-Type: application/octet-stream)";
    }
    return why;
  }
  if constexpr (std::is_same_v<T, bool>) {
    if (v.kind == K::kBool) return *out = v.b, std::nullopt;
    if ((v.kind == K::kInt && (v.i == 0 || v.i == 1)) || (v.kind == K::kUint && v.u <= 1) ||
        (v.kind == K::kFloat && (v.f == 0.0 || v.f == 1.0))) {
      *out = v.kind == K::kInt ? v.i != 0 : v.kind == K::kUint ? v.u != 0 : v.f != 0.0;
      return std::nullopt;
    }
    return "(" + ScalarText(v) + ") is not a boolean (true, false, 0 or 1)";
  } else {
    if (v.kind == K::kBool) {
      return std::string("is a boolean (") + ScalarText(v) + "), not a number";
    }
    if constexpr (std::is_same_v<T, float>) {
      if (v.kind == K::kInt) return *out = static_cast<float>(v.i), std::nullopt;
      if (v.kind == K::kUint) return *out = static_cast<float>(v.u), std::nullopt;
      // The parser reports a number that overflows a double as an error, so
      // v.f is finite here; a float holds magnitudes up to FLT_MAX.
      if (!std::isfinite(v.f) || std::fabs(v.f) > std::numeric_limits<float>::max()) {
        return "(" + ScalarText(v) + ") is out of range for float (magnitude <= 3.4028235e38)";
      }
      *out = static_cast<float>(v.f);
      return std::nullopt;
    } else {
      static_assert(std::is_integral_v<T>);
      constexpr int64_t lo = static_cast<int64_t>(std::numeric_limits<T>::min());
      constexpr uint64_t hi = static_cast<uint64_t>(std::numeric_limits<T>::max());
      auto range = [&] {
        std::string m = "(";
        m.append(ScalarText(v));
        m.append(") is out of range for ");
        m.append(std::is_same_v<T, int64_t>   ? "int64"
                 : std::is_same_v<T, int32_t> ? "int32"
                 : std::is_same_v<T, int8_t>  ? "int8"
                                              : "uint8");
        m.append(" [").append(std::to_string(lo)).append(", ").append(std::to_string(hi));
        m.append("]");
        return m;
      };
      if (v.kind == K::kInt) {
        if (v.i < lo || (v.i > 0 && static_cast<uint64_t>(v.i) > hi)) return range();
        return *out = static_cast<T>(v.i), std::nullopt;
      }
      if (v.kind == K::kUint) {
        if (v.u > hi) return range();
        return *out = static_cast<T>(v.u), std::nullopt;
      }
      if (!std::isfinite(v.f) || std::trunc(v.f) != v.f) {
        return "(" + ScalarText(v) + ") is not an integer";
      }
      // [lo, hi] as doubles: exact for every dtype but int64, whose upper
      // bound 2^63 - 1 rounds up to 2^63, hence the strict comparison.
      bool in_range = std::is_same_v<T, int64_t>
                          ? v.f >= -9223372036854775808.0 && v.f < 9223372036854775808.0
                          : v.f >= static_cast<double>(lo) && v.f <= static_cast<double>(hi);
      if (!in_range) return range();
      *out = static_cast<T>(v.f);
      return std::nullopt;
    }
  }
}

template <typename T>
std::optional<std::string> Store(const Scalar& v, engine::Tensor& t, int64_t index) {
  T value{};
  std::optional<std::string> why = Convert<T>(v, &value);
  if (!why) t.data_as<T>()[index] = value;
  return why;
}

// nlohmann's SAX interface: a state machine over the expected structure. Any
// event that does not fit sets status_ and returns false, which stops the
// parse at once.
class InputsSax {
 public:
  InputsSax(std::string_view body, const std::vector<engine::TensorDesc>& descs)
      : body_(body), descs_(descs), tensors_(descs.size()), seen_(descs.size(), false) {}

  absl::Status status() const { return status_; }
  std::vector<engine::Tensor> TakeTensors() { return std::move(tensors_); }

  // --- scalars ---------------------------------------------------------------
  bool null() { return Value(Scalar(Scalar::Kind::kNull)); }
  bool boolean(bool b) {
    Scalar v(Scalar::Kind::kBool);
    v.b = b;
    return Value(v);
  }
  bool number_integer(json::number_integer_t i) {
    Scalar v(Scalar::Kind::kInt);
    v.i = i;
    return Value(v);
  }
  bool number_unsigned(json::number_unsigned_t u) {
    Scalar v(Scalar::Kind::kUint);
    v.u = u;
    return Value(v);
  }
  bool number_float(json::number_float_t f, const json::string_t& text) {
    Scalar v(Scalar::Kind::kFloat);
    v.f = f;
    v.text = text;
    return Value(v);
  }
  bool string(json::string_t& s) {
    Scalar v(Scalar::Kind::kString);
    v.text = s;
    return Value(v);
  }
  bool binary(json::binary_t&) { return Fail("binary values are not JSON"); }

  // --- structure ---------------------------------------------------------------
  bool start_object(std::size_t) {
    switch (state_) {
      case State::kStart: state_ = State::kTop; return true;
      case State::kInputsValue: state_ = State::kInputs; return true;
      default: return Unexpected("an object");
    }
  }
  bool key(json::string_t& k) {
    if (state_ == State::kTop) {
      if (k != "inputs") {
        return Fail("unknown key '" + Printable(k) + "' in the request; " + kShape);
      }
      if (inputs_done_) return Fail("key 'inputs' given twice");
      state_ = State::kInputsValue;
      return true;
    }
    // state_ == kInputs: the only other state in which the parser reports keys.
    current_ = -1;
    for (size_t i = 0; i < descs_.size(); ++i) {
      if (descs_[i].name == k) current_ = static_cast<int64_t>(i);
    }
    if (current_ < 0) {
      std::string known;
      for (const engine::TensorDesc& d : descs_) {
        known += (known.empty() ? "" : ", ") + DescribeTensor(d);
      }
      return Fail("unknown input '" + Printable(k) + "'; the engine's inputs: " + known);
    }
    const engine::TensorDesc& d = descs_[current_];
    if (seen_[current_]) return Fail("input '" + Printable(d.name) + "' given twice");
    switch (d.dtype) {
      case engine::DataType::kFloat32:
      case engine::DataType::kInt64:
      case engine::DataType::kInt32:
      case engine::DataType::kInt8:
      case engine::DataType::kUint8:
      case engine::DataType::kBool:
        break;
      default:
        status_ = absl::UnimplementedError("input " + DescribeTensor(d) +
                                           ": dtype not supported in JSON requests; send raw "
                                           "bytes (Content-Type: application/octet-stream)");
        return false;
    }
    seen_[current_] = true;
    tensors_[current_] = engine::Tensor(d.dtype, d.shape);
    count_ = 0;
    state_ = State::kInputValue;
    return true;
  }
  bool end_object() {
    if (state_ == State::kInputs) {
      inputs_done_ = true;
      state_ = State::kTop;
      return true;
    }
    // state_ == kTop.
    if (!inputs_done_) return Fail(std::string("no 'inputs' in the request; ") + kShape);
    state_ = State::kDone;
    return true;
  }
  bool start_array(std::size_t) {
    if (state_ == State::kInputValue) {
      state_ = State::kElements;
      return true;
    }
    if (state_ == State::kElements) {
      return Fail(Input() + ": element " + std::to_string(count_) +
                  " is an array; send one flat list of numbers in row-major order "
                  "(numpy: a.ravel().tolist())");
    }
    return Unexpected("an array");
  }
  bool end_array() {
    // state_ == kElements: arrays start nowhere else.
    const engine::TensorDesc& d = descs_[current_];
    if (count_ != engine::NumElements(d.shape)) {
      return Fail("input " + DescribeTensor(d) + ": expected " +
                  std::to_string(engine::NumElements(d.shape)) + " elements, got " +
                  std::to_string(count_));
    }
    state_ = State::kInputs;
    return true;
  }

  bool parse_error(std::size_t position, const std::string& last_token,
                   const json::exception& ex) {
    if (!status_.ok()) return false;  // a handler failed first
    // The word the lexer stopped in: back from where it stopped over letters
    // and digits (and a sign), then forward over the same.
    auto word_char = [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.';
    };
    size_t end = std::min(position, body_.size()), start = end;
    while (start > 0 && word_char(body_[start - 1])) --start;
    while (end < body_.size() && end - start < 16 && word_char(body_[end])) ++end;
    std::string_view word = body_.substr(start, end - start);
    std::string where = state_ == State::kElements
                            ? Input() + ": element " + std::to_string(count_) + ": "
                            : std::string();
    if (ex.id == 406) {  // number overflow: the lexer read a number past DBL_MAX
      status_ = absl::InvalidArgumentError(
          where + "number " + Printable(last_token, 32) +
          " overflows a double: non-finite values are not accepted in JSON requests (send "
          "raw bytes, Content-Type: application/octet-stream)");
    } else if (LooksNonFinite(word)) {
      status_ = absl::InvalidArgumentError(
          where + "'" + Printable(word, 16) + "' at byte " + std::to_string(start) +
          ": NaN and Infinity are not valid JSON and non-finite values are not accepted in "
          "JSON requests (send raw bytes, Content-Type: application/octet-stream)");
    } else {
      status_ = absl::InvalidArgumentError("invalid JSON at byte " + std::to_string(position) +
                                           ": " + Printable(ex.what(), 200) + "; " + kShape);
    }
    return false;
  }

 private:
  enum class State {
    kStart,        // before the top-level object
    kTop,          // in the top-level object, before a key
    kInputsValue,  // after "inputs":
    kInputs,       // in the inputs object, before a name
    kInputValue,   // after "<name>":
    kElements,     // in an input's array
    kDone,         // after the top-level object
  };
  static constexpr const char* kShape =
      "expected a JSON object {\"inputs\": {\"<name>\": [flat list of numbers], ...}}";

  std::string Input() const { return "input '" + Printable(descs_[current_].name) + "'"; }

  bool Fail(const std::string& message) {
    status_ = absl::InvalidArgumentError(message);
    return false;
  }

  bool Unexpected(const char* what) {
    switch (state_) {
      case State::kInputsValue:
        return Fail(std::string("'inputs' is ") + what + "; " + kShape);
      case State::kInputValue:
        return Fail(Input() + " is " + what + "; expected a flat list of " +
                    std::to_string(engine::NumElements(descs_[current_].shape)) + " numbers");
      case State::kElements:
        return Fail(Input() + ": element " + std::to_string(count_) + " is " + what +
                    ", not a number");
      default:
        return Fail(std::string("the request is ") + what + "; " + kShape);
    }
  }

  bool Value(const Scalar& v) {
    if (state_ != State::kElements) return Unexpected(KindName(v));
    const engine::TensorDesc& d = descs_[current_];
    int64_t n = engine::NumElements(d.shape);
    if (count_ >= n) {
      // Counted on without storing, so that the message gives the length.
      ++count_;
      return true;
    }
    std::optional<std::string> why;
    engine::Tensor& t = tensors_[current_];
    switch (d.dtype) {
      case engine::DataType::kFloat32: why = Store<float>(v, t, count_); break;
      case engine::DataType::kInt64: why = Store<int64_t>(v, t, count_); break;
      case engine::DataType::kInt32: why = Store<int32_t>(v, t, count_); break;
      case engine::DataType::kInt8: why = Store<int8_t>(v, t, count_); break;
      case engine::DataType::kUint8: why = Store<uint8_t>(v, t, count_); break;
      case engine::DataType::kBool: why = Store<bool>(v, t, count_); break;
      default: why = "unsupported dtype"; break;  // refused in key()
    }
    if (why) {
      return Fail(Input() + " (" + engine::DataTypeName(d.dtype) + "): element " +
                  std::to_string(count_) + " " + *why);
    }
    ++count_;
    return true;
  }

  std::string_view body_;
  const std::vector<engine::TensorDesc>& descs_;
  std::vector<engine::Tensor> tensors_;
  std::vector<bool> seen_;
  State state_ = State::kStart;
  bool inputs_done_ = false;
  int64_t current_ = -1;
  int64_t count_ = 0;
  absl::Status status_;
};

template <typename T>
void AppendInts(const engine::Tensor& t, std::string* out) {
  const T* p = t.data_as<T>();
  char buf[32];
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    if (i > 0) out->push_back(',');
    if constexpr (std::is_same_v<T, bool>) {
      out->append(p[i] ? "true" : "false");
    } else {
      auto r = std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(p[i]));
      out->append(buf, r.ptr);
    }
  }
}

void AppendFloats(const engine::Tensor& t, std::string* out) {
  const float* p = t.data_as<float>();
  char buf[64];
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    if (i > 0) out->push_back(',');
    float f = p[i];
    if (std::isnan(f)) {
      out->append("\"nan\"");
    } else if (std::isinf(f)) {
      out->append(f > 0 ? "\"inf\"" : "\"-inf\"");
    } else if (f == 0.0f && std::signbit(f)) {
      out->append("-0.0");  // "-0" would read back as the integer 0
    } else {
      // Shortest text of the double equal to f: reading it back as a double
      // and narrowing to float gives f exactly.
      auto r = std::to_chars(buf, buf + sizeof(buf), static_cast<double>(f));
      out->append(buf, r.ptr);
    }
  }
}

}  // namespace

absl::StatusOr<std::vector<engine::Tensor>> ParseJsonInputs(
    std::string_view body, const std::vector<engine::TensorDesc>& inputs) {
  InputsSax sax(body, inputs);
  bool ok = json::sax_parse(body.begin(), body.end(), &sax, json::input_format_t::json,
                            /*strict=*/true);
  if (!sax.status().ok()) return sax.status();
  if (!ok) return absl::InvalidArgumentError("invalid JSON request");
  std::vector<engine::Tensor> tensors = sax.TakeTensors();
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (tensors[i].dtype() == engine::DataType::kUndefined) {
      return absl::InvalidArgumentError("missing input " + DescribeTensor(inputs[i]));
    }
  }
  return tensors;
}

absl::Status AppendJsonTensor(const engine::Tensor& t, std::string* out) {
  std::string s = "{\"dtype\":";
  AppendJsonString(engine::DataTypeName(t.dtype()), &s);
  s += ",\"shape\":[";
  for (size_t i = 0; i < t.shape().size(); ++i) {
    if (i > 0) s.push_back(',');
    s += std::to_string(t.shape()[i]);
  }
  s += "],\"data\":[";
  switch (t.dtype()) {
    case engine::DataType::kFloat32: AppendFloats(t, &s); break;
    case engine::DataType::kInt64: AppendInts<int64_t>(t, &s); break;
    case engine::DataType::kInt32: AppendInts<int32_t>(t, &s); break;
    case engine::DataType::kInt8: AppendInts<int8_t>(t, &s); break;
    case engine::DataType::kUint8: AppendInts<uint8_t>(t, &s); break;
    case engine::DataType::kBool: AppendInts<bool>(t, &s); break;
    default:
      return absl::UnimplementedError(std::string("dtype ") + engine::DataTypeName(t.dtype()) +
                                      " has no JSON encoding; send raw bytes "
                                      "(Content-Type: application/octet-stream)");
  }
  s += "]}";
  out->append(s);
  return absl::OkStatus();
}

void AppendJsonString(std::string_view s, std::string* out) {
  out->append(json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string DescribeTensor(const engine::TensorDesc& d) {
  std::string s = "'";
  s.append(Printable(d.name)).append("' ").append(engine::DataTypeName(d.dtype)).append(" ");
  s.append(engine::DimsToString(d.shape)).append(" (").append(std::to_string(d.ByteSize()));
  return s.append(" bytes)");
}

std::string Printable(std::string_view s, size_t max_bytes) {
  std::string out;
  size_t n = std::min(s.size(), max_bytes);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (n < s.size()) out += "...";
  return out;
}

}  // namespace engine_example
