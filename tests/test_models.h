// Tiny ONNX models built in code for unit tests (no files needed).
#ifndef ENGINE_TESTS_TEST_MODELS_H_
#define ENGINE_TESTS_TEST_MODELS_H_

#include <string>
#include <vector>

#include "engine/tensor.h"
#include "onnx/onnx_pb.h"

namespace engine::testing {

/// Builds a ModelProto node by node.
class ModelBuilder {
 public:
  explicit ModelBuilder(int opset = 13, const std::string& name = "test");

  /// Adds a float graph input; a dimension < 0 becomes symbolic ("N").
  ModelBuilder& Input(const std::string& name, const std::vector<int64_t>& dims,
                      int elem_type = onnx::TensorProto::FLOAT);
  /// Adds a float graph output of the given shape (the ONNX checker needs it).
  ModelBuilder& Output(const std::string& name, const std::vector<int64_t>& dims);
  ModelBuilder& Initializer(const std::string& name, const Tensor& value);
  /// Adds a node; returns it so attributes can be set.
  onnx::NodeProto& Node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name = "");

  static void SetInts(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v);
  static void SetInt(onnx::NodeProto& n, const std::string& name, int64_t v);
  static void SetFloat(onnx::NodeProto& n, const std::string& name, float v);

  onnx::ModelProto& model() { return model_; }
  std::string Serialize() const;

 private:
  onnx::ModelProto model_;
};

/// A small Conv -> Relu -> Reshape -> Gemm model (input "x" [1,2,4,4], output
/// "y" [1,3]) with seeded weights; `batch` < 0 makes the batch dim dynamic.
std::string SmallConvModel(int64_t batch = 1);

}  // namespace engine::testing

#endif  // ENGINE_TESTS_TEST_MODELS_H_
