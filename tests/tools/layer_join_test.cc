// Joining engine layers with their device profile rows
// (tools/trtexec_like/layer_join.h).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "trtexec_like/layer_join.h"

namespace trtexec_like {
namespace {

std::vector<engine::LayerInfo> Layers(const std::vector<std::string>& names) {
  std::vector<engine::LayerInfo> out;
  for (const std::string& n : names) {
    engine::LayerInfo l;
    l.name = n;
    l.type = "Conv";
    out.push_back(l);
  }
  return out;
}

engine::DeviceProfile Profile(const std::vector<std::pair<std::string, int64_t>>& rows) {
  engine::DeviceProfile p;
  for (const auto& [name, cycles] : rows) {
    engine::LayerDeviceProfile l;
    l.name = name;
    l.cycles = cycles;
    p.layers.push_back(l);
  }
  return p;
}

TEST_CASE("JoinLayers pairs layers with the row at the same position", "[tools][join]") {
  const auto layers = Layers({"a", "b", "c"});
  const auto profile = Profile({{"a", 10}, {"b", 20}, {"c", 30}});
  const std::vector<JoinedLayer> j = JoinLayers(layers, profile);
  REQUIRE(j.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(j[i].info == &layers[i]);
    CHECK(j[i].device == &profile.layers[i]);
  }
}

TEST_CASE("JoinLayers falls back to the name when positions differ", "[tools][join]") {
  const auto layers = Layers({"a", "b", "c"});
  // "b" and "c" swapped, "a" twice (the first wins).
  const auto profile = Profile({{"a", 10}, {"c", 30}, {"b", 20}, {"a", 99}});
  const std::vector<JoinedLayer> j = JoinLayers(layers, profile);
  REQUIRE(j.size() == 3);
  REQUIRE(j[0].device != nullptr);
  CHECK(j[0].device->cycles == 10);
  REQUIRE(j[1].device != nullptr);
  CHECK(j[1].device->name == "b");
  CHECK(j[1].device->cycles == 20);
  REQUIRE(j[2].device != nullptr);
  CHECK(j[2].device->cycles == 30);
}

TEST_CASE("JoinLayers leaves a layer without a row unpaired", "[tools][join]") {
  const auto layers = Layers({"a", "reshape"});
  const auto profile = Profile({{"a", 10}});
  const std::vector<JoinedLayer> j = JoinLayers(layers, profile);
  REQUIRE(j.size() == 2);
  CHECK(j[0].device != nullptr);
  CHECK(j[1].device == nullptr);
  CHECK(j[1].device_or_empty().cycles == 0);
  CHECK(j[1].device_or_empty().name.empty());
  CHECK(j[0].device_or_empty().cycles == 10);
  CHECK(JoinLayers(layers, engine::DeviceProfile{})[0].device == nullptr);
}

}  // namespace
}  // namespace trtexec_like
