#include "trtexec_like/format.h"

#include "absl/strings/str_format.h"

namespace trtexec_like {

Unit EnergyUnit(double reference_pj) {
  if (reference_pj >= 1e8) return {"mJ", 1e9};
  if (reference_pj >= 1e5) return {"uJ", 1e6};
  return {"nJ", 1e3};
}

Unit BytesUnit(double reference_bytes, LargestByteUnit largest) {
  if (largest == LargestByteUnit::kGB && reference_bytes >= 1e9) return {"GB", 1e9};
  if (reference_bytes >= 1e6) return {"MB", 1e6};
  if (reference_bytes >= 1e3) return {"KB", 1e3};
  return {"B", 1};
}

std::string FormatBytes(int64_t bytes) {
  const Unit u = BytesUnit(static_cast<double>(bytes), LargestByteUnit::kMB);
  if (u.scale == 1) return absl::StrFormat("%d B", bytes);
  return absl::StrFormat("%.1f %s", bytes / u.scale, u.name);
}

std::string FormatBytesExact(int64_t bytes) {
  const Unit u = BytesUnit(static_cast<double>(bytes), LargestByteUnit::kMB);
  if (u.scale == 1) return absl::StrFormat("%d bytes", bytes);
  return absl::StrFormat("%d bytes (%.1f %s)", bytes, bytes / u.scale, u.name);
}

std::string FormatMs(double ms) {
  return ms >= 1.0 ? absl::StrFormat("%.3f ms", ms) : absl::StrFormat("%.4g ms", ms);
}

std::string FormatNumber(double value) { return absl::StrFormat("%.4g", value); }

std::string FormatEnergy(double pj) {
  const Unit u = EnergyUnit(pj);
  return absl::StrFormat("%.4g %s", pj / u.scale, u.name);
}

std::string FormatRatio(double value, double reference) {
  if (reference == 0) return value == 0 ? "1x" : "-";
  return absl::StrFormat("%.4gx", value / reference);
}

double Percent(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

double CyclesToUs(int64_t cycles, double clock_mhz) {
  return clock_mhz > 0 ? static_cast<double>(cycles) / clock_mhz : 0.0;
}

}  // namespace trtexec_like
