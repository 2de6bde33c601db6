#include "kernels/conv_geometry.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/kernel_util.h"

namespace engine::kernels {
bool ConvGeometry::pointwise() const {
  bool result = kernel_size() == 1;
  for (int a = 0; a < kMaxSpatial; ++a) {
    result = result && stride[a] == 1 && pad_begin[a] == 0 && pad_end[a] == 0;
  }
  return result;
}

absl::StatusOr<ConvGeometry> ParseConvGeometry(const Attributes& attrs, const Dims& x,
                                               const Dims& w, const std::string& op) {
  if (x.size() < 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": X has shape ", ShapeString(x), ", expected [N,C,D1,...] with >= 1 spatial dim"));
  }
  const size_t nsp = x.size() - 2;
  if (nsp > kMaxSpatial) {
    return absl::UnimplementedError(
        absl::StrCat(op, ": ", nsp, "-D convolution is not supported (at most 3-D)"));
  }
  if (w.size() != x.size()) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": W has ", w.size(), " dims, expected ",
                                                   x.size(), " for a ", nsp, "-D convolution"));
  }
  ConvGeometry p;
  p.batch = x[0];
  p.in_channels = x[1];
  p.out_channels = w[0];
  ENGINE_ASSIGN_OR_RETURN(p.group, attrs.GetInt("group", 1));
  if (p.group < 1) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": group ", p.group, " must be >= 1"));
  }
  if (p.in_channels % p.group != 0 || p.out_channels % p.group != 0) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": group ", p.group,
                                                   " must divide both C (", p.in_channels,
                                                   ") and M (", p.out_channels, ")"));
  }
  if (w[1] != p.in_channels / p.group) {
    return absl::InvalidArgumentError(absl::StrCat(
        op, ": W has shape ", ShapeString(w), ", expected dim 1 = C/group = ",
        p.in_channels / p.group, " for X ", ShapeString(x), " and group ", p.group));
  }
  const Dims w_kernel(w.begin() + 2, w.end());
  for (int64_t k : w_kernel) {
    if (k < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(op, ": W has shape ", ShapeString(w), " with an empty kernel"));
    }
  }
  if (attrs.Has("kernel_shape")) {
    ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> ks, attrs.GetInts("kernel_shape"));
    if (ks != w_kernel) {
      return absl::InvalidArgumentError(absl::StrCat(op, ": kernel_shape ", ShapeString(ks),
                                                     " does not match W's spatial dims ",
                                                     ShapeString(w_kernel)));
    }
  }
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> strides,
                          GetSpatialInts(attrs, op, "strides", nsp, 1, 1));
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> dilations,
                          GetSpatialInts(attrs, op, "dilations", nsp, 1, 1));
  ENGINE_ASSIGN_OR_RETURN(std::vector<int64_t> pads,
                          GetSpatialInts(attrs, op, "pads", 2 * nsp, 0, 0));
  ENGINE_ASSIGN_OR_RETURN(std::string auto_pad, GetAutoPad(attrs, op));

  p.y_shape = {p.batch, p.out_channels};
  const size_t lead = kMaxSpatial - nsp;  // unit axes prepended
  for (size_t i = 0; i < nsp; ++i) {
    const size_t a = lead + i;
    const int64_t in = x[2 + i];
    p.in[a] = in;
    p.kernel[a] = w_kernel[i];
    p.stride[a] = strides[i];
    p.dilation[a] = dilations[i];
    const int64_t ek = (w_kernel[i] - 1) * dilations[i] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      SamePadding(auto_pad, in, strides[i], ek, &p.pad_begin[a], &p.pad_end[a]);
    } else if (auto_pad == "NOTSET") {
      p.pad_begin[a] = pads[i];
      p.pad_end[a] = pads[nsp + i];
    }
    const int64_t span = in + p.pad_begin[a] + p.pad_end[a] - ek;
    if (span < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          op, ": spatial axis ", i, " of X (size ", in, ", padded to ",
          in + p.pad_begin[a] + p.pad_end[a], ") is smaller than the dilated kernel (", ek, ")"));
    }
    p.out[a] = span / strides[i] + 1;
    p.y_shape.push_back(p.out[a]);
  }
  return p;
}

}  // namespace engine::kernels
