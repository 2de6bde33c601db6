// Helpers for tests that run the trtexec_like binary: run it, temporary
// folders, files and JSON.
#ifndef ENGINE_TESTS_E2E_CLI_UTIL_H_
#define ENGINE_TESTS_E2E_CLI_UTIL_H_

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/runtime.h"

namespace engine::testing {

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout + stderr
};

/// Runs trtexec_like with `args` (a shell-quoted string); captures both streams.
inline RunResult RunCli(const std::string& args) {
  RunResult r;
  const std::string cmd = std::string(ENGINE_TRTEXEC_LIKE) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

/// A fresh folder under the system temp dir named after `prefix` and the pid.
inline std::filesystem::path TempDir(const std::string& prefix) {
  std::filesystem::path d =
      std::filesystem::temp_directory_path() / (prefix + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d;
}

inline void WriteFile(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// Parses a JSON file (REQUIREs valid JSON).
inline nlohmann::json ReadJson(const std::filesystem::path& p) {
  nlohmann::json j = nlohmann::json::parse(ReadFile(p), nullptr, /*allow_exceptions=*/false);
  INFO("file: " << p.string());
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

/// The payload CRC-32 of a plan (PlanInfo::payload_crc32): equal for two plans
/// of the same engine whatever provenance their headers record. REQUIREs
/// that the plan loads.
inline uint32_t PayloadCrc(const std::string& plan) {
  auto eng = Runtime::DeserializeEngine(plan);
  REQUIRE(eng.ok());
  return (*eng)->plan_info().payload_crc32;
}

}  // namespace engine::testing

#endif  // ENGINE_TESTS_E2E_CLI_UTIL_H_
