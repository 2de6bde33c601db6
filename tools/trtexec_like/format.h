// Unit formatting of trtexec_like: the one place that turns bytes,
// milliseconds, cycles, energies and ratios into text, so that every table,
// summary line and HTML page of the tool prints a figure the same way. Units are decimal (1 KB = 1000 bytes, as the README's figures).
#ifndef ENGINE_TOOLS_TRTEXEC_LIKE_FORMAT_H_
#define ENGINE_TOOLS_TRTEXEC_LIKE_FORMAT_H_

#include <cstdint>
#include <string>

namespace trtexec_like {

/// A display unit: a value `v` in the base unit is shown as `v / scale`
/// followed by `name`.
struct Unit {
  const char* name;  ///< "mJ", "MB", ...
  double scale;      ///< base units per display unit (pJ per mJ = 1e9)
};

/// The energy unit for figures up to about `reference_pj` picojoules: mJ from
/// 1e8 pJ (0.1 mJ), uJ from 1e5 pJ (0.1 uJ), nJ below. Pick it once per line
/// or table (from its total or largest value) so that its numbers share it.
Unit EnergyUnit(double reference_pj);

/// Largest byte unit BytesUnit may choose.
enum class LargestByteUnit { kMB, kGB };

/// The byte unit for figures up to about `reference_bytes`: GB from 1e9
/// (when `largest` allows it), MB from 1e6, KB from 1e3, B below.
Unit BytesUnit(double reference_bytes, LargestByteUnit largest = LargestByteUnit::kGB);

/// "123.4 MB", "45.6 KB" or "789 B": one decimal, MB at most (the summary
/// lines' format; a 2.5e9-byte arena prints "2500.0 MB").
std::string FormatBytes(int64_t bytes);

/// "12345678 bytes (12.3 MB)", "4567 bytes (4.6 KB)" or "789 bytes" (what
/// `inspect` prints: the exact count and its scale).
std::string FormatBytesExact(int64_t bytes);

/// "12.345 ms" for `ms` >= 1, four significant digits below ("0.1235 ms").
std::string FormatMs(double ms);

/// "%.4g" of `value`: the tool's compact number for tables ("1.235e+04").
std::string FormatNumber(double value);

/// `pj` picojoules with four significant digits in its own EnergyUnit, e.g.
/// "342.2 mJ".
std::string FormatEnergy(double pj);

/// `value / reference` as "1.234x"; "1x" when both are 0 and "-" when only
/// the reference is 0 (no ratio exists).
std::string FormatRatio(double value, double reference);

/// 100 * part / whole; 0 when `whole` is not positive.
double Percent(double part, double whole);

/// Microseconds taken by `cycles` at `clock_mhz` (cycles per microsecond);
/// 0 when the clock is not positive.
double CyclesToUs(int64_t cycles, double clock_mhz);

}  // namespace trtexec_like

#endif  // ENGINE_TOOLS_TRTEXEC_LIKE_FORMAT_H_
