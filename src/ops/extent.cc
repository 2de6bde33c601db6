#include "ops/extent.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "kernels/data_dependent.h"
#include "ops/op_registry.h"
#include "ops/op_util.h"

namespace engine::ops {
namespace {

int64_t NormAxis(int64_t axis, int64_t rank) { return axis < 0 ? axis + rank : axis; }

// Constant int values of input i, or empty.
std::vector<int64_t> ConstInts(const LayerView& v, size_t i) {
  std::vector<int64_t> out;
  if (!v.Has(i) || v.inputs[i].constant == nullptr) return out;
  const Tensor& t = *v.inputs[i].constant;
  for (int64_t k = 0; k < t.num_elements(); ++k) {
    if (t.dtype() == DataType::kInt64) out.push_back(t.data_as<int64_t>()[k]);
    if (t.dtype() == DataType::kInt32) out.push_back(t.data_as<int32_t>()[k]);
  }
  return out;
}

}  // namespace

ExtentRule ExtentRuleOf(std::string_view type) {
  const OpDef* def = OpRegistry::Builtin().Find(type);
  return def == nullptr ? ExtentRule::kRefuse : def->extent;
}

absl::StatusOr<std::vector<ExtentDim>> PropagateExtent(
    const ExtentLayer& layer, std::span<const ExtentDim> in,
    const std::function<std::string(int symbol)>& producer) {
  const LayerView& v = layer.view;
  std::vector<ExtentDim> out(v.outputs.size());
  int first = -1, count = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!in[i].any()) continue;
    ++count;
    if (first < 0) first = static_cast<int>(i);
  }
  auto refuse = [&](size_t i, const std::string& why) -> absl::Status {
    const ExtentDim& e = in[i];
    const std::string name = i < layer.input_names.size() ? layer.input_names[i] : "?";
    const int64_t bound = v.inputs[i].shape[static_cast<size_t>(e.dim)];
    return absl::UnimplementedError(absl::StrCat(
        "layer '", v.name, "' (", std::string(v.type),
        ") cannot take the data-dependent extent of input '", name, "' (dimension ", e.dim,
        ", upper bound ", bound, ", data-dependent since layer '", producer(e.symbol),
        "'): ", why));
  };
  // A producer: a new symbol (its inputs must be static).
  {
    std::vector<int> dims = kernels::DataDependentDims(v.type, v.attrs, v.inputs);
    if (!dims.empty()) {
      if (count > 0) {
        return refuse(static_cast<size_t>(first),
                      "a data-dependent layer cannot take a data-dependent input (one bound per "
                      "tensor)");
      }
      for (size_t o = 0; o < out.size() && o < dims.size(); ++o) {
        if (dims[o] >= 0) out[o] = ExtentDim{layer.index, dims[o], 1};
      }
      return out;
    }
  }
  if (count == 0) return out;
  const size_t f = static_cast<size_t>(first);
  const ExtentDim e = in[f];
  switch (ExtentRuleOf(v.type)) {
    case ExtentRule::kRefuse:
      return refuse(f, "its lowering needs the static extent (only elementwise ops, Cast, Gather, "
                       "Transpose, Reshape/Flatten/Squeeze/Unsqueeze/Identity, Slice and Concat "
                       "on other axes take one)");
    case ExtentRule::kElementwise: {
      const int64_t rank = static_cast<int64_t>(v.outputs[0].shape.size());
      const int64_t pos = e.dim + rank - static_cast<int64_t>(v.inputs[f].shape.size());
      for (size_t i = 0; i < v.inputs.size(); ++i) {
        if (!v.Has(i)) continue;
        const int64_t at = pos - (rank - static_cast<int64_t>(v.inputs[i].shape.size()));
        const bool dd = i < in.size() && in[i].any();
        if (dd && !(in[i].symbol == e.symbol && in[i].scale == e.scale && at == in[i].dim)) {
          return refuse(i, absl::StrCat("it broadcasts against input '", layer.input_names[f],
                                        "', whose data-dependent extent may differ"));
        }
        if (!dd && at >= 0 && v.inputs[i].shape[static_cast<size_t>(at)] != 1) {
          return refuse(f, absl::StrCat("input '", layer.input_names[i],
                                        "' has a static extent along that dimension (only 1 "
                                        "broadcasts against a data-dependent extent)"));
        }
      }
      for (ExtentDim& o : out) o = ExtentDim{e.symbol, static_cast<int>(pos), e.scale};
      return out;
    }
    case ExtentRule::kGather: {
      if (count > 1) return refuse(f, "both data and indices are data-dependent");
      const int64_t r = static_cast<int64_t>(v.inputs[0].shape.size());
      const int64_t q = v.Has(1) ? static_cast<int64_t>(v.inputs[1].shape.size()) : 0;
      const int64_t axis = NormAxis(v.attrs.Int("axis", 0), r);
      int64_t pos = 0;
      if (f == 0) {
        if (e.dim == axis) {
          return refuse(f, "it gathers along the data-dependent axis (indices could point past "
                           "the actual extent)");
        }
        pos = e.dim < axis ? e.dim : e.dim + q - 1;
      } else {
        pos = axis + e.dim;
      }
      out[0] = ExtentDim{e.symbol, static_cast<int>(pos), e.scale};
      return out;
    }
    case ExtentRule::kTranspose: {
      if (f != 0) return refuse(f, "only its data input may be data-dependent");
      const int64_t r = static_cast<int64_t>(v.inputs[0].shape.size());
      std::vector<int64_t> perm = v.attrs.Ints("perm", {});
      if (perm.empty()) {
        for (int64_t d = r - 1; d >= 0; --d) perm.push_back(d);
      }
      for (size_t j = 0; j < perm.size(); ++j) {
        if (NormAxis(perm[j], r) == e.dim) {
          out[0] = ExtentDim{e.symbol, static_cast<int>(j), e.scale};
          return out;
        }
      }
      return refuse(f, "its permutation does not name the dimension");
    }
    case ExtentRule::kReshape: {
      if (f != 0 || count > 1) return refuse(f, "only its data input may be data-dependent");
      const Dims& I = v.inputs[0].shape;
      const Dims& O = v.outputs[0].shape;
      const size_t d = static_cast<size_t>(e.dim);
      const int64_t P = Prod(I, 0, d), B = I[d], S = Prod(I, d + 1);
      // The dimension keeps its size, with the same element counts around it.
      for (size_t qd = 0; qd < O.size(); ++qd) {
        if (O[qd] == B && Prod(O, 0, qd) == P && Prod(O, qd + 1) == S) {
          out[0] = ExtentDim{e.symbol, static_cast<int>(qd), e.scale};
          return out;
        }
      }
      // Leading block: nothing non-unit before it on either side; the valid
      // count * scale * S elements fill whole output rows of S' elements.
      if (P == 1) {
        size_t qd = 0;
        while (qd < O.size() && O[qd] == 1) ++qd;
        if (qd < O.size()) {
          const int64_t S2 = Prod(O, qd + 1);
          if (S2 > 0 && S % S2 == 0 && O[qd] == B * (S / S2)) {
            out[0] = ExtentDim{e.symbol, static_cast<int>(qd), e.scale * (S / S2)};
            return out;
          }
        }
      }
      return refuse(f, absl::StrCat("the reshape from ", DimsToString(I), " to ", DimsToString(O),
                                    " does not keep the valid entries a leading block of one "
                                    "dimension"));
    }
    case ExtentRule::kOtherAxes: {
      const int64_t r = static_cast<int64_t>(v.inputs[f].shape.size());
      if (v.type == "Concat") {
        const int64_t axis = NormAxis(v.attrs.Int("axis", 0), r);
        for (size_t i = 0; i < v.inputs.size(); ++i) {
          if (!v.Has(i)) continue;
          if (i >= in.size() || !(in[i] == e)) {
            return refuse(f, absl::StrCat("input '", layer.input_names[i],
                                          "' does not have the same data-dependent dimension"));
          }
        }
        if (axis == e.dim) return refuse(f, "it concatenates along the data-dependent axis");
        out[0] = e;
        return out;
      }
      // Slice: starts (1), ends (2), axes (3), steps (4) must be static.
      if (f != 0 || count > 1) return refuse(f, "only its data input may be data-dependent");
      std::vector<int64_t> axes = ConstInts(v, 3);
      if (!v.Has(3)) {
        const size_t n = v.Has(1) ? static_cast<size_t>(NumElements(v.inputs[1].shape)) : 0;
        for (size_t a = 0; a < n; ++a) axes.push_back(static_cast<int64_t>(a));
      } else if (axes.empty() && NumElements(v.inputs[3].shape) > 0) {
        return refuse(f, "its axes are not a build-time constant");
      }
      for (int64_t a : axes) {
        if (NormAxis(a, r) == e.dim) return refuse(f, "it slices along the data-dependent axis");
      }
      out[0] = e;
      return out;
    }
  }
  return out;
}

}  // namespace engine::ops
