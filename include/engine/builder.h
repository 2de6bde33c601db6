// The builder: compiles an ONNX model into a serialized engine (a plan).
//
// Pipeline: parse (ONNX checker, version converter, shape inference) -> graph
// optimizer passes -> code generation -> FlatBuffers plan bytes. The plan is
// the only thing the runtime needs (see runtime.h).
#ifndef ENGINE_BUILDER_H_
#define ENGINE_BUILDER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/calibrator.h"
#include "engine/export.h"
#include "engine/hardware.h"
#include "engine/logger.h"
#include "engine/tensor.h"
#include "engine/types.h"

namespace engine {

/// One optimization profile (TensorRT's IOptimizationProfile; trtexec's
/// --minShapes/--optShapes/--maxShapes): for each input with dynamic
/// dimensions, by input name, the smallest (`min`), the typical (`opt`) and
/// the largest (`max`) shape the engine accepts. The three maps name the same
/// inputs with shapes of equal rank and min <= opt <= max in every dimension
/// (>= 0); a dimension where min != max must be dynamic in the model.
struct OptimizationProfile {
  std::map<std::string, Dims> min;
  std::map<std::string, Dims> opt;
  std::map<std::string, Dims> max;
};

/// Options of one engine build. Defaults give a fully optimized FP32 engine
/// for the "edge" accelerator preset.
struct BuilderConfig {
  /// Static shapes for graph inputs, by input name, as trtexec's
  /// `--shapes=name:1x3x224x224`. Required for every input with a dynamic
  /// (symbolic or unknown) dimension; for other inputs it must equal the
  /// model's shape.
  std::map<std::string, Dims> input_shapes;

  /// Values of graph inputs fixed at build time, by input name: the input is
  /// turned into a constant and disappears from the engine's inputs. This is
  /// how shape-determining integer inputs (TensorRT's "shape tensors", e.g.
  /// Reshape's target shape fed as an input) get static values. dtype and
  /// shape must match the model's declaration.
  std::map<std::string, Tensor> input_values;

  /// Optimization profiles (dynamic shapes, docs/dynamic_shapes.md). Empty:
  /// a fixed-shape engine (every dynamic dimension pinned by `input_shapes`).
  /// Non-empty: one engine serving every input shape inside any profile;
  /// every profile names the same inputs; each input with a dynamic
  /// dimension must be named by the profiles (or pinned by `input_shapes`).
  /// The host graph and the activation arena are built for the largest shape
  /// of every profile; the accelerator program is compiled per shape bucket
  /// (`shape_buckets`). Errors (InvalidArgument naming the input and the
  /// dimension): min > opt or opt > max, ranks that differ, an input named
  /// by min but not max (or not by every profile), a range on a dimension the
  /// model fixes. INT8 with profiles: calibration runs once, on the first
  /// profile's opt shape (the calibrator's batches have that shape, e.g.
  /// batch N = the opt batch), and every bucket and the host graph quantize
  /// with those scales; `calibration_cache` is read or written once and is
  /// valid for the whole plan.
  std::vector<OptimizationProfile> profiles;

  /// Shape buckets per profile for the accelerator program of a dynamic
  /// engine: the accelerator program is compiled for the min, opt and max
  /// shapes and, when `shape_buckets` > 3, for shapes between them (linearly
  /// spaced between min and max, at most 16). Each bucket costs one
  /// fixed-shape code generation at build time and one program-only plan in
  /// the plan. In [1, 16]; 1 compiles the max shape only.
  int shape_buckets = 5;

  /// Optimization level 0..3. 0 runs only the passes needed for correctness
  /// (constant folding of shape computations, dead node elimination).
  int opt_level = 2;

  /// When non-empty, the exact list of optimizer passes to run, by kebab-case
  /// name, instead of the level's default pipeline.
  std::vector<std::string> passes;

  /// ONNX opset that models with an older default-domain opset are upgraded to
  /// with the ONNX version converter before import.
  int target_opset = 13;

  /// The accelerator the engine is built for (see hardware.h); stored in the
  /// plan. Layers are tiled to fit its buffers; a layer that cannot be tiled
  /// into them fails the build with ResourceExhausted.
  HardwareConfig hardware;

  /// What the per-layer mapping choice minimizes.
  Objective objective = Objective::kLatency;

  /// When non-empty, the graph is dumped after the optimizer pass of this
  /// name ("*": after every pass) into BuildResult::ir_dumps, as text and,
  /// with `dump_dot`, also as Graphviz DOT. A name that is not in the
  /// pipeline is an InvalidArgument error listing the pipeline's passes.
  std::string dump_ir_after;
  bool dump_dot = false;

  /// Activation memory: with `plan_memory` every non-constant tensor gets an
  /// offset in one arena per execution context, sharing bytes between
  /// tensors whose lifetimes do not overlap (TFLite's greedy-by-size best fit
  /// and other orders, the smallest wins); without it each tensor has its own
  /// bytes. Offsets are multiples of `arena_alignment` (a power of two in
  /// [8, 4096], bytes).
  bool plan_memory = true;
  int64_t arena_alignment = 64;

  // --- Resource limits ------------------------------------------------------
  //
  // Checked before anything is allocated: element counts, byte sizes and
  // instruction counts are computed from shapes first (overflow-checked: a
  // shape of more than 2^62 bytes is refused whatever the limit), so a hostile
  // model is refused in milliseconds with ResourceExhausted naming the node,
  // the tensor and the size, never by std::bad_alloc after gigabytes. 0 turns
  // a limit off. trtexec_like: --maxTensorBytes, --maxConstantBytes,
  // --maxInstructions, --maxArenaBytes. ResNet-50 at batch 1 needs tensors of
  // at most 3.2 MB, constants of at most 9.4 MB, 43,517 instructions (gemmini)
  // and an arena of 7.8 MB, far below every default.

  /// Any one tensor (graph input, activation, output): checked at input shape
  /// pinning and after each node's shape inference.
  int64_t max_tensor_bytes = kDefaultMaxTensorBytes;
  static constexpr int64_t kDefaultMaxTensorBytes = int64_t{4} << 30;  // 4 GiB

  /// Any one constant: initializers (from their dims, before their data is
  /// decoded) and constants computed at build time (shape propagation and
  /// the fold-constants pass check the output shape before evaluating). The
  /// plan holds every constant and stays below 2 GiB.
  int64_t max_constant_bytes = kDefaultMaxConstantBytes;
  static constexpr int64_t kDefaultMaxConstantBytes = (int64_t{2} << 30) - 1;  // 2 GiB - 1

  /// Instructions of the accelerator program, all layers together. Each
  /// mapping's instruction count is bounded from its tiling before it is
  /// lowered; a layer with no tiling under the remaining budget fails with
  /// ResourceExhausted naming the layer and the count. 2^24 instructions are
  /// about 1.5 GB in memory and stay inside the 2 GiB plan.
  int64_t max_instructions = kDefaultMaxInstructions;
  static constexpr int64_t kDefaultMaxInstructions = int64_t{1} << 24;

  /// Memory limit of one execution context's activation arena, in bytes (as
  /// TensorRT's memory pool limits). A plan whose arena exceeds it fails the
  /// build with ResourceExhausted giving both sizes and the lower bound.
  int64_t max_arena_bytes = kDefaultMaxArenaBytes;
  static constexpr int64_t kDefaultMaxArenaBytes = int64_t{16} << 30;  // 16 GiB

  // --- INT8 (see calibrator.h for the quantization scheme) -------------------

  /// kFp32 builds an FP32 engine. kInt8 quantizes every layer that has an
  /// exact integer implementation (convolutions and fully connected layers
  /// with constant weights, with a fused Relu/Clip and residual add; max
  /// pooling and reshapes pass int8 through) and keeps the rest in FP32, with
  /// QuantizeLinear / DequantizeLinear layers at the boundaries. Engine inputs
  /// and outputs stay float32. kFp16 / kBf16 build an engine whose float
  /// layers all run in that 2-byte precision (weights stored as fp16/bf16 in
  /// the plan, activations rounded to it at layer boundaries, products
  /// accumulated in FP32: src/common/reduced_float.h); engine inputs and
  /// outputs stay float32. A precision config.hardware does not list is
  /// InvalidArgument naming the hardware and the precision.
  Precision precision = Precision::kFp32;

  /// With precision kInt8: the layers that stay float (no INT8 form, pinned,
  /// or kept by the accuracy guard) run in fp16 (allow_fp16) / bf16
  /// (allow_bf16) instead of FP32, as TensorRT's BuilderFlag::kFP16 / kBF16
  /// beside kINT8 (trtexec_like --int8 --fp16). With both, the one of lower
  /// modeled cost (builder/fp16_phase.h). A flag naming a precision the
  /// hardware lacks is InvalidArgument.
  bool allow_fp16 = false;
  bool allow_bf16 = false;
  /// trtexec's --best: every precision the hardware supports is allowed and
  /// each layer gets the cheapest by the cost model that passes the accuracy
  /// guard: INT8 where the layer has an INT8 form and a calibration
  /// (BuilderConfig::calibrator or calibration_cache) and the accuracy guard
  /// keeps it, otherwise the cheaper of fp16 / bf16 the hardware supports,
  /// otherwise FP32. Set precision = kInt8 with it (trtexec_like does) when
  /// calibration data is available, kFp32 otherwise (then float layers only).
  bool best = false;

  /// Source of calibration batches for kInt8 (not owned; must outlive the
  /// build). Needed unless `calibration_cache` names an existing cache.
  Calibrator* calibrator = nullptr;
  CalibrationAlgorithm calibration_algorithm = CalibrationAlgorithm::kEntropy;
  /// For kPercentile: the percentile of |x| taken as amax, in (0, 100].
  double calibration_percentile = 99.99;
  /// Path of a calibration cache in the text format TensorRT's calibrators
  /// write and read (nvinfer1::IInt8Calibrator::writeCalibrationCache /
  /// readCalibrationCache, NVIDIA TensorRT C++ API; ONNX Runtime's TensorRT
  /// execution provider reads the same files): a `TRT-<version>-<Algorithm>`
  /// line, then `tensor: <float32 scale's IEEE-754 bits as 8 hex digits>`
  /// lines, e.g. `data_0: 4000889d` for 2.00833f. When the file exists it is read and calibration is
  /// skipped (a cache that lacks a tensor the network needs, or names tensors
  /// the network does not have, is InvalidArgument naming them); otherwise the
  /// builder calibrates and writes it (atomically).
  std::string calibration_cache;

  /// Layers pinned to a precision, by engine layer name or by the name of any
  /// ONNX node they cover ("conv1", "/layer1/layer1.0/conv1/Conv"): kFp32
  /// keeps the layer in FP32 in an INT8 (or fp16 / bf16) build; kFp16 /
  /// kBf16 run it in that precision in any build. A name that matches no layer
  /// is InvalidArgument listing it.
  std::map<std::string, Precision> layer_precisions;

  /// When > 0 (dB), each layer is first quantized alone and run on the first
  /// `accuracy_guard_samples` calibration samples with its FP32 inputs; a
  /// layer whose output SQNR (10 log10(|y|^2 / |y - y_int8|^2)) falls below
  /// this threshold is kept in FP32. BuildResult::layer_precisions says which
  /// layers and their SQNR. With `best`, the layers that would run in a
  /// 16-bit float are checked the same way (run alone in fp16 / bf16 on the
  /// same samples; the cheaper precision, then the other, then FP32; the
  /// reason names the rejected ones and their SQNR; counters in the
  /// "float16-accuracy-guard" entry of BuildResult::passes).
  double accuracy_guard_db = 0.0;
  int accuracy_guard_samples = 8;

  /// Makes the output of every layer an engine output (as Polygraphy's
  /// `--onnx-outputs mark all`), after fusion and quantization, so that the
  /// engine's layers are the same as without it: for per-layer comparisons
  /// (trtexec_like --compareInt8). In an INT8 engine, int8 layer outputs are
  /// dequantized to float32 under their FP32 name. Disables memory reuse for
  /// those tensors.
  bool mark_all_outputs = false;

  /// Accelerator schedule (docs/accelerator_model.md, "Residency and
  /// prefetch"): keep activations in the scratchpad / unified buffer between
  /// layers when they fit (spilling the rest to DRAM), and load each layer's
  /// first weight and input tiles while the previous layer computes. Only the
  /// modeled schedule changes; the host computes the same outputs.
  bool onchip_residency = true;
  bool cross_layer_prefetch = true;
  /// Layer groups (depth-first fused layers, codegen/layer_group.h): chains
  /// of convolutions run band by band with their intermediates on chip,
  /// chosen over the whole graph by dynamic programming. Modeled schedule
  /// only; the host computes the same outputs.
  bool layer_groups = true;
  /// Execution order of independent branches ("branch-order",
  /// codegen/schedule_order.h): among the topological orders, one with a
  /// lower peak of live activations, kept when the modeled objective is not
  /// worse than with the imported order (BuildResult::passes reports it).
  /// Schedule only; the host computes the same outputs. Off in
  /// dynamic-shape builds.
  bool branch_order = true;
  /// What the group choice minimizes: empty = `objective`; "latency",
  /// "energy", "edp" or "weighted:alpha=A,beta=B" (C = A * cycles + B * DRAM
  /// bytes, the CANN graph-compilation cost). Invalid text: InvalidArgument.
  std::string group_objective;
  /// Energy budget per inference for the group choice, pJ (0 = none): a
  /// schedule above it is replaced by the lowest-energy one.
  double energy_budget_pj = 0;

  /// Progress of long phases ("calibrate", ...): called with the phase, the
  /// work done and the total (0 when unknown), from the building thread.
  std::function<void(const std::string& phase, int64_t done, int64_t total)> progress;

  /// Plugin libraries (include/engine/plugin.h) loaded into the process-wide
  /// plugin registry before the model is parsed (engine::LoadPlugin, see
  /// plugin_registry.h), as trtexec's --dynamicPlugins. A plugin already
  /// loaded at the same version is not loaded again. Errors: those of
  /// LoadPlugin, which fail the build.
  std::vector<std::string> plugins;
};

/// The precision the builder chose for one engine layer.
struct LayerPrecisionInfo {
  std::string layer;      ///< engine layer name
  std::string type;       ///< layer type after quantization ("Int8Conv", "Conv", ...)
  Precision precision = Precision::kFp32;
  /// Why a quantizable layer stayed FP32 ("pinned by layer_precisions",
  /// "accuracy guard: SQNR 14.2 dB < 20 dB", "no calibration scale", ...);
  /// empty for INT8 layers and for layer types without an INT8 form.
  std::string reason;
  /// Isolated INT8 output SQNR on the calibration samples, dB (accuracy
  /// guard only; NaN otherwise).
  double sqnr_db = 0.0;
};

/// What INT8 calibration did.
struct CalibrationSummary {
  bool from_cache = false;   ///< scales read from BuilderConfig::calibration_cache
  bool cache_written = false;
  /// BuilderConfig::calibration_cache existed but did not match the network
  /// (scales missing even through pass-through layers, or tensors the network
  /// lacks, e.g. a cache written for another hardware preset whose fusions
  /// differ): calibration ran again with the calibrator and rewrote it.
  bool cache_mismatch = false;
  int64_t batches = 0;       ///< calibration batches run (0 with a cache)
  int64_t tensors = 0;       ///< activation tensors with a scale
  std::string algorithm;     ///< "entropy", "minmax", "percentile"
  double ms = 0.0;           ///< host wall time of calibration
};

/// The graph after one optimizer pass (see BuilderConfig::dump_ir_after).
struct IrDump {
  std::string pass;    ///< kebab-case pass name
  std::string format;  ///< "text" (one node per line) or "dot" (Graphviz)
  std::string content;
};

/// What one optimizer pass did: counters of each rewrite that fired
/// ("fired") and of each declined case with its reason ("skipped.<reason>").
struct PassSummary {
  std::string name;
  bool changed = false;
  double ms = 0.0;  ///< host wall time
  int nodes_before = 0;
  int nodes_after = 0;
  std::map<std::string, int64_t> counters;
};

/// Wall-clock time of one build phase, in milliseconds (host time).
struct BuildPhase {
  std::string name;  ///< "parse", "optimize", "codegen", "serialize"
  double ms = 0.0;
};

/// Result of a successful build.
struct BuildResult {
  /// Serialized plan (FlatBuffers, see src/common/plan.fbs); write it with
  /// WritePlanFile or keep it in memory for Runtime::DeserializeEngine.
  std::string plan;
  /// Number of ONNX nodes in the model and of layers in the engine.
  int onnx_nodes = 0;
  int engine_layers = 0;
  std::vector<BuildPhase> phases;
  /// Human-readable optimizer statistics (one line per pass with its rewrite
  /// counters), for --verbose output.
  std::string optimizer_report;
  /// The same, structured, in pipeline order.
  std::vector<PassSummary> passes;
  /// Requested IR dumps, in pipeline order.
  std::vector<IrDump> ir_dumps;
  /// INT8 builds: the precision of every engine layer, in execution order
  /// (QuantizeLinear / DequantizeLinear boundary layers included). fp16 /
  /// bf16 builds (and builds with fp16/bf16 pins): every float layer with
  /// its precision and reason.
  std::vector<LayerPrecisionInfo> layer_precisions;
  CalibrationSummary calibration;
  /// INT8 builds: every activation tensor the engine holds in int8 (by its
  /// name in the model) and its scale (real = scale * q, zero point 0; the
  /// scale in effect, after pass-through and Concat propagation). What
  /// ExportQdqFile writes.
  std::map<std::string, float> int8_tensor_scales;
  /// Layer groups (BuilderConfig::layer_groups): one summary line, then one
  /// line per accepted group (layers, bands, band buffer bytes, modeled
  /// cycles and energy against the layers run one by one, recomputed MACs,
  /// marginal efficiency η = ΔP/ΔE in cycles per pJ). Empty without groups.
  std::string layer_group_report;
};

/// Every optimizer pass the builder knows, as (kebab-case name, one-line
/// description), in the order a full pipeline runs them.
ENGINE_API std::vector<std::pair<std::string, std::string>> ListOptimizerPasses();

/// QDQ export (trtexec_like --exportQdq): writes the quantization of the
/// INT8 engine `built` (BuildResult::int8_tensor_scales, from a calibrated or
/// cached build of the ONNX model at `onnx_path`) as that ONNX model with
/// QuantizeLinear / DequantizeLinear nodes (activation scales with zero point
/// 0; per-channel int8 weights of the int8 Conv / Gemm / MatMul layers, as
/// the engine quantizes them), to `out_path` atomically (temporary file and
/// rename). ONNX Runtime and TensorRT run it as the same quantization, and
/// building it (explicit quantization) gives the same INT8 layers.
/// Errors: FailedPrecondition (not an INT8 build), NotFound (onnx_path),
/// InvalidArgument (a model that does not parse or does not hold the
/// engine's tensors), Unimplemented (an opset below 13 with ops whose
/// semantics change at 13), and I/O errors of the write.
ENGINE_API absl::Status ExportQdqFile(const std::string& onnx_path, const BuildResult& built,
                                      const std::string& out_path);

/// Builds engines. Stateless apart from the logger; one Builder may run
/// several builds one after another. Not thread-safe: use one per thread.
class ENGINE_API Builder {
 public:
  /// `logger` must outlive the builder; nullptr means DefaultLogger().
  explicit Builder(Logger* logger = nullptr);

  /// Builds an engine from the `.onnx` file at `onnx_path`.
  /// Errors (each message names the file and, where there is one, the node
  /// index, node name and op type, or the tensor):
  ///  - NotFound: the file does not exist or cannot be read;
  ///  - InvalidArgument: not a valid ONNX model (truncated, malformed, fails
  ///    the ONNX checker or shape inference), a dynamic input dimension that
  ///    `input_shapes` does not pin, a pinned shape of the wrong rank;
  ///  - Unimplemented: ops, attributes or dtypes the engine does not support;
  ///    all unsupported ops of the model are listed in one message; a
  ///    precision the hardware does not list;
  ///  - ResourceExhausted: a layer that no tiling fits into the hardware's
  ///    on-chip buffers (the message names the layer and the sizes), a
  ///    tensor, constant, program or arena above its limit (see the resource
  ///    limits of BuilderConfig; the message names the node, the tensor and
  ///    the size), or a plan above 2 GiB. As a last resort, a
  ///    std::bad_alloc or std::length_error inside the build is caught and
  ///    returned as ResourceExhausted; no exception leaves the builder.
  absl::StatusOr<BuildResult> BuildFromOnnxFile(const std::string& onnx_path,
                                                const BuilderConfig& config) const;

  /// As BuildFromOnnxFile, from the bytes of a serialized ModelProto; `name`
  /// is used in error messages in place of the file name.
  absl::StatusOr<BuildResult> BuildFromOnnxBytes(const std::string& bytes,
                                                 const std::string& name,
                                                 const BuilderConfig& config) const;

 private:
  absl::StatusOr<BuildResult> BuildFromOnnxBytesUnchecked(const std::string& bytes,
                                                          const std::string& name,
                                                          const BuilderConfig& config) const;
  // BuilderConfig::profiles non-empty: a dynamic-shape engine.
  absl::StatusOr<BuildResult> BuildDynamic(const std::string& bytes, const std::string& name,
                                           const BuilderConfig& config) const;
  Logger* logger_;
};

/// Writes plan bytes to `path` atomically: a temporary file in the same
/// directory is written, flushed and renamed, so a failure never leaves a
/// partial plan. Errors: PermissionDenied / Internal on I/O failure.
ENGINE_API absl::Status WritePlanFile(const std::string& path, const std::string& plan);

}  // namespace engine

#endif  // ENGINE_BUILDER_H_
