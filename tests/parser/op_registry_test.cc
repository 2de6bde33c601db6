#include <catch2/catch.hpp>

#include "executor/kernels/kernel.h"
#include "parser/op_registry.h"

using namespace engine;

TEST_CASE("Every importable ONNX op has a host kernel", "[parser]") {
  const auto& kernels = kernels::KernelRegistry::Builtin();
  for (const auto& imp : parser::AllImporters()) {
    if (imp.op_type == "Constant" || imp.op_type == "Dropout") continue;  // rewritten at import
    INFO(imp.op_type);
    CHECK(kernels.Find(imp.op_type) != nullptr);
  }
}

TEST_CASE("Importer lookup accepts ai.onnx and rejects unknown ops and opsets", "[parser]") {
  std::string why;
  CHECK(parser::FindImporter("ai.onnx", "Conv", 11, &why) != nullptr);
  CHECK(parser::FindImporter("", "Conv", 26, &why) == nullptr);
  CHECK(why.find("newer than") != std::string::npos);
  CHECK(parser::FindImporter("", "NonMaxSuppression", 13, &why) == nullptr);
  CHECK(parser::FindImporter("com.microsoft", "Conv", 1, &why) == nullptr);
}
