#include "serving/served_model.h"

#include <set>

#include "serving/json_util.h"

namespace engine::serving {
namespace {

std::string ShapeJson(const engine::Dims& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) s.push_back(',');
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

// Dimensions that vary over the engine's optimization profiles, as -1.
engine::Dims MetadataShape(const engine::Engine& e, const engine::TensorDesc& d, bool is_input,
                           bool batched) {
  engine::Dims shape = d.shape;
  if (is_input) {
    for (const engine::OptimizationProfileInfo& p : e.profiles()) {
      for (const engine::ProfileInputInfo& in : p.inputs) {
        if (in.name != d.name) continue;
        for (size_t k = 0; k < shape.size() && k < in.min.size(); ++k) {
          if (in.min[k] != in.max[k]) shape[k] = -1;
        }
      }
    }
  }
  if (batched && !shape.empty()) shape[0] = -1;
  return shape;
}

// The largest batch the engine's profiles admit for every input together, or
// an error saying why `max_batch_size` cannot be served.
absl::Status CheckBatchProfile(const engine::Engine& e, int max_batch_size) {
  if (!e.has_dynamic_shapes()) {
    return absl::FailedPreconditionError(
        "max_batch_size " + std::to_string(max_batch_size) +
        " needs a plan built with an optimization profile over dimension 0 of every input "
        "(trtexec_like --minShapes/--maxShapes, docs/dynamic_shapes.md); this plan has fixed "
        "shapes: set max_batch_size 0");
  }
  std::string why;
  for (size_t p = 0; p < e.profiles().size(); ++p) {
    bool fits = true;
    for (const engine::TensorDesc& d : e.inputs()) {
      const engine::ProfileInputInfo* range = nullptr;
      for (const engine::ProfileInputInfo& in : e.profiles()[p].inputs) {
        if (in.name == d.name) range = &in;
      }
      if (range == nullptr || range->min.empty()) {
        fits = false;
        why = "input '" + d.name + "' has no range in profile " + std::to_string(p);
        break;
      }
      if (range->min[0] > 1 || range->max[0] < max_batch_size) {
        fits = false;
        why = "profile " + std::to_string(p) + " gives input '" + d.name + "' dimension 0 [" +
              std::to_string(range->min[0]) + ", " + std::to_string(range->max[0]) +
              "], not [1, " + std::to_string(max_batch_size) + "]";
        break;
      }
      for (size_t k = 1; k < range->min.size(); ++k) {
        if (range->min[k] != range->max[k]) {
          fits = false;
          why = "profile " + std::to_string(p) + " gives input '" + d.name + "' a range on " +
                "dimension " + std::to_string(k) + ": only the batch (dimension 0) may vary";
          break;
        }
      }
      if (!fits) break;
    }
    if (fits) return absl::OkStatus();
  }
  return absl::FailedPreconditionError("max_batch_size " + std::to_string(max_batch_size) +
                                       ": no optimization profile of the plan fits (" + why + ")");
}

}  // namespace

std::shared_ptr<ServedModel> ServedModel::Load(const std::string& name, const std::string& version,
                                               const std::string& plan_path,
                                               const absl::StatusOr<ModelConfig>& config,
                                               const LoadOptions& options) {
  std::shared_ptr<ServedModel> m(new ServedModel());
  m->name_ = name;
  m->version_ = version;
  m->stats_ = std::make_unique<ModelStats>(1);
  if (!config.ok()) {
    m->reason_ = std::string(config.status().message());
    return m;
  }
  m->config_ = *config;
  engine::RuntimeOptions ro;
  ro.logger = options.logger;
  ro.max_activation_bytes = options.max_activation_bytes;
  absl::StatusOr<std::shared_ptr<const engine::Engine>> e =
      engine::Runtime::LoadEngineFile(plan_path, ro);
  if (!e.ok()) {
    m->reason_ = e.status().ToString();
    return m;
  }
  if (m->config_.max_batch_size > 0) {
    if (absl::Status s = CheckBatchProfile(**e, m->config_.max_batch_size); !s.ok()) {
      m->reason_ = plan_path + ": " + std::string(s.message());
      return m;
    }
  }
  m->max_batch_ = m->config_.max_batch_size;
  m->stats_ = std::make_unique<ModelStats>(std::max(m->max_batch_, 1));
  absl::StatusOr<std::unique_ptr<Scheduler>> s =
      Scheduler::Create(*e, m->config_, m->max_batch_, m->stats_.get());
  if (!s.ok()) {
    m->reason_ = plan_path + ": " + s.status().ToString();
    return m;
  }
  m->engine_ = *std::move(e);
  m->scheduler_ = *std::move(s);
  return m;
}

ServedModel::~ServedModel() { Stop(); }

void ServedModel::Stop() {
  if (scheduler_ != nullptr) scheduler_->Stop();
}

std::string ServedModel::MetadataJson() const {
  std::string s = "{\"name\":";
  AppendJsonString(name_, &s);
  s += ",\"versions\":[";
  AppendJsonString(version_, &s);
  s += "],\"platform\":\"engine_plan\"";
  if (engine_ == nullptr) return s + "}";
  const bool batched = max_batch_ > 0;
  for (bool is_input : {true, false}) {
    s += is_input ? ",\"inputs\":[" : ",\"outputs\":[";
    const auto& descs = is_input ? engine_->inputs() : engine_->outputs();
    for (size_t i = 0; i < descs.size(); ++i) {
      if (i > 0) s.push_back(',');
      s += "{\"name\":";
      AppendJsonString(descs[i].name, &s);
      s += ",\"datatype\":\"" + std::string(OipDatatype(descs[i].dtype)) + "\",\"shape\":" +
           ShapeJson(MetadataShape(*engine_, descs[i], is_input, batched)) + "}";
    }
    s += "]";
  }
  return s + "}";
}

absl::StatusOr<PreparedInputs> ServedModel::Prepare(InferRequest& request) const {
  if (engine_ == nullptr) {
    return absl::FailedPreconditionError("model '" + name_ + "' version " + version_ +
                                         " is not ready: " + reason_);
  }
  const std::vector<engine::TensorDesc>& inputs = engine_->inputs();
  const std::string model = "model '" + name_ + "' version " + version_;
  PreparedInputs out;
  out.tensors.resize(inputs.size());
  std::vector<bool> seen(inputs.size(), false);
  int64_t batch = -1;
  for (InferInput& in : request.inputs) {
    size_t k = 0;
    while (k < inputs.size() && inputs[k].name != in.name) ++k;
    if (k == inputs.size()) {
      std::string names;
      for (const auto& d : inputs) names += (names.empty() ? "'" : ", '") + d.name + "'";
      return absl::InvalidArgumentError(model + " has no input '" + Printable(in.name) +
                                        "' (inputs: " + names + ")");
    }
    if (seen[k]) {
      return absl::InvalidArgumentError("input '" + in.name + "' is given twice");
    }
    seen[k] = true;
    const engine::TensorDesc& d = inputs[k];
    const engine::Dims& shape = in.tensor.shape();
    if (in.tensor.dtype() != d.dtype) {
      return absl::InvalidArgumentError("input '" + d.name + "' has datatype " +
                                        std::string(OipDatatype(in.tensor.dtype())) + "; " +
                                        model + " expects " + std::string(OipDatatype(d.dtype)));
    }
    const std::string expected = ShapeJson(MetadataShape(*engine_, d, true, max_batch_ > 0));
    if (shape.size() != d.shape.size()) {
      return absl::InvalidArgumentError("input '" + d.name + "' has shape " + ShapeJson(shape) +
                                        "; " + model + " expects " + expected);
    }
    if (max_batch_ > 0) {
      if (shape[0] < 1 || shape[0] > max_batch_) {
        return absl::InvalidArgumentError("input '" + d.name + "' has batch " +
                                          std::to_string(shape[0]) + "; " + model +
                                          " takes batches of 1 to " + std::to_string(max_batch_) +
                                          " (max_batch_size)");
      }
      if (batch >= 0 && shape[0] != batch) {
        return absl::InvalidArgumentError("input '" + d.name + "' has batch " +
                                          std::to_string(shape[0]) + " but another input " +
                                          std::to_string(batch));
      }
      batch = shape[0];
      for (size_t i = 1; i < shape.size(); ++i) {
        if (shape[i] != d.shape[i]) {
          return absl::InvalidArgumentError("input '" + d.name + "' has shape " +
                                            ShapeJson(shape) + "; " + model + " expects " +
                                            expected);
        }
      }
    } else if (!engine_->has_dynamic_shapes() && shape != d.shape) {
      return absl::InvalidArgumentError("input '" + d.name + "' has shape " + ShapeJson(shape) +
                                        "; " + model + " expects " + expected);
    }
    out.tensors[k] = std::move(in.tensor);
  }
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!seen[k]) {
      return absl::InvalidArgumentError("input '" + inputs[k].name + "' of " + model +
                                        " is missing");
    }
  }
  for (const RequestedOutput& o : request.outputs) {
    bool known = false;
    for (const engine::TensorDesc& d : engine_->outputs()) known = known || d.name == o.name;
    if (!known) {
      return absl::InvalidArgumentError(model + " has no output '" + Printable(o.name) + "'");
    }
  }
  out.batch = max_batch_ > 0 ? batch : 1;
  return out;
}

absl::StatusOr<InferResult> ServedModel::Infer(PreparedInputs inputs, int64_t timeout_us) {
  if (scheduler_ == nullptr) {
    return absl::FailedPreconditionError("model '" + name_ + "' version " + version_ +
                                         " is not ready: " + reason_);
  }
  return scheduler_->Infer(std::move(inputs.tensors), inputs.batch, timeout_us);
}

}  // namespace engine::serving
