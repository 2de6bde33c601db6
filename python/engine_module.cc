// The Python module `engine`: a thin pybind11 layer over the public C++ API
// (include/engine/). Type stubs with the documentation of every name:
// python/engine.pyi. Conventions:
//  - every absl::Status error becomes engine.EngineError carrying the
//    engine's message, `.code` (absl::StatusCode as int) and `.code_name`;
//  - the GIL is released while the builder builds and while a context
//    executes; a Python calibrator's methods are called with it re-acquired;
//  - enums are strings ("fp32", "int8", "latency", "entropy", ...).
#include <pybind11/eval.h>
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/dataset.h"
#include "common/file_util.h"
#include "engine/builder.h"
#include "engine/plugin_registry.h"
#include "engine/calibrator.h"
#include "engine/compare.h"
#include "engine/hardware.h"
#include "engine/logger.h"
#include "engine/runtime.h"
#include "engine/tensor.h"
#include "engine/tensor_io.h"
#include "engine/types.h"
#include "trtexec_like/options.h"
#include "trtexec_like/report/compare.h"
#include "trtexec_like/report/run_report.h"
#include "trtexec_like/report/schema.h"

namespace py = pybind11;

namespace {

// ---------------------------------------------------------------------------
// Errors

py::object& EngineErrorType() {
  static py::object* type = new py::object();  // leaked: lives as long as the interpreter
  return *type;
}

// "INVALID_ARGUMENT", "NOT_FOUND", ... (absl's names of the codes).
std::string StatusCodeName(absl::StatusCode code) { return absl::StatusCodeToString(code); }

// Raises engine.EngineError(status) (GIL held), chained to `cause` when given.
[[noreturn]] void ThrowStatus(const absl::Status& status, py::object cause = py::none()) {
  py::object exc = EngineErrorType()(std::string(status.message()), static_cast<int>(status.code()),
                                     StatusCodeName(status.code()));
  if (!cause.is_none()) {
    PyException_SetCause(exc.ptr(), cause.inc_ref().ptr());  // steals the reference
  }
  PyErr_SetObject(EngineErrorType().ptr(), exc.ptr());
  throw py::error_already_set();
}

void Check(const absl::Status& status) {
  if (!status.ok()) ThrowStatus(status);
}

template <typename T>
T Unwrap(absl::StatusOr<T> value) {
  if (!value.ok()) ThrowStatus(value.status());
  return *std::move(value);
}

// ---------------------------------------------------------------------------
// Types and tensors

py::dtype NumpyDtype(engine::DataType dt) {
  switch (dt) {
    case engine::DataType::kFloat32: return py::dtype("float32");
    case engine::DataType::kUint8: return py::dtype("uint8");
    case engine::DataType::kInt8: return py::dtype("int8");
    case engine::DataType::kInt32: return py::dtype("int32");
    case engine::DataType::kInt64: return py::dtype("int64");
    case engine::DataType::kBool: return py::dtype("bool");
    case engine::DataType::kFloat16: return py::dtype("float16");
    case engine::DataType::kFloat64: return py::dtype("float64");
    case engine::DataType::kBFloat16: return py::dtype("uint16");  // raw bfloat16 bits
    case engine::DataType::kUint16: return py::dtype("uint16");
    case engine::DataType::kInt16: return py::dtype("int16");
    case engine::DataType::kUint32: return py::dtype("uint32");
    case engine::DataType::kUint64: return py::dtype("uint64");
    case engine::DataType::kUndefined: break;
  }
  throw py::value_error("tensor of undefined element type");
}

// The engine DataType of a NumPy dtype, nullopt for unsupported ones.
// uint16 arrays stand for bfloat16 (NumPy has no bfloat16).
std::optional<engine::DataType> EngineDtype(const py::dtype& dt) {
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (kind == 'f' && size == 4) return engine::DataType::kFloat32;
  if (kind == 'f' && size == 2) return engine::DataType::kFloat16;
  if (kind == 'f' && size == 8) return engine::DataType::kFloat64;
  if (kind == 'u' && size == 1) return engine::DataType::kUint8;
  if (kind == 'u' && size == 2) return engine::DataType::kBFloat16;
  if (kind == 'u' && size == 4) return engine::DataType::kUint32;
  if (kind == 'u' && size == 8) return engine::DataType::kUint64;
  if (kind == 'i' && size == 2) return engine::DataType::kInt16;
  if (kind == 'i' && size == 1) return engine::DataType::kInt8;
  if (kind == 'i' && size == 4) return engine::DataType::kInt32;
  if (kind == 'i' && size == 8) return engine::DataType::kInt64;
  if (kind == 'b' && size == 1) return engine::DataType::kBool;
  return std::nullopt;
}

bool IsNativeByteOrder(const py::dtype& dt) {
  const char order = dt.byteorder();
  return order == '=' || order == '|' || order == '<';  // x86/ARM hosts are little-endian
}

// `obj` as a C-contiguous, aligned, native-order NumPy array, copied only
// when it is not one already.
py::array ContiguousArray(const py::object& obj, const std::string& what) {
  py::module_ np = py::module_::import("numpy");
  py::array arr = py::isinstance<py::array>(obj) ? py::reinterpret_borrow<py::array>(obj)
                                                 : py::array(np.attr("asarray")(obj));
  const bool aligned = reinterpret_cast<uintptr_t>(arr.data()) % std::max<py::ssize_t>(1, arr.itemsize()) == 0;
  const bool ok = (arr.flags() & py::array::c_style) && aligned &&
                  IsNativeByteOrder(arr.dtype());
  if (!ok) arr = np.attr("ascontiguousarray")(arr, arr.dtype().attr("newbyteorder")("="));
  return arr;
}

engine::Dims ArrayDims(const py::array& arr) {
  return engine::Dims(arr.shape(), arr.shape() + arr.ndim());
}

// A non-owning engine::Tensor over a contiguous array's bytes (no copy).
engine::Tensor ViewOf(const py::array& arr, const std::string& what) {
  auto dt = EngineDtype(arr.dtype());
  if (!dt) {
    ThrowStatus(absl::InvalidArgumentError(absl::StrCat(
        what, ": NumPy dtype ", py::str(arr.dtype()).cast<std::string>(),
        " is not an engine element type (float32, float16, float64, uint8, int8, int32, int64, "
        "bool; uint16 for bfloat16)")));
  }
  return engine::Tensor::View(*dt, ArrayDims(arr), const_cast<void*>(arr.data()));
}

// A new NumPy array holding a copy of `t`.
py::array ToNumpy(const engine::Tensor& t) {
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
  py::array out(NumpyDtype(t.dtype()), shape);
  if (t.byte_size() > 0) std::memcpy(out.mutable_data(), t.data(), t.byte_size());
  return out;
}

struct PyTensorDesc {
  std::string name;
  engine::DataType dtype = engine::DataType::kUndefined;
  engine::Dims shape;
};

py::tuple ShapeTuple(const engine::Dims& d) {
  py::tuple t(d.size());
  for (size_t i = 0; i < d.size(); ++i) t[i] = py::int_(d[i]);
  return t;
}

std::vector<PyTensorDesc> Descs(const std::vector<engine::TensorDesc>& in) {
  std::vector<PyTensorDesc> out;
  for (const auto& d : in) out.push_back({d.name, d.dtype, d.shape});
  return out;
}

// ---------------------------------------------------------------------------
// Enums as strings

engine::Precision ParsePrecisionOrThrow(const std::string& s) {
  auto p = engine::ParsePrecision(s);
  if (!p) throw py::value_error("precision must be 'fp32', 'fp16', 'bf16' or 'int8', got '" + s + "'");
  return *p;
}

engine::Objective ParseObjectiveOrThrow(const std::string& s) {
  auto o = engine::ObjectiveFromName(s);
  if (!o) throw py::value_error("objective must be 'latency', 'energy' or 'edp', got '" + s + "'");
  return *o;
}

engine::CalibrationAlgorithm ParseAlgorithmOrThrow(const std::string& s) {
  if (s == "entropy") return engine::CalibrationAlgorithm::kEntropy;
  if (s == "minmax") return engine::CalibrationAlgorithm::kMinMax;
  if (s == "percentile") return engine::CalibrationAlgorithm::kPercentile;
  throw py::value_error("calibration_algorithm must be 'entropy', 'minmax' or 'percentile', got '" +
                        s + "'");
}

// ---------------------------------------------------------------------------
// Hardware

struct PyHardware {
  engine::HardwareConfig config;
};

py::object JsonLoads(const std::string& text) {
  return py::module_::import("json").attr("loads")(text);
}

// ---------------------------------------------------------------------------
// Calibrators

// The dataset calibrator: images, tensor files or an MNIST IDX file, read and
// preprocessed by the engine (as trtexec_like --calibData).
class DatasetCalibrator final : public engine::Calibrator {
 public:
  DatasetCalibrator(std::string path, const std::string& preprocess, int64_t limit)
      : path_(std::move(path)), preprocess_spec_(preprocess) {
    auto pp = engine::data::ParseImagePreprocess(preprocess);
    if (!pp.ok()) ThrowStatus(pp.status());
    options_.preprocess = *pp;
    options_.limit = limit > 0 ? limit : -1;
  }

  absl::Status Begin(const std::vector<engine::TensorDesc>& inputs) override {
    if (inputs.size() != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "DatasetCalibrator feeds one input; the network has ", inputs.size(),
          " (subclass engine.Calibrator to calibrate multi-input networks)"));
    }
    input_ = inputs[0];
    auto ds = engine::data::Dataset::Open(path_, input_, options_);
    if (!ds.ok()) return ds.status();
    dataset_ = *std::move(ds);
    next_ = 0;
    return absl::OkStatus();
  }

  absl::StatusOr<bool> NextBatch(std::map<std::string, engine::Tensor>& inputs) override {
    if (dataset_ == nullptr || next_ >= dataset_->num_batches()) return false;
    auto batch = dataset_->GetBatch(next_);
    if (!batch.ok()) return batch.status();
    inputs[input_.name] = std::move(batch->input);
    ++next_;
    return true;
  }

  int64_t BatchCount() const override { return dataset_ ? dataset_->num_batches() : 0; }

  // What the plan records (PlanInfo::calibration_data / preprocess), as the CLI's --calibData.
  std::string Describe() const override {
    if (dataset_ == nullptr) return path_;
    return absl::StrCat(dataset_->Describe(), "; ", next_, " batch(es) of ",
                        dataset_->batch_size());
  }
  std::string Preprocessing() const override {
    if (dataset_ == nullptr || dataset_->kind() == engine::data::DatasetKind::kTensors) return "";
    return engine::data::ImagePreprocessToString(options_.preprocess);
  }

  const std::string& path() const { return path_; }
  const std::string& preprocess() const { return preprocess_spec_; }
  int64_t batches_delivered() const { return next_; }

 private:
  std::string path_;
  std::string preprocess_spec_;
  engine::data::DatasetOptions options_;
  engine::TensorDesc input_;
  std::unique_ptr<engine::data::Dataset> dataset_;
  int64_t next_ = 0;
};

// Adapts a Python calibrator object (engine.Calibrator subclass or any object
// with get_batch()) to engine::Calibrator. Called from the building thread,
// which runs with the GIL released: every call re-acquires it. The first
// Python exception is kept (`error`) and the build is aborted with its text.
class PyCalibratorAdapter final : public engine::Calibrator {
 public:
  explicit PyCalibratorAdapter(py::object obj) : obj_(std::move(obj)) {}

  absl::Status Begin(const std::vector<engine::TensorDesc>& inputs) override {
    py::gil_scoped_acquire gil;
    // Each input's dtype: get_batch() arrays are converted to it (float32
    // for images; int64 for token ids, BERT's input_ids / attention_mask).
    for (const engine::TensorDesc& d : inputs) dtypes_[d.name] = d.dtype;
    try {
      if (py::hasattr(obj_, "begin")) obj_.attr("begin")(Descs(inputs));
      if (py::hasattr(obj_, "batch_count")) count_ = obj_.attr("batch_count")().cast<int64_t>();
    } catch (py::error_already_set& e) {
      return Fail("begin", e);
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(absl::StrCat("Python calibrator begin(): ", e.what()));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<bool> NextBatch(std::map<std::string, engine::Tensor>& inputs) override {
    py::gil_scoped_acquire gil;
    try {
      py::object batch = obj_.attr("get_batch")();
      if (batch.is_none()) return false;
      if (!py::isinstance<py::dict>(batch)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Python calibrator get_batch() #", calls_ + 1, " returned ",
            py::str(py::type::of(batch).attr("__name__")).cast<std::string>(),
            ", expected a dict {input name: numpy array} or None"));
      }
      py::module_ np = py::module_::import("numpy");
      for (auto item : py::reinterpret_borrow<py::dict>(batch)) {
        if (!py::isinstance<py::str>(item.first)) {
          return absl::InvalidArgumentError(
              "Python calibrator get_batch(): dict keys must be input names (str)");
        }
        const std::string name = item.first.cast<std::string>();
        auto dt = dtypes_.find(name);
        const engine::DataType dtype =
            dt != dtypes_.end() ? dt->second : engine::DataType::kFloat32;
        py::array arr = np.attr("ascontiguousarray")(item.second, NumpyDtype(dtype));
        engine::Tensor t(dtype, ArrayDims(arr));
        if (t.byte_size() > 0) std::memcpy(t.data(), arr.data(), t.byte_size());
        inputs[name] = std::move(t);
      }
      ++calls_;
      return true;
    } catch (py::error_already_set& e) {
      return Fail("get_batch", e);
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(absl::StrCat("Python calibrator get_batch(): ", e.what()));
    }
  }

  int64_t BatchCount() const override { return count_; }

  // The Python exception raised by the calibrator (None if none); GIL held.
  py::object TakeError() { return std::exchange(error_, py::none()); }

 private:
  std::map<std::string, engine::DataType> dtypes_;  // by input name (Begin)
  absl::Status Fail(const char* method, py::error_already_set& e) {
    // "ValueError: message" (the traceback stays on the exception, __cause__).
    std::string what = absl::StrCat(py::str(e.type().attr("__name__")).cast<std::string>(), ": ",
                                    py::str(e.value()).cast<std::string>());
    if (error_.is_none()) error_ = e.value();
    return absl::AbortedError(absl::StrCat("Python calibrator ", method, "() raised ", what,
                                           " (batch ", calls_ + 1, ")"));
  }

  py::object obj_;
  py::object error_ = py::none();
  int64_t count_ = 0;
  int64_t calls_ = 0;
};

// ---------------------------------------------------------------------------
// Builder

struct PyBuilderConfig {
  engine::BuilderConfig cfg;
  std::string hw_spec = "edge";  // as given (for the report's build.hwSpec)
  py::object calibrator = py::none();
  py::object progress = py::none();
};

struct PyBuildResult {
  engine::BuildResult r;  // without the plan (returned as bytes)
};

py::list PassesList(const std::vector<engine::PassSummary>& passes) {
  py::list out;
  for (const auto& p : passes) {
    py::dict d;
    d["name"] = p.name;
    d["changed"] = p.changed;
    d["ms"] = p.ms;
    d["nodes_before"] = p.nodes_before;
    d["nodes_after"] = p.nodes_after;
    d["counters"] = p.counters;
    out.append(d);
  }
  return out;
}

py::list LayerPrecisionList(const std::vector<engine::LayerPrecisionInfo>& v) {
  py::list out;
  for (const auto& l : v) {
    py::dict d;
    d["layer"] = l.layer;
    d["type"] = l.type;
    d["precision"] = engine::PrecisionName(l.precision);
    d["reason"] = l.reason;
    d["sqnr_db"] = l.sqnr_db;
    out.append(d);
  }
  return out;
}

std::string_view BufferView(const py::object& obj, py::buffer_info& info) {
  info = py::buffer(obj).request();
  return std::string_view(static_cast<const char*>(info.ptr),
                          static_cast<size_t>(info.size * info.itemsize));
}

class PyBuilder {
 public:
  explicit PyBuilder(bool verbose)
      : logger_(verbose ? engine::Severity::kInfo : engine::Severity::kWarning), builder_(&logger_) {}

  py::tuple Build(const py::object& model, const PyBuilderConfig& pc) {
    // engine::Builder is not thread-safe: builds of one Builder from several
    // Python threads run one after another (taken before the GIL is released).
    std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
    if (!lock.owns_lock()) {
      py::gil_scoped_release release;
      lock.lock();
    }
    engine::BuilderConfig cfg = pc.cfg;
    std::unique_ptr<PyCalibratorAdapter> adapter;
    if (!pc.calibrator.is_none()) {
      if (py::isinstance<DatasetCalibrator>(pc.calibrator)) {
        cfg.calibrator = pc.calibrator.cast<DatasetCalibrator*>();
      } else {
        adapter = std::make_unique<PyCalibratorAdapter>(pc.calibrator);
        cfg.calibrator = adapter.get();
      }
    }
    auto progress_error = std::make_shared<py::object>(py::none());
    if (!pc.progress.is_none()) {
      py::object cb = pc.progress;
      cfg.progress = [cb, progress_error](const std::string& phase, int64_t done, int64_t total) {
        py::gil_scoped_acquire gil;
        if (!progress_error->is_none()) return;
        try {
          cb(phase, done, total);
        } catch (py::error_already_set& e) {
          *progress_error = e.value();  // reported after the build
        }
      };
    }
    absl::StatusOr<engine::BuildResult> result = absl::UnknownError("not built");
    if (py::isinstance<py::bytes>(model) || py::isinstance<py::bytearray>(model) ||
        py::isinstance<py::memoryview>(model)) {
      py::buffer_info info;
      std::string bytes(BufferView(model, info));
      py::gil_scoped_release release;
      result = builder_.BuildFromOnnxBytes(bytes, "<bytes>", cfg);
    } else {
      std::string path = py::module_::import("os").attr("fspath")(model).cast<std::string>();
      py::gil_scoped_release release;
      result = builder_.BuildFromOnnxFile(path, cfg);
    }
    py::object cause = adapter ? adapter->TakeError() : py::none();
    if (!result.ok()) ThrowStatus(result.status(), cause);
    if (!progress_error->is_none()) {
      PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(progress_error->ptr())),
                      progress_error->ptr());
      throw py::error_already_set();
    }
    py::bytes plan(result->plan);
    result->plan.clear();
    result->plan.shrink_to_fit();
    return py::make_tuple(plan, PyBuildResult{*std::move(result)});
  }

 private:
  engine::StderrLogger logger_;
  engine::Builder builder_;
  std::mutex mu_;
};

// ---------------------------------------------------------------------------
// Runtime

py::dict LayerProfileDict(const engine::LayerDeviceProfile& l) {
  py::dict d;
  d["name"] = l.name;
  d["type"] = l.type;
  d["unit"] = l.unit;
  d["tactic"] = l.tactic;
  d["dataflow"] = l.dataflow;
  d["tiling"] = l.tiling;
  d["precision"] = l.precision;
  d["start_cycle"] = l.start_cycle;
  d["cycles"] = l.cycles;
  d["compute_cycles"] = l.compute_cycles;
  d["stall_cycles"] = l.stall_cycles;
  d["time_ms"] = l.time_ms;
  d["utilization"] = l.utilization;
  d["mapping_efficiency"] = l.mapping_efficiency;
  d["macs"] = l.macs;
  d["vector_ops"] = l.vector_ops;
  d["dram_bytes_read"] = l.dram_bytes_read;
  d["dram_bytes_written"] = l.dram_bytes_written;
  d["sram_bytes_read"] = l.sram_bytes_read;
  d["sram_bytes_written"] = l.sram_bytes_written;
  d["acc_bytes_read"] = l.acc_bytes_read;
  d["acc_bytes_written"] = l.acc_bytes_written;
  d["energy_compute_pj"] = l.energy_compute_pj;
  d["energy_sram_pj"] = l.energy_sram_pj;
  d["energy_dram_pj"] = l.energy_dram_pj;
  d["energy_pj"] = l.energy_pj();
  d["roofline_compute_cycles"] = l.roofline_compute_cycles;
  d["roofline_memory_cycles"] = l.roofline_memory_cycles;
  d["roofline_ratio"] = l.roofline_ratio;
  d["bound"] = l.bound;
  d["estimated_cycles"] = l.estimated_cycles;
  d["instructions"] = l.instructions;
  d["input_location"] = l.input_location;
  d["output_location"] = l.output_location;
  d["weight_location"] = l.weight_location;
  d["residency_bytes_saved"] = l.residency_bytes_saved;
  d["prefetched_loads"] = l.prefetched_loads;
  py::list rejected;
  for (const auto& r : l.rejected) {
    py::dict rd;
    rd["tactic"] = r.tactic;
    rd["tiling"] = r.tiling;
    rd["cycles"] = r.cycles;
    rd["energy_pj"] = r.energy_pj;
    rejected.append(rd);
  }
  d["rejected"] = rejected;
  return d;
}

py::dict DeviceProfileDict(const engine::DeviceProfile& p) {
  py::dict d;
  d["hardware"] = p.hardware;
  d["clock_mhz"] = p.clock_mhz;
  d["total_cycles"] = p.total_cycles;
  d["latency_ms"] = p.latency_ms;
  d["throughput_qps"] = p.throughput_qps;
  d["energy_compute_pj"] = p.energy_compute_pj;
  d["energy_sram_pj"] = p.energy_sram_pj;
  d["energy_dram_pj"] = p.energy_dram_pj;
  d["energy_pj"] = p.energy_pj();
  d["macs"] = p.macs;
  d["dram_bytes_read"] = p.dram_bytes_read;
  d["dram_bytes_written"] = p.dram_bytes_written;
  d["utilization"] = p.utilization;
  d["roofline_cycles"] = p.roofline_cycles;
  d["roofline_ratio"] = p.roofline_ratio;
  d["ideal_compute_cycles"] = p.ideal_compute_cycles;
  d["compulsory_dram_bytes"] = p.compulsory_dram_bytes;
  d["physical_limit_cycles"] = p.physical_limit_cycles;
  d["physical_limit_ratio"] = p.physical_limit_ratio;
  d["residency_bytes_saved"] = p.residency_bytes_saved;
  d["scratchpad_occupancy"] = p.scratchpad_occupancy;
  d["weight_buffer_occupancy"] = p.weight_buffer_occupancy;
  d["accumulator_occupancy"] = p.accumulator_occupancy;
  py::list layers;
  for (const auto& l : p.layers) layers.append(LayerProfileDict(l));
  d["layers"] = layers;
  return d;
}

class PyExecutionContext {
 public:
  PyExecutionContext(std::shared_ptr<const engine::Engine> eng,
                     std::unique_ptr<engine::ExecutionContext> ctx)
      : engine_(std::move(eng)), ctx_(std::move(ctx)) {}

  py::dict Execute(const py::dict& inputs) {
    std::vector<std::string> names;
    std::vector<py::array> arrays;  // keep the bytes alive while executing
    std::vector<engine::Tensor> views;
    for (auto item : inputs) {
      if (!py::isinstance<py::str>(item.first)) throw py::type_error("input names must be str");
      names.push_back(item.first.cast<std::string>());
      arrays.push_back(ContiguousArray(py::reinterpret_borrow<py::object>(item.second),
                                       "input '" + names.back() + "'"));
      views.push_back(ViewOf(arrays.back(), "input '" + names.back() + "'"));
    }
    // The context's lock is taken with the GIL released (as everywhere), and
    // kept while the outputs are allocated at their shapes after the run
    // (dynamic-shape engines: known only once the inputs are set) and filled.
    std::vector<std::pair<std::string, py::array>> outputs;
    absl::Status status;
    std::unique_lock<std::mutex> lock(mu_, std::defer_lock);
    {
      py::gil_scoped_release release;
      lock.lock();
      for (size_t i = 0; i < names.size() && status.ok(); ++i) {
        status = ctx_->SetInput(names[i], views[i]);
      }
      if (status.ok()) status = ctx_->Execute();
    }
    for (const auto& desc : engine_->outputs()) {
      if (!status.ok()) break;
      auto t = ctx_->GetOutput(desc.name);
      if (!t.ok()) {
        status = t.status();
        break;
      }
      std::vector<py::ssize_t> shape((*t)->shape().begin(), (*t)->shape().end());
      py::array arr(NumpyDtype(desc.dtype), shape);
      if ((*t)->byte_size() > 0) std::memcpy(arr.mutable_data(), (*t)->data(), (*t)->byte_size());
      outputs.emplace_back(desc.name, std::move(arr));
    }
    lock.unlock();
    Check(status);
    py::dict out;
    for (auto& [name, arr] : outputs) out[py::str(name)] = arr;
    return out;
  }

  void SetInputShape(const std::string& name, const std::vector<int64_t>& shape) {
    absl::Status status;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      status = ctx_->SetInputShape(name, shape);
    }
    Check(status);  // raises: needs the GIL
  }
  std::vector<int64_t> GetTensorShape(const std::string& name) {
    absl::StatusOr<engine::Dims> shape;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mu_);
      shape = ctx_->GetTensorShape(name);
    }
    if (!shape.ok()) ThrowStatus(shape.status());
    return *shape;
  }
  py::tuple DeviceProfile() {
    int bucket = -1;
    std::unique_lock<std::mutex> lock(mu_, std::defer_lock);
    {
      py::gil_scoped_release release;  // the lock is only ever taken without the GIL
      lock.lock();
    }
    return py::make_tuple(DeviceProfileDict(ctx_->device_profile(&bucket)), bucket);
  }
  int active_profile() const { return ctx_->active_profile(); }

  int threads() const { return ctx_->threads(); }
  void set_threads(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    Check(ctx_->SetThreads(n));
  }

 private:
  std::shared_ptr<const engine::Engine> engine_;
  std::unique_ptr<engine::ExecutionContext> ctx_;
  std::mutex mu_;  // one Execute at a time per context, even from several Python threads
};

struct PyEngine {
  std::shared_ptr<const engine::Engine> eng;

  py::list Layers() const {
    py::list out;
    const auto& layers = eng->layers();
    const auto& prof = eng->device_profile().layers;
    for (size_t i = 0; i < layers.size(); ++i) {
      const auto& l = layers[i];
      py::dict d;
      d["name"] = l.name;
      d["type"] = l.type;
      d["onnx_nodes"] = l.onnx_nodes;
      d["inputs"] = l.inputs;
      d["outputs"] = l.outputs;
      std::string precision;
      if (i < prof.size() && prof[i].name == l.name) {
        precision = prof[i].precision;
      } else {
        for (const auto& p : prof) {
          if (p.name == l.name) precision = p.precision;
        }
      }
      d["precision"] = precision;
      out.append(d);
    }
    return out;
  }
};

PyEngine Deserialize(const py::object& plan, int64_t max_activation_bytes) {
  engine::RuntimeOptions options;
  options.max_activation_bytes = max_activation_bytes;
  absl::StatusOr<std::shared_ptr<const engine::Engine>> eng = absl::UnknownError("not loaded");
  if (py::isinstance<py::bytes>(plan) || py::isinstance<py::bytearray>(plan) ||
      py::isinstance<py::memoryview>(plan)) {
    py::buffer_info info;
    std::string_view bytes = BufferView(plan, info);
    py::gil_scoped_release release;
    eng = engine::Runtime::DeserializeEngine(bytes, options);
  } else {
    std::string path = py::module_::import("os").attr("fspath")(plan).cast<std::string>();
    py::gil_scoped_release release;
    eng = engine::Runtime::LoadEngineFile(path, options);
  }
  return PyEngine{Unwrap(std::move(eng))};
}


// --- Reports (trtexec_like --exportReport / compare, docs/report_schema.md) ---

py::object ExportReport(const PyEngine& e, const std::string& model, const py::object& path,
                        const py::object& config, const std::string& command) {
  trtexec_like::Options opt;
  if (config.is_none()) {
    opt.load_engine = model;  // a plan: build options unknown
  } else {
    const PyBuilderConfig& c = config.cast<const PyBuilderConfig&>();
    opt.onnx = model;
    opt.hw = c.hw_spec;
    opt.opt_level = c.cfg.opt_level;
    opt.passes = absl::StrJoin(c.cfg.passes, ",");
    opt.no_memory_reuse = !c.cfg.plan_memory;
    opt.arena_alignment = c.cfg.arena_alignment;
    std::vector<std::string> shapes;
    for (const auto& [name, dims] : c.cfg.input_shapes) {
      shapes.push_back(absl::StrCat(name, ":", engine::DimsToString(dims)));
    }
    opt.shapes = absl::StrJoin(shapes, ",");
  }
  auto json = trtexec_like::RunReportJson(opt, command, *e.eng, nullptr);
  if (!json.ok()) ThrowStatus(json.status());
  const std::string text = json->dump(2) + "\n";
  if (!path.is_none()) {
    const std::string out = py::module_::import("os").attr("fspath")(path).cast<std::string>();
    Check(engine::WriteFileAtomically(out, text));
  }
  return JsonLoads(text);
}

py::object CompareReports(const py::list& reports) {
  std::vector<trtexec_like::Report> parsed;
  py::module_ json = py::module_::import("json");
  int index = 0;
  for (const auto& item : reports) {
    ++index;
    std::string text, source;
    if (py::isinstance<py::dict>(item)) {
      text = json.attr("dumps")(item).cast<std::string>();
      source = absl::StrCat("report #", index);
    } else {
      source = py::module_::import("os").attr("fspath")(item).cast<std::string>();
      text = Unwrap(engine::ReadFileToString(source));
    }
    parsed.push_back(Unwrap(trtexec_like::ParseReport(text, source)));
  }
  if (parsed.size() < 2) ThrowStatus(absl::InvalidArgumentError("compare_reports needs at least two reports"));
  auto groups = trtexec_like::MatchLayers(parsed);
  auto warnings = trtexec_like::ComparabilityWarnings(parsed);
  return JsonLoads(trtexec_like::ComparisonJson(parsed, groups, warnings).dump());
}

// Pure-Python parts of the module: the exception class, the Calibrator base
// class and the NumPy calibrator (documented in engine.pyi).
constexpr const char* kPythonPart = R"PY(
import numpy as _np

class EngineError(RuntimeError):
    """An error reported by the engine (an absl::Status).

    Attributes: message (str, the engine's message), code (int, the
    absl::StatusCode value, e.g. 3 for INVALID_ARGUMENT, 5 for NOT_FOUND) and
    code_name (str, e.g. "INVALID_ARGUMENT").
    """
    def __init__(self, message, code=2, code_name="UNKNOWN"):
        super().__init__(message)
        self.message = message
        self.code = code
        self.code_name = code_name

    def __str__(self):
        return "[%s] %s" % (self.code_name, self.message)


class Calibrator:
    """Base class of Python INT8 calibrators (as TensorRT's IInt8EntropyCalibrator2).

    Subclass it and override get_batch(); set an instance as
    BuilderConfig.calibrator. The builder calls, from the building thread:
      begin(inputs)   once, with the engine inputs (list of TensorDesc: name,
                      shape with the batch size N as dimension 0, and dtype);
      get_batch()     repeatedly: a dict {input name: array of exactly that
                      input's shape} (converted to the input's dtype; NCHW images
                      preprocessed as at inference), or None when done;
      batch_count()   the number of batches, for progress (0: unknown).
    The calibration algorithm and cache are BuilderConfig fields
    (calibration_algorithm, calibration_cache). An exception raised here
    aborts the build: Builder.build raises EngineError (code ABORTED) whose
    __cause__ is the original exception, and no plan or cache is written.
    """
    def begin(self, inputs):
        self.inputs = list(inputs)

    def get_batch(self):
        raise NotImplementedError("Calibrator subclasses implement get_batch()")

    def batch_count(self):
        return 0


class NumpyCalibrator(Calibrator):
    """A ready calibrator over NumPy arrays of samples.

    data: an array [S, ...] for a single-input network, or a dict
    {input name: array [S, ...]}; each sample (row along axis 0) has the
    input's shape without its batch dimension, e.g. [S, 1, 28, 28] for an
    input [1, 1, 28, 28] ([S, C, H, W] float32, preprocessed as at inference).
    Batches of the engine's batch size N are delivered in order; a last
    partial batch repeats its last sample. limit > 0 uses the first `limit`
    samples only.
    """
    def __init__(self, data, limit=0):
        self._data = data
        self._limit = int(limit)
        self._next = 0
        self._batch = 1
        self._samples = 0
        self._arrays = {}

    def begin(self, inputs):
        inputs = list(inputs)
        data = self._data
        if not isinstance(data, dict):
            if len(inputs) != 1:
                raise ValueError("NumpyCalibrator: the network has %d inputs (%s); pass a dict "
                                 "{name: array}" % (len(inputs), ", ".join(d.name for d in inputs)))
            data = {inputs[0].name: data}
        names = {d.name for d in inputs}
        unknown = sorted(set(data) - names)
        missing = sorted(names - set(data))
        if unknown or missing:
            raise ValueError("NumpyCalibrator: arrays %s do not match the engine inputs %s"
                             % (sorted(data), sorted(names)))
        counts = set()
        self._arrays = {}
        for d in inputs:
            a = _np.asarray(data[d.name], dtype=_np.float32)
            if tuple(a.shape[1:]) != tuple(d.shape[1:]):
                raise ValueError("NumpyCalibrator: input '%s' takes samples of shape %s, got "
                                 "an array %s" % (d.name, tuple(d.shape[1:]), tuple(a.shape)))
            if self._limit > 0:
                a = a[:self._limit]
            self._arrays[d.name] = a
            counts.add(a.shape[0])
        if len(counts) != 1 or 0 in counts:
            raise ValueError("NumpyCalibrator: the arrays hold different or zero sample counts %s"
                             % sorted(counts))
        self._samples = counts.pop()
        self._batch = int(inputs[0].shape[0]) if len(inputs[0].shape) else 1
        self._next = 0

    def batch_count(self):
        return -(-self._samples // self._batch)

    def get_batch(self):
        if self._next >= self._samples:
            return None
        lo, hi = self._next, min(self._next + self._batch, self._samples)
        self._next = hi
        out = {}
        for name, a in self._arrays.items():
            b = a[lo:hi]
            if b.shape[0] < self._batch:
                pad = _np.repeat(b[-1:], self._batch - b.shape[0], axis=0)
                b = _np.concatenate([b, pad], axis=0)
            out[name] = b
        return out
)PY";

}  // namespace

PYBIND11_MODULE(engine, m) {
  m.doc() =
      "Python API of the inference engine: build ONNX models into plans for the modeled "
      "systolic-array accelerator (FP32 or INT8 with a Python calibrator), run them with NumPy "
      "arrays, read the modeled device profile. See engine.pyi for shapes, dtypes and units.";
  m.attr("__version__") = "0.2.0";

  py::exec(kPythonPart, m.attr("__dict__"));
  EngineErrorType() = m.attr("EngineError");

  // --- TensorDesc -----------------------------------------------------------
  py::class_<PyTensorDesc>(m, "TensorDesc",
                           "Name, element type and static shape of an engine input or output.")
      .def_readonly("name", &PyTensorDesc::name)
      .def_property_readonly("shape", [](const PyTensorDesc& d) { return ShapeTuple(d.shape); })
      .def_property_readonly("dtype", [](const PyTensorDesc& d) { return NumpyDtype(d.dtype); })
      .def_property_readonly("dtype_name",
                             [](const PyTensorDesc& d) { return std::string(engine::DataTypeName(d.dtype)); })
      .def_property_readonly("nbytes", [](const PyTensorDesc& d) {
        return engine::NumElements(d.shape) * static_cast<int64_t>(engine::DataTypeSize(d.dtype));
      })
      .def("__repr__", [](const PyTensorDesc& d) {
        return absl::StrCat("TensorDesc(name='", d.name, "', shape=(", absl::StrJoin(d.shape, ", "),
                            d.shape.size() == 1 ? "," : "", "), dtype=", engine::DataTypeName(d.dtype), ")");
      });

  // --- Hardware -------------------------------------------------------------
  py::class_<PyHardware>(m, "Hardware", "A modeled accelerator description (hardware.h).")
      .def(py::init([](const std::string& spec) {
             return PyHardware{Unwrap(engine::ParseHardwareSpec(spec))};
           }),
           py::arg("spec") = "edge")
      .def_static("preset", [](const std::string& name) {
        return PyHardware{Unwrap(engine::HardwarePreset(name))};
      }, py::arg("name"))
      .def_static("from_json", [](const std::string& text, const std::string& source) {
        auto hw = Unwrap(engine::ParseHardwareJson(text, source));
        Check(engine::ValidateHardwareConfig(hw));
        return PyHardware{hw};
      }, py::arg("text"), py::arg("source") = "<json>")
      .def_static("from_file", [](const std::string& path) {
        auto hw = Unwrap(engine::LoadHardwareFile(path));
        Check(engine::ValidateHardwareConfig(hw));
        return PyHardware{hw};
      }, py::arg("path"))
      .def("override", [](PyHardware& h, const std::string& key, const py::object& value) {
        const std::string v = py::str(value).cast<std::string>();
        engine::HardwareConfig copy = h.config;
        Check(engine::ApplyHardwareOverride(copy, key, v));
        Check(engine::ValidateHardwareConfig(copy));
        h.config = copy;
        return h;
      }, py::arg("key"), py::arg("value"))
      .def_property_readonly("name", [](const PyHardware& h) { return h.config.name; })
      .def_property_readonly("summary", [](const PyHardware& h) { return engine::HardwareSummary(h.config); })
      .def("to_json", [](const PyHardware& h) { return engine::HardwareConfigToJson(h.config); })
      .def("to_dict", [](const PyHardware& h) { return JsonLoads(engine::HardwareConfigToJson(h.config)); })
      .def("__eq__", [](const PyHardware& a, const PyHardware& b) {
        return engine::HardwareConfigToJson(a.config) == engine::HardwareConfigToJson(b.config);
      })
      .def("__repr__", [](const PyHardware& h) {
        return "Hardware(" + engine::HardwareSummary(h.config) + ")";
      });
  m.def("hardware_presets", &engine::HardwarePresetNames, "Names of the built-in hardware presets.");
  m.def("optimizer_passes", &engine::ListOptimizerPasses,
        "Every optimizer pass as (kebab-case name, description), in pipeline order.");

  // --- DatasetCalibrator ----------------------------------------------------
  py::class_<DatasetCalibrator>(m, "DatasetCalibrator",
                                "Calibrator over a directory of images, of .npy/.pb tensors, or an MNIST IDX file.")
      .def(py::init<std::string, const std::string&, int64_t>(), py::arg("path"),
           py::arg("preprocess") = "raw", py::arg("limit") = 0)
      .def_property_readonly("path", &DatasetCalibrator::path)
      .def_property_readonly("preprocess", &DatasetCalibrator::preprocess)
      .def_property_readonly("batches_delivered", &DatasetCalibrator::batches_delivered);

  m.def("load_dataset", [](const std::string& path, const std::vector<int64_t>& shape,
                           const std::string& preprocess, int64_t limit) {
    auto pp = engine::data::ParseImagePreprocess(preprocess);
    if (!pp.ok()) ThrowStatus(pp.status());
    engine::data::DatasetOptions options;
    options.preprocess = *pp;
    options.limit = limit > 0 ? limit : -1;
    engine::TensorDesc desc{"input", engine::DataType::kFloat32, shape};
    std::unique_ptr<engine::data::Dataset> ds;
    engine::Tensor all;
    absl::Status status;
    {
      py::gil_scoped_release release;
      auto opened = engine::data::Dataset::Open(path, desc, options);
      if (opened.ok()) {
        ds = *std::move(opened);
        auto batch = ds->Batch(0, ds->size());
        if (batch.ok()) {
          all = *std::move(batch);
        } else {
          status = batch.status();
        }
      } else {
        status = opened.status();
      }
    }
    Check(status);
    std::vector<int64_t> labels;
    std::vector<std::string> names;
    for (int64_t i = 0; i < ds->size(); ++i) {
      labels.push_back(ds->label(i));
      names.push_back(ds->name(i));
    }
    return py::make_tuple(ToNumpy(all), py::array_t<int64_t>(labels.size(), labels.data()), names);
  }, py::arg("path"), py::arg("shape"), py::arg("preprocess") = "raw", py::arg("limit") = 0,
     "load_dataset(path, shape, preprocess='raw', limit=0) -> (samples, labels, names)\n\n"
     "Reads images / tensor files / an MNIST IDX file as trtexec_like --evalData does, for a\n"
     "model input of `shape` [N, C, H, W]: samples float32 [S, C, H, W], labels int64 [S] (-1\n"
     "without labels), names [S]. preprocess: 'raw', 'imagenet', 'caffe' or key=value items.\n"
     "Raises EngineError: NOT_FOUND, INVALID_ARGUMENT (bad file, spec or shape).");

  // --- BuilderConfig --------------------------------------------------------
  py::class_<PyBuilderConfig> config(m, "BuilderConfig", "Options of one engine build (builder.h).");
  config.def(py::init<>());
#define ENGINE_FIELD(name)                                                              \
  config.def_property(#name, [](const PyBuilderConfig& c) { return c.cfg.name; },       \
                      [](PyBuilderConfig& c, decltype(engine::BuilderConfig::name) v) { \
                        c.cfg.name = std::move(v);                                       \
                      })
  ENGINE_FIELD(input_shapes);
  ENGINE_FIELD(opt_level);
  ENGINE_FIELD(passes);
  ENGINE_FIELD(target_opset);
  ENGINE_FIELD(dump_ir_after);
  ENGINE_FIELD(dump_dot);
  ENGINE_FIELD(plan_memory);
  ENGINE_FIELD(arena_alignment);
  ENGINE_FIELD(max_tensor_bytes);
  ENGINE_FIELD(max_constant_bytes);
  ENGINE_FIELD(max_instructions);
  ENGINE_FIELD(max_arena_bytes);
  ENGINE_FIELD(calibration_percentile);
  ENGINE_FIELD(calibration_cache);
  ENGINE_FIELD(accuracy_guard_db);
  ENGINE_FIELD(accuracy_guard_samples);
  ENGINE_FIELD(mark_all_outputs);
  ENGINE_FIELD(shape_buckets);
  ENGINE_FIELD(plugins);
  ENGINE_FIELD(onchip_residency);
  ENGINE_FIELD(cross_layer_prefetch);
  ENGINE_FIELD(layer_groups);
  ENGINE_FIELD(branch_order);
  ENGINE_FIELD(group_objective);
  ENGINE_FIELD(energy_budget_pj);
  ENGINE_FIELD(allow_fp16);
  ENGINE_FIELD(allow_bf16);
  ENGINE_FIELD(best);
#undef ENGINE_FIELD
  // profiles: [{'min': {name: shape}, 'opt': {...}, 'max': {...}}]
  config.def_property(
      "profiles",
      [](const PyBuilderConfig& c) {
        py::list out;
        for (const auto& p : c.cfg.profiles) {
          py::dict d;
          d["min"] = p.min;
          d["opt"] = p.opt;
          d["max"] = p.max;
          out.append(d);
        }
        return out;
      },
      [](PyBuilderConfig& c, const py::list& profiles) {
        std::vector<engine::OptimizationProfile> out;
        for (const auto& item : profiles) {
          const py::dict d = item.cast<py::dict>();
          engine::OptimizationProfile p;
          for (const char* key : {"min", "opt", "max"}) {
            if (!d.contains(key)) {
              throw py::value_error(absl::StrCat("an optimization profile needs 'min', 'opt' and "
                                                 "'max' ({input: shape}); '", key, "' is missing"));
            }
          }
          p.min = d["min"].cast<std::map<std::string, engine::Dims>>();
          p.opt = d["opt"].cast<std::map<std::string, engine::Dims>>();
          p.max = d["max"].cast<std::map<std::string, engine::Dims>>();
          out.push_back(std::move(p));
        }
        c.cfg.profiles = std::move(out);
      },
      "Optimization profiles (dynamic shapes): [{'min': {input: shape}, 'opt': {...}, 'max': "
      "{...}}], as BuilderConfig::profiles (builder.h).");
  config
      .def_property("input_values",
                    [](const PyBuilderConfig& c) {
                      py::dict d;
                      for (const auto& [k, t] : c.cfg.input_values) d[py::str(k)] = ToNumpy(t);
                      return d;
                    },
                    [](PyBuilderConfig& c, const py::dict& values) {
                      std::map<std::string, engine::Tensor> m;
                      for (auto item : values) {
                        const std::string name = item.first.cast<std::string>();
                        py::array a = ContiguousArray(py::reinterpret_borrow<py::object>(item.second), name);
                        const engine::Tensor view = ViewOf(a, "input_values['" + name + "']");
                        m[name] = view;  // copying a view makes an owning copy (tensor.h)
                      }
                      c.cfg.input_values = std::move(m);
                    })
      .def_property("hardware",
                    [](const PyBuilderConfig& c) { return PyHardware{c.cfg.hardware}; },
                    [](PyBuilderConfig& c, const py::object& hw) {
                      if (py::isinstance<PyHardware>(hw)) {
                        c.cfg.hardware = hw.cast<PyHardware>().config;
                        c.hw_spec = c.cfg.hardware.name;
                      } else {
                        c.hw_spec = hw.cast<std::string>();
                        c.cfg.hardware = Unwrap(engine::ParseHardwareSpec(c.hw_spec));
                      }
                    })
      .def_property("objective",
                    [](const PyBuilderConfig& c) { return std::string(engine::ObjectiveName(c.cfg.objective)); },
                    [](PyBuilderConfig& c, const std::string& s) { c.cfg.objective = ParseObjectiveOrThrow(s); })
      .def_property("precision",
                    [](const PyBuilderConfig& c) { return std::string(engine::PrecisionName(c.cfg.precision)); },
                    [](PyBuilderConfig& c, const std::string& s) { c.cfg.precision = ParsePrecisionOrThrow(s); })
      .def_property("calibration_algorithm",
                    [](const PyBuilderConfig& c) {
                      return std::string(engine::CalibrationAlgorithmName(c.cfg.calibration_algorithm));
                    },
                    [](PyBuilderConfig& c, const std::string& s) {
                      c.cfg.calibration_algorithm = ParseAlgorithmOrThrow(s);
                    })
      .def_property("layer_precisions",
                    [](const PyBuilderConfig& c) {
                      std::map<std::string, std::string> out;
                      for (const auto& [k, p] : c.cfg.layer_precisions) out[k] = engine::PrecisionName(p);
                      return out;
                    },
                    [](PyBuilderConfig& c, const std::map<std::string, std::string>& m) {
                      std::map<std::string, engine::Precision> out;
                      for (const auto& [k, s] : m) out[k] = ParsePrecisionOrThrow(s);
                      c.cfg.layer_precisions = std::move(out);
                    })
      .def_property("calibrator", [](const PyBuilderConfig& c) { return c.calibrator; },
                    [](PyBuilderConfig& c, const py::object& cal) {
                      if (!cal.is_none() && !py::isinstance<DatasetCalibrator>(cal) &&
                          !py::hasattr(cal, "get_batch")) {
                        throw py::type_error(
                            "calibrator must be an engine.Calibrator (an object with get_batch()), "
                            "an engine.DatasetCalibrator or None");
                      }
                      c.calibrator = cal;
                    })
      .def_property("progress", [](const PyBuilderConfig& c) { return c.progress; },
                    [](PyBuilderConfig& c, const py::object& cb) {
                      if (!cb.is_none() && !PyCallable_Check(cb.ptr())) {
                        throw py::type_error("progress must be callable(phase, done, total) or None");
                      }
                      c.progress = cb;
                    });

  // --- BuildResult ----------------------------------------------------------
  py::class_<PyBuildResult>(m, "BuildResult", "What a successful build did (builder.h).")
      .def_property_readonly("onnx_nodes", [](const PyBuildResult& b) { return b.r.onnx_nodes; })
      .def_property_readonly("engine_layers", [](const PyBuildResult& b) { return b.r.engine_layers; })
      .def_property_readonly("phases", [](const PyBuildResult& b) {
        py::list out;
        for (const auto& p : b.r.phases) {
          py::dict d;
          d["name"] = p.name;
          d["ms"] = p.ms;
          out.append(d);
        }
        return out;
      })
      .def_property_readonly("optimizer_report", [](const PyBuildResult& b) { return b.r.optimizer_report; })
      .def_property_readonly("passes", [](const PyBuildResult& b) { return PassesList(b.r.passes); })
      .def_property_readonly("ir_dumps", [](const PyBuildResult& b) {
        py::list out;
        for (const auto& p : b.r.ir_dumps) {
          py::dict d;
          d["pass"] = p.pass;
          d["format"] = p.format;
          d["content"] = p.content;
          out.append(d);
        }
        return out;
      })
      .def_property_readonly("layer_precisions",
                             [](const PyBuildResult& b) { return LayerPrecisionList(b.r.layer_precisions); })
      .def_property_readonly("calibration", [](const PyBuildResult& b) {
        const auto& c = b.r.calibration;
        py::dict d;
        d["from_cache"] = c.from_cache;
        d["cache_written"] = c.cache_written;
        d["cache_mismatch"] = c.cache_mismatch;
        d["batches"] = c.batches;
        d["tensors"] = c.tensors;
        d["algorithm"] = c.algorithm;
        d["ms"] = c.ms;
        return d;
      })
      .def_property_readonly("int8_tensor_scales",
                             [](const PyBuildResult& b) { return b.r.int8_tensor_scales; },
                             "INT8 builds: {tensor name: scale} of every activation tensor held\n"
                             "in int8 (real = scale * q, zero point 0); what export_qdq writes.");

  m.def("export_qdq", [](const std::string& model, const PyBuildResult& built,
                         const std::string& path) {
    absl::Status status;
    {
      py::gil_scoped_release release;
      status = engine::ExportQdqFile(model, built.r, path);
    }
    Check(status);
  }, py::arg("model"), py::arg("built"), py::arg("path"),
        "export_qdq(model, built, path) -> None\n\n"
        "Writes the quantization of the INT8 build `built` (BuildResult of the ONNX model at\n"
        "path `model`) as that model with QuantizeLinear/DequantizeLinear nodes to `path`,\n"
        "atomically (trtexec_like --exportQdq; builder.h ExportQdqFile). Raises EngineError:\n"
        "FAILED_PRECONDITION (not an INT8 build), NOT_FOUND (model), INVALID_ARGUMENT (a model\n"
        "that does not hold the engine's tensors), UNIMPLEMENTED (opset below 13 with ops whose\n"
        "semantics change at 13), I/O errors. Nothing is left at `path` on error.");

  // --- Builder --------------------------------------------------------------
  py::class_<PyBuilder>(m, "Builder", "Compiles ONNX models into plans (builder.h).")
      .def(py::init<bool>(), py::arg("verbose") = false)
      .def("build", &PyBuilder::Build, py::arg("model"), py::arg("config") = PyBuilderConfig{},
           "build(model, config=BuilderConfig()) -> (plan: bytes, BuildResult)\n\n"
           "Builds the ONNX model at path `model` (str or os.PathLike) or in `model` (bytes of a\n"
           "ModelProto). The GIL is released during the build; a Python calibrator re-acquires it.\n"
           "Raises EngineError: NOT_FOUND (no such file), INVALID_ARGUMENT (not a valid model,\n"
           "unpinned dynamic shape), UNIMPLEMENTED (unsupported ops, all listed),\n"
           "RESOURCE_EXHAUSTED (a limit), ABORTED (the Python calibrator raised; __cause__ is\n"
           "its exception). No plan or calibration cache is written on error.");

  m.def("load_plugin", [](const std::string& path) {
    absl::StatusOr<engine::PluginInfo> info = engine::LoadPlugin(path);
    Check(info.status());
    py::dict d;
    d["name"] = info->name;
    d["version"] = info->version;
    d["path"] = info->path;
    d["ops"] = info->ops;
    return d;
  }, py::arg("path"),
        "load_plugin(path) -> {'name', 'version', 'path', 'ops'}\n\n"
        "Loads a plugin library (include/engine/plugin.h) into the process-wide registry:\n"
        "later builds import its ops and plans using them load. Loading the same plugin\n"
        "version again is a no-op. Raises EngineError: NOT_FOUND (no file), INVALID_ARGUMENT\n"
        "(not a plugin, another ABI version), ALREADY_EXISTS (an op type of a built-in op or\n"
        "another plugin, or another version of a loaded plugin).");
  m.def("loaded_plugins", [] {
    py::list out;
    for (const engine::PluginInfo& p : engine::LoadedPlugins()) {
      py::dict d;
      d["name"] = p.name;
      d["version"] = p.version;
      d["path"] = p.path;
      d["ops"] = p.ops;
      out.append(d);
    }
    return out;
  }, "Every loaded plugin as {'name', 'version', 'path', 'ops'}, in load order.");

  m.def("write_plan_file", [](const std::string& path, const py::bytes& plan) {
    Check(engine::WritePlanFile(path, std::string(plan)));
  }, py::arg("path"), py::arg("plan"));

  // --- Runtime --------------------------------------------------------------
  py::class_<PyExecutionContext>(m, "ExecutionContext",
                                 "Per-thread state for running an engine (runtime.h).")
      .def("execute", &PyExecutionContext::Execute, py::arg("inputs"),
           "execute(inputs: {name: ndarray}) -> {name: ndarray}\n\n"
           "Runs one inference. Each input has exactly the engine input's shape and dtype\n"
           "(Engine.inputs, e.g. float32 [1, 1, 28, 28]); a C-contiguous, aligned, native-order\n"
           "array is read in place, others are made contiguous first. The GIL is released while\n"
           "the engine runs. Returns a new array per engine output (Engine.outputs shapes and\n"
           "dtypes). Raises EngineError: INVALID_ARGUMENT (wrong shape or dtype, both named),\n"
           "NOT_FOUND (unknown input name), FAILED_PRECONDITION (an input never set).")
      .def("set_input_shape", &PyExecutionContext::SetInputShape, py::arg("name"), py::arg("shape"),
           "set_input_shape(name, shape: list[int])\n\n"
           "Dynamic-shape engines: selects the run-time shape of an input (inside an optimization\n"
           "profile; execute() also does it from the arrays' shapes). Raises EngineError:\n"
           "INVALID_ARGUMENT (outside every profile; the ranges are named), NOT_FOUND.")
      .def("get_tensor_shape", &PyExecutionContext::GetTensorShape, py::arg("name"),
           "get_tensor_shape(name) -> list[int]: the current shape of an input or output (outputs\n"
           "inferred from the input shapes). Raises EngineError as set_input_shape.")
      .def("device_profile", &PyExecutionContext::DeviceProfile,
           "device_profile() -> (dict, bucket): the modeled device profile at the current shapes\n"
           "(the covering shape bucket's program; bucket -1 for a fixed-shape engine).")
      .def_property_readonly("active_profile", &PyExecutionContext::active_profile)
      .def_property("threads", &PyExecutionContext::threads, &PyExecutionContext::set_threads,
                    "Host threads per layer, the caller included (>= 1). Outputs are bit-identical "
                    "for every value. Setting < 1 raises EngineError (INVALID_ARGUMENT).");

  py::class_<PyEngine>(m, "Engine", "A loaded, verified, immutable engine (runtime.h).")
      .def_property_readonly("inputs", [](const PyEngine& e) { return Descs(e.eng->inputs()); })
      .def_property_readonly("outputs", [](const PyEngine& e) { return Descs(e.eng->outputs()); })
      .def_property_readonly("layers", &PyEngine::Layers,
                             "Layers in execution order: [{'name', 'type', 'onnx_nodes', 'inputs', "
                             "'outputs', 'precision': 'fp32' | 'int8' | ...}]")
      .def_property_readonly("device_profile",
                             [](const PyEngine& e) { return DeviceProfileDict(e.eng->device_profile()); },
                             "Modeled figures of one inference on the accelerator (plain dicts): totals "
                             "(total_cycles, latency_ms, energy_pj in pJ, macs, utilization 0..1, ...) and "
                             "'layers' (cycles, time_ms, energy_*_pj, tactic, tiling, precision, ...). "
                             "See engine.pyi.")
      .def_property_readonly("hardware", [](const PyEngine& e) { return PyHardware{e.eng->hardware()}; })
      .def_property_readonly("profiles", [](const PyEngine& e) {
        py::list out;
        for (const auto& p : e.eng->profiles()) {
          py::dict d;
          for (const auto& r : p.inputs) {
            d[py::str(r.name)] = py::make_tuple(r.min, r.opt, r.max);
          }
          out.append(d);
        }
        return out;
      }, "Optimization profiles: [{input: (min, opt, max)}]; empty for a fixed-shape engine.")
      .def_property_readonly("plan_info", [](const PyEngine& e) {
        const auto& p = e.eng->plan_info();
        py::dict d;
        d["schema_version"] = p.schema_version;
        d["engine_version"] = p.engine_version;
        d["model_name"] = p.model_name;
        d["plan_bytes"] = p.plan_bytes;
        d["weight_bytes"] = p.weight_bytes;
        d["objective"] = p.objective;
        d["instructions"] = p.instructions;
        d["payload_crc32"] = p.payload_crc32;
        d["source_model"] = p.source_model;
        d["source_hash"] = p.source_hash;
        d["precision"] = p.precision;
        d["calibrator"] = p.calibrator;
        d["calibration_data"] = p.calibration_data;
        d["calibration_batches"] = p.calibration_batches;
        d["preprocess"] = p.preprocess;
        d["opt_level"] = p.opt_level;
        return d;
      })
      .def_property_readonly("memory_plan", [](const PyEngine& e) {
        const auto& p = e.eng->memory_plan();
        py::dict d;
        d["arena_bytes"] = p.arena_bytes;
        d["no_reuse_bytes"] = p.no_reuse_bytes;
        d["lower_bound_bytes"] = p.lower_bound_bytes;
        d["alignment"] = p.alignment;
        d["strategy"] = p.strategy;
        py::list tensors;
        for (const auto& t : p.tensors) {
          py::dict td;
          td["name"] = t.name;
          td["offset"] = t.offset;
          td["bytes"] = t.bytes;
          td["first_layer"] = t.first_layer;
          td["last_layer"] = t.last_layer;
          tensors.append(td);
        }
        d["tensors"] = tensors;
        return d;
      })
      .def("check_hardware", [](const PyEngine& e, const PyHardware& hw) {
        Check(e.eng->CheckHardware(hw.config));
      }, py::arg("hardware"))
      .def("create_execution_context", [](const PyEngine& e, std::optional<int> threads) {
        auto ctx = Unwrap(e.eng->CreateExecutionContext());
        if (threads) Check(ctx->SetThreads(*threads));
        return std::make_unique<PyExecutionContext>(e.eng, std::move(ctx));
      }, py::arg("threads") = py::none(),
         "create_execution_context(threads=None) -> ExecutionContext\n\n"
         "A new context with its own activation arena (memory_plan['arena_bytes'] bytes); one per\n"
         "thread. threads: host threads per layer (default: the CPUs this process may use).");

  py::class_<engine::Runtime>(m, "Runtime", "Deserializes plans into engines (runtime.h).")
      .def_static("deserialize", &Deserialize, py::arg("plan"), py::arg("max_activation_bytes") = 0,
                  "deserialize(plan: bytes | path, max_activation_bytes=0) -> Engine\n\n"
                  "Loads and verifies a plan from bytes or a file. max_activation_bytes: largest\n"
                  "activation tensor / arena the plan may declare, bytes (0: physical memory).\n"
                  "Raises EngineError: NOT_FOUND (no such file), INVALID_ARGUMENT (not a plan),\n"
                  "FAILED_PRECONDITION (schema version), DATA_LOSS (corrupt), UNIMPLEMENTED,\n"
                  "RESOURCE_EXHAUSTED.");

  // --- Tensor utilities -----------------------------------------------------
  m.def("compare_tensors", [](const py::object& actual, const py::object& expected, double rtol,
                              double atol) {
    py::array a = ContiguousArray(actual, "actual");
    py::array e = ContiguousArray(expected, "expected");
    engine::CompareResult r = engine::CompareTensors(ViewOf(a, "actual"), ViewOf(e, "expected"), rtol, atol);
    py::dict d;
    d["passed"] = r.passed;
    d["max_abs_error"] = r.max_abs_error;
    d["max_rel_error"] = r.max_rel_error;
    d["mismatches"] = r.mismatches;
    d["message"] = r.message;
    return d;
  }, py::arg("actual"), py::arg("expected"), py::arg("rtol") = 1e-3, py::arg("atol") = 1e-5);
  m.def("load_tensor", [](const std::string& path) {
    auto t = Unwrap(engine::LoadTensorFile(path));
    return py::make_tuple(t.name, ToNumpy(t.tensor));
  }, py::arg("path"));
  m.def("save_tensor", [](const std::string& path, const std::string& name, const py::object& value) {
    py::array a = ContiguousArray(value, name);
    Check(engine::SaveTensorProtoFile(path, name, ViewOf(a, name)));
  }, py::arg("path"), py::arg("name"), py::arg("value"));

  // --- Reports ---------------------------------------------------------------
  m.def("export_report", &ExportReport, py::arg("engine"), py::arg("model"), py::arg("path") = py::none(),
        py::arg("config") = py::none(), py::arg("command") = "python engine.export_report",
        "export_report(engine, model, path=None, config=None) -> dict\n\n"
        "The run report of trtexec_like --exportReport (docs/report_schema.md): modeled device\n"
        "figures (ms, cycles, pJ, bytes), memory, per-layer profile. model: the ONNX file (with\n"
        "config, the BuilderConfig used) or the plan file (config None). Written atomically to\n"
        "`path` when given. Raises EngineError (unreadable model file, write failure).");
  m.def("compare_reports", &CompareReports, py::arg("reports"),
        "compare_reports([path | dict, ...]) -> dict\n\n"
        "Compares two or more run reports as `trtexec_like compare --json`. Raises EngineError\n"
        "(INVALID_ARGUMENT: fewer than two, malformed or unsupported schemaVersion).");
}
