// Recurrent layers LSTM, GRU and RNN (ONNX Operators.md, LSTM-14, GRU-14,
// RNN-14; the opset-7 forms are the same without `layout`), float32.
//
// Inputs (absent optional inputs allowed): X, W, R, B, sequence_lens,
// initial_h, and for LSTM initial_c and P (peepholes). With layout 0 (the
// default) X is [seq, batch, input], Y [seq, dirs, batch, hidden], Y_h / Y_c
// [dirs, batch, hidden] and initial states likewise; with layout 1 X is
// [batch, seq, input], Y [batch, seq, dirs, hidden], Y_h / Y_c [batch, dirs,
// hidden]. W is [dirs, G*hidden, input], R [dirs, G*hidden, hidden], B [dirs,
// 2*G*hidden] (Wb then Rb), P [dirs, 3*hidden]; G = 4 gates for LSTM (order
// i, o, f, c; peepholes i, o, f), 3 for GRU (z, r, h), 1 for RNN.
//
// Equations (ONNX spec; f, g, h are the activations, defaults LSTM
// Sigmoid/Tanh/Tanh, GRU Sigmoid/Tanh, RNN Tanh):
//   LSTM: i = f(Xt Wi + Ht-1 Ri + Pi.Ct-1 + Wbi + Rbi); f = f(... Pf.Ct-1 ...)
//         (or 1 - i with input_forget = 1); c~ = g(Xt Wc + Ht-1 Rc + Wbc + Rbc);
//         Ct = f.Ct-1 + i.c~; o = f(Xt Wo + Ht-1 Ro + Po.Ct + Wbo + Rbo);
//         Ht = o.h(Ct)
//   GRU:  z = f(Xt Wz + Ht-1 Rz + Wbz + Rbz); r likewise;
//         h~ = g(Xt Wh + (r.Ht-1) Rh + Rbh + Wbh)            (linear_before_reset 0)
//         h~ = g(Xt Wh + r.(Ht-1 Rh + Rbh) + Wbh)            (linear_before_reset 1)
//         Ht = (1 - z).h~ + z.Ht-1
//   RNN:  Ht = f(Xt Wi + Ht-1 Ri + Wbi + Rbi)
// `clip` (when set) clamps every gate pre-activation to [-clip, clip] before
// its activation (peepholes included), as ONNX Runtime does.
//
// Attributes: hidden_size (checked against W), direction (forward, reverse,
// bidirectional), activations (the parser passes ONNX's STRINGS attribute as
// one comma-separated string; either one set for all directions or one per
// direction, forward first), activation_alpha / activation_beta (consumed in
// order by the activations that take them; ONNX Runtime's defaults
// otherwise: LeakyRelu 0.01, ThresholdedRelu 1, ScaledTanh 1/1, HardSigmoid
// 0.2/0.5, Elu 1, Affine 1/0), clip, input_forget (LSTM),
// linear_before_reset (GRU), layout.
//
// sequence_lens (int32 or int64, [batch]): steps t >= len of a batch entry
// leave its state unchanged and write zeros to Y; the reverse direction
// processes t = len-1 down to 0. Lengths are clamped to [0, seq] at run time
// (constant lengths outside that range are refused).
//
// Computation per direction: X W^T for all steps in one Sgemm (biases
// added), then per step one Sgemm Ht-1 R^T over the batch and the gate
// arithmetic per batch row; directions run in parallel with private scratch.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "kernels/defs.h"
#include "kernels/kernel_util.h"
#include "kernels/sgemm.h"

namespace engine::kernels {
namespace {

enum class Cell { kLstm, kGru, kRnn };

struct Act {
  enum Kind {
    kRelu,
    kTanh,
    kSigmoid,
    kAffine,
    kLeakyRelu,
    kThresholdedRelu,
    kScaledTanh,
    kHardSigmoid,
    kElu,
    kSoftsign,
    kSoftplus
  };
  Kind kind = kTanh;
  float alpha = 0, beta = 0;

  // y[i] = act(x[i]) in place, n elements.
  void Apply(float* x, int64_t n) const {
    switch (kind) {
      case kSigmoid:
        SigmoidArray(x, x, n);
        return;
      case kTanh:
        TanhArray(x, x, n);
        return;
      case kScaledTanh:
        for (int64_t i = 0; i < n; ++i) x[i] *= beta;
        TanhArray(x, x, n);
        for (int64_t i = 0; i < n; ++i) x[i] *= alpha;
        return;
      default:
        break;
    }
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[i];
      switch (kind) {
        case kRelu:
          x[i] = v < 0 ? 0.0f : v;
          break;
        case kAffine:
          x[i] = alpha * v + beta;
          break;
        case kLeakyRelu:
          x[i] = v < 0 ? alpha * v : v;
          break;
        case kThresholdedRelu:
          x[i] = v > alpha ? v : 0.0f;
          break;
        case kHardSigmoid:
          x[i] = std::max(0.0f, std::min(1.0f, alpha * v + beta));
          break;
        case kElu:
          x[i] = v < 0 ? alpha * (std::exp(v) - 1.0f) : v;
          break;
        case kSoftsign:
          x[i] = v / (1.0f + std::fabs(v));
          break;
        case kSoftplus:
          x[i] = v > 20.0f ? v : std::log1p(std::exp(v));
          break;
        default:
          break;
      }
    }
  }
};

// Parses the activations of all directions (ONNX names, case-insensitive).
absl::StatusOr<std::vector<Act>> ParseActivations(const Attributes& attrs, const std::string& type,
                                                  const std::vector<std::string>& defaults,
                                                  int dirs) {
  ENGINE_ASSIGN_OR_RETURN(std::string joined, attrs.GetString("activations", ""));
  std::vector<std::string> names;
  if (!joined.empty()) names = absl::StrSplit(joined, ',');
  const size_t per_dir = defaults.size();
  if (names.empty()) {
    for (int d = 0; d < dirs; ++d) names.insert(names.end(), defaults.begin(), defaults.end());
  } else if (names.size() == per_dir && dirs == 2) {
    names.insert(names.end(), names.begin(), names.end());
  } else if (names.size() != per_dir * static_cast<size_t>(dirs)) {
    return absl::InvalidArgumentError(absl::StrCat(type, ": activations has ", names.size(),
                                                   " entries, expected ", per_dir * dirs));
  }
  ENGINE_ASSIGN_OR_RETURN(std::vector<float> alphas, attrs.GetFloats("activation_alpha", {}));
  ENGINE_ASSIGN_OR_RETURN(std::vector<float> betas, attrs.GetFloats("activation_beta", {}));
  size_t ai = 0, bi = 0;
  std::vector<Act> out;
  for (const std::string& raw : names) {
    std::string n;
    for (char c : raw) {
      if (c != ' ') n.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    Act a;
    bool uses_alpha = false, uses_beta = false;
    if (n == "relu")
      a.kind = Act::kRelu;
    else if (n == "tanh")
      a.kind = Act::kTanh;
    else if (n == "sigmoid")
      a.kind = Act::kSigmoid;
    else if (n == "affine") {
      a = {Act::kAffine, 1.0f, 0.0f};
      uses_alpha = uses_beta = true;
    } else if (n == "leakyrelu") {
      a = {Act::kLeakyRelu, 0.01f, 0};
      uses_alpha = true;
    } else if (n == "thresholdedrelu") {
      a = {Act::kThresholdedRelu, 1.0f, 0};
      uses_alpha = true;
    } else if (n == "scaledtanh") {
      a = {Act::kScaledTanh, 1.0f, 1.0f};
      uses_alpha = uses_beta = true;
    } else if (n == "hardsigmoid") {
      a = {Act::kHardSigmoid, 0.2f, 0.5f};
      uses_alpha = uses_beta = true;
    } else if (n == "elu") {
      a = {Act::kElu, 1.0f, 0};
      uses_alpha = true;
    } else if (n == "softsign")
      a.kind = Act::kSoftsign;
    else if (n == "softplus")
      a.kind = Act::kSoftplus;
    else {
      return absl::InvalidArgumentError(
          absl::StrCat(type, ": activation '", raw, "' is not an ONNX RNN activation"));
    }
    if (uses_alpha && ai < alphas.size()) a.alpha = alphas[ai++];
    if (uses_beta && bi < betas.size()) a.beta = betas[bi++];
    out.push_back(a);
  }
  return out;
}

struct RnnConfig {
  Cell cell = Cell::kLstm;
  int gates = 4;
  int dirs = 1;
  bool reverse_only = false;
  int64_t seq = 0, batch = 0, input = 0, hidden = 0;
  int64_t layout = 0;
  float clip = 0;  // 0 = none
  bool input_forget = false, linear_before_reset = false;
  std::vector<Act> acts;  // per direction, `per_dir` each
  size_t per_dir = 1;
};

absl::Status CheckFloatInput(std::span<const TensorInfo> in, size_t i, const std::string& type,
                             const char* name, const Dims& expected) {
  if (i >= in.size() || !in[i].present) return absl::OkStatus();
  if (in[i].dtype != DataType::kFloat32) {
    return absl::UnimplementedError(absl::StrCat(type, ": input ", name, " of dtype ",
                                                 DataTypeName(in[i].dtype),
                                                 " is not supported (float32 only)"));
  }
  if (!expected.empty() && in[i].shape != expected) {
    return absl::InvalidArgumentError(absl::StrCat(type, ": input ", name, " has shape ",
                                                   ShapeString(in[i].shape), ", expected ",
                                                   ShapeString(expected)));
  }
  return absl::OkStatus();
}

absl::StatusOr<RnnConfig> MakeConfig(Cell cell, const std::string& type, const Attributes& attrs,
                                     std::span<const TensorInfo> in) {
  RnnConfig c;
  c.cell = cell;
  c.gates = cell == Cell::kLstm ? 4 : cell == Cell::kGru ? 3 : 1;
  ENGINE_RETURN_IF_ERROR(CheckInputCount(in, 3, cell == Cell::kLstm ? 8 : 6, type));
  ENGINE_ASSIGN_OR_RETURN(std::string dir, attrs.GetString("direction", "forward"));
  if (dir == "forward")
    c.dirs = 1;
  else if (dir == "reverse") {
    c.dirs = 1;
    c.reverse_only = true;
  } else if (dir == "bidirectional")
    c.dirs = 2;
  else {
    return absl::InvalidArgumentError(
        absl::StrCat(type, ": direction '", dir, "' is not forward, reverse or bidirectional"));
  }
  ENGINE_ASSIGN_OR_RETURN(c.layout, attrs.GetInt("layout", 0));
  if (c.layout != 0 && c.layout != 1) {
    return absl::InvalidArgumentError(absl::StrCat(type, ": layout ", c.layout, " is not 0 or 1"));
  }
  const Dims& x = in[0].shape;
  const Dims& w = in[1].shape;
  if (x.size() != 3 || w.size() != 3) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, ": X ", ShapeString(x), " and W ", ShapeString(w), " must have rank 3"));
  }
  c.seq = c.layout == 0 ? x[0] : x[1];
  c.batch = c.layout == 0 ? x[1] : x[0];
  c.input = x[2];
  if (w[0] != c.dirs || w[2] != c.input || w[1] % c.gates != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, ": W ", ShapeString(w), " must be [num_directions=", c.dirs, ", ",
                     c.gates, "*hidden_size, input_size=", c.input, "]"));
  }
  c.hidden = w[1] / c.gates;
  ENGINE_ASSIGN_OR_RETURN(int64_t hs, attrs.GetInt("hidden_size", c.hidden));
  if (hs != c.hidden || c.hidden < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(type, ": hidden_size ", hs, " does not match W ", ShapeString(w)));
  }
  const int64_t gh = c.gates * c.hidden;
  const Dims state =
      c.layout == 0 ? Dims{c.dirs, c.batch, c.hidden} : Dims{c.batch, c.dirs, c.hidden};
  ENGINE_RETURN_IF_ERROR(CheckFloatInput(in, 0, type, "X", {}));
  ENGINE_RETURN_IF_ERROR(CheckFloatInput(in, 1, type, "W", {}));
  ENGINE_RETURN_IF_ERROR(CheckFloatInput(in, 2, type, "R", {c.dirs, gh, c.hidden}));
  ENGINE_RETURN_IF_ERROR(CheckFloatInput(in, 3, type, "B", {c.dirs, 2 * gh}));
  ENGINE_RETURN_IF_ERROR(CheckFloatInput(in, 5, type, "initial_h", state));
  if (cell == Cell::kLstm) {
    ENGINE_RETURN_IF_ERROR(CheckFloatInput(in, 6, type, "initial_c", state));
    ENGINE_RETURN_IF_ERROR(CheckFloatInput(in, 7, type, "P", {c.dirs, 3 * c.hidden}));
  }
  if (in.size() > 4 && in[4].present) {
    const TensorInfo& sl = in[4];
    if ((sl.dtype != DataType::kInt32 && sl.dtype != DataType::kInt64) ||
        sl.shape != Dims{c.batch}) {
      return absl::InvalidArgumentError(absl::StrCat(type, ": sequence_lens must be int32 [",
                                                     c.batch, "], got ", DataTypeName(sl.dtype),
                                                     ShapeString(sl.shape)));
    }
    if (sl.constant != nullptr) {
      ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> lens,
                              ConstantInts(sl, type + ": sequence_lens"));
      for (int64_t l : lens) {
        if (l < 0 || l > c.seq) {
          return absl::InvalidArgumentError(
              absl::StrCat(type, ": sequence_lens value ", l, " is outside [0, ", c.seq, "]"));
        }
      }
    }
  }
  ENGINE_ASSIGN_OR_RETURN(c.clip, attrs.GetFloat("clip", 0.0f));
  if (c.clip < 0) return absl::InvalidArgumentError(absl::StrCat(type, ": clip must be > 0"));
  ENGINE_ASSIGN_OR_RETURN(int64_t input_forget, attrs.GetInt("input_forget", 0));
  ENGINE_ASSIGN_OR_RETURN(int64_t lbr, attrs.GetInt("linear_before_reset", 0));
  c.input_forget = cell == Cell::kLstm && input_forget != 0;
  c.linear_before_reset = cell == Cell::kGru && lbr != 0;
  const std::vector<std::string> defaults =
      cell == Cell::kLstm  ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
      : cell == Cell::kGru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                           : std::vector<std::string>{"Tanh"};
  c.per_dir = defaults.size();
  ENGINE_ASSIGN_OR_RETURN(c.acts, ParseActivations(attrs, type, defaults, c.dirs));
  return c;
}

absl::StatusOr<std::vector<TensorInfo>> InferRecurrent(Cell cell, const std::string& type,
                                                       const Attributes& attrs,
                                                       std::span<const TensorInfo> in) {
  ENGINE_ASSIGN_OR_RETURN(RnnConfig c, MakeConfig(cell, type, attrs, in));
  const Dims y = c.layout == 0 ? Dims{c.seq, c.dirs, c.batch, c.hidden}
                               : Dims{c.batch, c.seq, c.dirs, c.hidden};
  const Dims state =
      c.layout == 0 ? Dims{c.dirs, c.batch, c.hidden} : Dims{c.batch, c.dirs, c.hidden};
  std::vector<TensorInfo> out = {MakeInfo(DataType::kFloat32, y),
                                 MakeInfo(DataType::kFloat32, state)};
  if (cell == Cell::kLstm) out.push_back(MakeInfo(DataType::kFloat32, state));
  return out;
}

class RecurrentKernel : public Kernel {
 public:
  RecurrentKernel(Cell cell, std::string type) : cell_(cell), type_(std::move(type)) {}

  absl::Status Prepare(const Attributes& attrs, std::span<const TensorInfo> inputs,
                       std::span<const TensorInfo> outputs) override {
    ENGINE_ASSIGN_OR_RETURN(std::vector<TensorInfo> out,
                            InferRecurrent(cell_, type_, attrs, inputs));
    // Trailing outputs may be absent (the importer normally names them all).
    if (!outputs.empty()) {
      ENGINE_RETURN_IF_ERROR(CheckOutputs(
          outputs,
          std::vector<TensorInfo>(out.begin(), out.begin() + std::min(out.size(), outputs.size())),
          type_));
    }
    c_ = *MakeConfig(cell_, type_, attrs, inputs);
    has_.assign(8, false);
    for (size_t i = 0; i < inputs.size(); ++i) has_[i] = inputs[i].present;
    lens_int32_ = inputs.size() > 4 && inputs[4].dtype == DataType::kInt32;
    const int64_t gh = c_.gates * c_.hidden;
    ws_bytes_ = std::max(SgemmWorkspaceBytes(c_.seq * c_.batch, gh, c_.input),
                         SgemmWorkspaceBytes(c_.batch, gh, c_.hidden));
    per_dir_floats_ = c_.seq * c_.batch * gh      // X W^T + biases
                      + c_.batch * gh             // Ht-1 R^T
                      + 4 * c_.batch * c_.hidden  // h, c, r.h, (r.h) Rh^T
                      + gh;                       // Rb (h gate of GRU)
    return absl::OkStatus();
  }

  size_t ScratchBytes(int) const override { return static_cast<size_t>(c_.dirs) * PerDirBytes(); }

  void Run(const RunContext& ctx, std::span<const void* const> in,
           std::span<void* const> out) const override {
    ParallelFor(ctx, c_.dirs, [&](int64_t b, int64_t e, int) {
      for (int64_t d = b; d < e; ++d) RunDirection(static_cast<int>(d), ctx, in, out);
    });
  }

 private:
  size_t PerDirBytes() const {
    return ScratchLayout::Align(static_cast<size_t>(per_dir_floats_) * sizeof(float)) +
           ScratchLayout::Align(ws_bytes_);
  }

  // Offsets of state (d, b) and of Y (t, d, b) in elements, per layout.
  int64_t StateOff(int d, int64_t b) const {
    return (c_.layout == 0 ? (d * c_.batch + b) : (b * c_.dirs + d)) * c_.hidden;
  }
  int64_t YOff(int64_t t, int d, int64_t b) const {
    return (c_.layout == 0 ? ((t * c_.dirs + d) * c_.batch + b)
                           : ((b * c_.seq + t) * c_.dirs + d)) *
           c_.hidden;
  }

  void Clip(float* x, int64_t n) const {
    if (c_.clip <= 0) return;
    for (int64_t i = 0; i < n; ++i) x[i] = std::max(-c_.clip, std::min(c_.clip, x[i]));
  }

  void RunDirection(int d, const RunContext& ctx, std::span<const void* const> in,
                    std::span<void* const> out) const {
    const int64_t H = c_.hidden, B = c_.batch, S = c_.seq, I = c_.input;
    const int64_t gh = c_.gates * H;
    const bool reverse = c_.reverse_only || d == 1;
    std::byte* base = ctx.scratch + static_cast<size_t>(d) * PerDirBytes();
    float* xw = reinterpret_cast<float*>(base);
    float* hr = xw + S * B * gh;
    float* h = hr + B * gh;
    float* cst = h + B * H;
    float* rh = cst + B * H;
    float* rhr = rh + B * H;
    float* rb_h = rhr + B * H;
    void* ws = base + ScratchLayout::Align(static_cast<size_t>(per_dir_floats_) * sizeof(float));

    const float* X = static_cast<const float*>(in[0]);
    const float* W = static_cast<const float*>(in[1]) + d * gh * I;
    const float* R = static_cast<const float*>(in[2]) + d * gh * H;
    const float* Bias = has_[3] ? static_cast<const float*>(in[3]) + d * 2 * gh : nullptr;
    const float* P = has_[7] ? static_cast<const float*>(in[7]) + d * 3 * H : nullptr;
    const Act* act = &c_.acts[static_cast<size_t>(d) * c_.per_dir];

    // X W^T for every step (rows in X's order), plus Wb (+ Rb, except the
    // GRU h gate's Rb under linear_before_reset).
    if (S * B > 0) {
      Sgemm(false, true, S * B, gh, I, 1.0f, X, I, W, I, 0.0f, xw, gh, ws, ws_bytes_);
    }
    std::fill(rb_h, rb_h + gh, 0.0f);
    if (Bias != nullptr) {
      std::vector<float> bias(Bias, Bias + gh);
      for (int64_t j = 0; j < gh; ++j) {
        if (c_.linear_before_reset && j >= 2 * H) {
          rb_h[j] = Bias[gh + j];
        } else {
          bias[j] += Bias[gh + j];
        }
      }
      for (int64_t r = 0; r < S * B; ++r) {
        float* row = xw + r * gh;
        for (int64_t j = 0; j < gh; ++j) row[j] += bias[j];
      }
    }
    // Initial state.
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t j = 0; j < H; ++j) {
        h[b * H + j] = has_[5] ? static_cast<const float*>(in[5])[StateOff(d, b) + j] : 0.0f;
        cst[b * H + j] = has_[6] && c_.cell == Cell::kLstm
                             ? static_cast<const float*>(in[6])[StateOff(d, b) + j]
                             : 0.0f;
      }
    }
    std::vector<int64_t> len(static_cast<size_t>(B), S);
    if (has_[4]) {
      for (int64_t b = 0; b < B; ++b) {
        const int64_t l = lens_int32_ ? static_cast<const int32_t*>(in[4])[b]
                                      : static_cast<const int64_t*>(in[4])[b];
        len[b] = std::clamp<int64_t>(l, 0, S);
      }
    }
    float* Y = out.size() > 0 ? static_cast<float*>(out[0]) : nullptr;
    // Gate columns of Ht-1 R^T computed by the first product: all but the
    // GRU h gate without linear_before_reset (it needs r.Ht-1 first).
    const int64_t hr_cols = c_.cell == Cell::kGru && !c_.linear_before_reset ? 2 * H : gh;
    for (int64_t s = 0; s < S; ++s) {
      if (B > 0) Sgemm(false, true, B, hr_cols, H, 1.0f, h, H, R, H, 0.0f, hr, gh, ws, ws_bytes_);
      // Pass 1: gates per batch row (GRU without lbr stops at z, r and r.h).
      for (int64_t b = 0; b < B; ++b) {
        if (s >= len[b]) {
          if (Y != nullptr) std::fill(Y + YOff(s, d, b), Y + YOff(s, d, b) + H, 0.0f);
          continue;
        }
        const int64_t t = reverse ? len[b] - 1 - s : s;
        const int64_t row = c_.layout == 0 ? t * B + b : b * S + t;
        float* g = hr + b * gh;  // gate pre-activations, in place
        const float* x = xw + row * gh;
        float* hb = h + b * H;
        float* cb = cst + b * H;
        if (c_.cell == Cell::kLstm) {
          for (int64_t j = 0; j < gh; ++j) g[j] += x[j];
          float* gi = g;
          float* go = g + H;
          float* gf = g + 2 * H;
          float* gc = g + 3 * H;
          if (P != nullptr) {
            for (int64_t j = 0; j < H; ++j) {
              gi[j] += P[j] * cb[j];
              gf[j] += P[2 * H + j] * cb[j];
            }
          }
          Clip(gi, H);
          act[0].Apply(gi, H);
          if (c_.input_forget) {
            for (int64_t j = 0; j < H; ++j) gf[j] = 1.0f - gi[j];
          } else {
            Clip(gf, H);
            act[0].Apply(gf, H);
          }
          Clip(gc, H);
          act[1].Apply(gc, H);
          for (int64_t j = 0; j < H; ++j) cb[j] = gf[j] * cb[j] + gi[j] * gc[j];
          if (P != nullptr) {
            for (int64_t j = 0; j < H; ++j) go[j] += P[H + j] * cb[j];
          }
          Clip(go, H);
          act[0].Apply(go, H);
          std::copy(cb, cb + H, gc);  // h(Ct) in the c gate's slot
          act[2].Apply(gc, H);
          for (int64_t j = 0; j < H; ++j) hb[j] = go[j] * gc[j];
        } else if (c_.cell == Cell::kGru) {
          for (int64_t j = 0; j < 2 * H; ++j) g[j] += x[j];
          Clip(g, 2 * H);
          act[0].Apply(g, 2 * H);  // z, r
          if (!c_.linear_before_reset) {
            for (int64_t j = 0; j < H; ++j) rh[b * H + j] = g[H + j] * hb[j];
            continue;  // finished in pass 2
          }
          float* gh_ = g + 2 * H;
          for (int64_t j = 0; j < H; ++j)
            gh_[j] = x[2 * H + j] + g[H + j] * (gh_[j] + rb_h[2 * H + j]);
          Clip(gh_, H);
          act[1].Apply(gh_, H);
          for (int64_t j = 0; j < H; ++j) hb[j] = (1.0f - g[j]) * gh_[j] + g[j] * hb[j];
        } else {
          for (int64_t j = 0; j < H; ++j) g[j] += x[j];
          Clip(g, H);
          act[0].Apply(g, H);
          std::copy(g, g + H, hb);
        }
        if (Y != nullptr) std::copy(hb, hb + H, Y + YOff(t, d, b));
      }
      if (c_.cell != Cell::kGru || c_.linear_before_reset) continue;
      // Pass 2 (GRU, linear_before_reset 0): h~ = g(x_h + (r.Ht-1) Rh^T).
      if (B > 0)
        Sgemm(false, true, B, H, H, 1.0f, rh, H, R + 2 * H * H, H, 0.0f, rhr, H, ws, ws_bytes_);
      for (int64_t b = 0; b < B; ++b) {
        if (s >= len[b]) continue;
        const int64_t t = reverse ? len[b] - 1 - s : s;
        const int64_t row = c_.layout == 0 ? t * B + b : b * S + t;
        const float* x = xw + row * gh;
        float* g = hr + b * gh;
        float* hh = rhr + b * H;
        float* hb = h + b * H;
        for (int64_t j = 0; j < H; ++j) hh[j] += x[2 * H + j];
        Clip(hh, H);
        act[1].Apply(hh, H);
        for (int64_t j = 0; j < H; ++j) hb[j] = (1.0f - g[j]) * hh[j] + g[j] * hb[j];
        if (Y != nullptr) std::copy(hb, hb + H, Y + YOff(t, d, b));
      }
    }
    for (int64_t b = 0; b < B; ++b) {
      if (out.size() > 1 && out[1] != nullptr) {
        std::copy(h + b * H, h + (b + 1) * H, static_cast<float*>(out[1]) + StateOff(d, b));
      }
      if (c_.cell == Cell::kLstm && out.size() > 2 && out[2] != nullptr) {
        std::copy(cst + b * H, cst + (b + 1) * H, static_cast<float*>(out[2]) + StateOff(d, b));
      }
    }
  }

  Cell cell_;
  std::string type_;
  RnnConfig c_;
  std::vector<bool> has_;
  bool lens_int32_ = false;
  size_t ws_bytes_ = 0;
  int64_t per_dir_floats_ = 0;
};

KernelDef MakeRecurrent(Cell cell, const std::string& type) {
  KernelDef def;
  def.type = type;
  def.infer = [cell, type](const Attributes& attrs, std::span<const TensorInfo> in) {
    return InferRecurrent(cell, type, attrs, in);
  };
  def.create = [cell, type] { return std::unique_ptr<Kernel>(new RecurrentKernel(cell, type)); };
  return def;
}

}  // namespace

KernelDef MakeLstmDef() { return MakeRecurrent(Cell::kLstm, "LSTM"); }
KernelDef MakeGruDef() { return MakeRecurrent(Cell::kGru, "GRU"); }
KernelDef MakeRnnDef() { return MakeRecurrent(Cell::kRnn, "RNN"); }

}  // namespace engine::kernels
