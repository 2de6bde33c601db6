// trtexec_like's unit formatting (tools/trtexec_like/format.h).
#include <catch2/catch.hpp>

#include <string>

#include "trtexec_like/format.h"

namespace trtexec_like {
namespace {

TEST_CASE("EnergyUnit switches unit at 0.1 of the next one", "[tools][format]") {
  CHECK(std::string(EnergyUnit(1e8).name) == "mJ");
  CHECK(EnergyUnit(1e8).scale == 1e9);
  CHECK(std::string(EnergyUnit(99999999).name) == "uJ");
  CHECK(std::string(EnergyUnit(1e5).name) == "uJ");
  CHECK(std::string(EnergyUnit(99999).name) == "nJ");
  CHECK(std::string(EnergyUnit(0).name) == "nJ");
}

TEST_CASE("BytesUnit is decimal and can stop at MB", "[tools][format]") {
  CHECK(std::string(BytesUnit(1e9).name) == "GB");
  CHECK(std::string(BytesUnit(1e9, LargestByteUnit::kMB).name) == "MB");
  CHECK(std::string(BytesUnit(999999).name) == "KB");
  CHECK(std::string(BytesUnit(1000).name) == "KB");
  CHECK(std::string(BytesUnit(999).name) == "B");
  CHECK(BytesUnit(999).scale == 1);
}

TEST_CASE("FormatBytes and FormatBytesExact keep the summary lines' format", "[tools][format]") {
  CHECK(FormatBytes(789) == "789 B");
  CHECK(FormatBytes(45600) == "45.6 KB");
  CHECK(FormatBytes(123400000) == "123.4 MB");
  CHECK(FormatBytes(2500000000) == "2500.0 MB");  // MB at most
  CHECK(FormatBytesExact(789) == "789 bytes");
  CHECK(FormatBytesExact(4567) == "4567 bytes (4.6 KB)");
  CHECK(FormatBytesExact(12345678) == "12345678 bytes (12.3 MB)");
}

TEST_CASE("FormatMs prints three decimals from 1 ms, four digits below", "[tools][format]") {
  CHECK(FormatMs(37.9533674) == "37.953 ms");
  CHECK(FormatMs(1.0) == "1.000 ms");
  CHECK(FormatMs(0.123456) == "0.1235 ms");
}

TEST_CASE("FormatEnergy, FormatNumber and FormatRatio", "[tools][format]") {
  CHECK(FormatEnergy(342.2e9) == "342.2 mJ");
  CHECK(FormatEnergy(4.218e6) == "4.218 uJ");
  CHECK(FormatEnergy(2500) == "2.5 nJ");
  CHECK(FormatNumber(12345.678) == "1.235e+04");
  CHECK(FormatNumber(0.5) == "0.5");
  CHECK(FormatRatio(2, 1) == "2x");
  CHECK(FormatRatio(1, 3) == "0.3333x");
  CHECK(FormatRatio(0, 0) == "1x");
  CHECK(FormatRatio(1, 0) == "-");
}

TEST_CASE("Percent and CyclesToUs guard against a zero denominator", "[tools][format]") {
  CHECK(Percent(1, 4) == 25.0);
  CHECK(Percent(1, 0) == 0.0);
  CHECK(Percent(1, -2) == 0.0);
  CHECK(CyclesToUs(1500, 1000) == 1.5);
  CHECK(CyclesToUs(1500, 0) == 0.0);
}

}  // namespace
}  // namespace trtexec_like
