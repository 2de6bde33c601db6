// Optimization profiles of dynamic-shape builds (BuilderConfig::profiles):
// validation, the build shape and the shape buckets (docs/dynamic_shapes.md).
#ifndef ENGINE_BUILDER_PROFILES_H_
#define ENGINE_BUILDER_PROFILES_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/builder.h"

namespace engine::builder {

/// Input shapes by input name.
using ShapeMap = std::map<std::string, Dims>;

/// Checks `config.profiles`: every profile's min/opt/max name the same inputs
/// (and every profile the same set), equal ranks, 0 <= min <= opt <= max per
/// dimension, an input not also pinned by `config.input_shapes`,
/// `shape_buckets` in [1, 16]. Errors: InvalidArgument naming the profile,
/// the input, the dimension and the values.
absl::Status ValidateProfiles(const BuilderConfig& config);

/// The shape the host graph and the arena are built for: per input and
/// dimension the largest `max` over the profiles. `min_shapes` receives the
/// smallest `min`. Requires ValidateProfiles to have passed.
ShapeMap BuildShape(const BuilderConfig& config, ShapeMap* min_shapes);

/// The bucket shapes of profile `p`: min, opt, max and, for `buckets` > 3,
/// `buckets` - 3 shapes linearly spaced between min and max (per dimension,
/// rounded up), duplicates removed, in increasing size. buckets == 1: max
/// only; 2: opt and max.
std::vector<ShapeMap> BucketShapes(const OptimizationProfile& p, int buckets);

/// "name:1x3x224x224,mask:1x8" (trtexec's syntax) for error messages.
std::string ShapesToString(const ShapeMap& shapes);

}  // namespace engine::builder

#endif  // ENGINE_BUILDER_PROFILES_H_
