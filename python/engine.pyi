"""Type stubs of the Python module `engine` (python/engine_module.cc).

A thin layer over the public C++ API (include/engine/): build ONNX models into
plans for the modeled systolic-array accelerator (FP32, or INT8 calibrated by
a Python calibrator), deserialize plans, run them with NumPy arrays, read the
modeled device profile.

Conventions:
  - Tensors are NumPy arrays, dense, row-major (C order), outermost dimension
    first; image tensors of CNN models are NCHW ([N, C, H, W]).
  - Element types map to NumPy dtypes: float32, float16, float64, uint8,
    int8, int32, int64, bool; bfloat16 tensors are uint16 arrays of the raw
    bits (NumPy has no bfloat16).
  - Enumerations are strings: precisions "fp32" | "fp16" | "bf16" | "int8";
    objectives "latency" | "energy" | "edp"; calibration algorithms
    "entropy" | "minmax" | "percentile".
  - Every error the engine reports raises EngineError carrying the engine's
    message and status code. Invalid enum strings raise ValueError, wrong
    Python types TypeError.
  - Units: times in milliseconds (ms) unless named *_cycles (cycles of the
    hardware clock), energies in picojoules (pJ), sizes in bytes.
"""

import os
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

__version__: str

PathLike = Union[str, os.PathLike]

class EngineError(RuntimeError):
    """An error reported by the engine (an absl::Status).

    message: the engine's message (names the file, node, tensor or layer).
    code: the absl::StatusCode as int: 1 CANCELLED, 2 UNKNOWN,
      3 INVALID_ARGUMENT, 5 NOT_FOUND, 7 PERMISSION_DENIED,
      8 RESOURCE_EXHAUSTED, 9 FAILED_PRECONDITION, 10 ABORTED,
      12 UNIMPLEMENTED, 13 INTERNAL, 15 DATA_LOSS.
    code_name: the code's name, e.g. "NOT_FOUND".
    str(e) is "[CODE_NAME] message".
    """
    message: str
    code: int
    code_name: str
    def __init__(self, message: str, code: int = ..., code_name: str = ...) -> None: ...

class TensorDesc:
    """Name, element type and static shape of an engine input or output."""
    @property
    def name(self) -> str: ...
    @property
    def shape(self) -> Tuple[int, ...]:
        """Static shape, outermost first; dimension 0 is the batch size N."""
    @property
    def dtype(self) -> np.dtype:
        """NumPy dtype of the tensor (uint16 for bfloat16)."""
    @property
    def dtype_name(self) -> str:
        """Element type as ONNX spells it: "float", "int8", "bfloat16", ..."""
    @property
    def nbytes(self) -> int:
        """Size of the dense tensor, bytes."""

class Hardware:
    """A modeled accelerator (include/engine/hardware.h): R x C systolic array,
    scratchpad, accumulator, DRAM, vector unit, energy table."""
    def __init__(self, spec: str = "edge") -> None:
        """As trtexec_like --hw: "PRESET_OR_JSON_FILE[,KEY=VALUE,...]", e.g.
        "gemmini,clock=1200". Raises EngineError (NOT_FOUND: unknown preset or
        file; INVALID_ARGUMENT: bad override, value out of range)."""
    @staticmethod
    def preset(name: str) -> Hardware:
        """A built-in preset: "edge", "gemmini", "tpu-v1" (hardware_presets())."""
    @staticmethod
    def from_json(text: str, source: str = "<json>") -> Hardware:
        """From the JSON text of a hardware file (format in hardware.h);
        `source` names it in error messages."""
    @staticmethod
    def from_file(path: str) -> Hardware: ...
    def override(self, key: str, value: Any) -> Hardware:
        """Applies one KEY=VALUE override in place and returns self. Keys:
        array=RxC, rows, cols, dataflow=ws|os|is, memory=ideal|real,
        clock (MHz), scratchpad / weight_buffer / accumulator (bytes, or
        "256KiB"), dram_bw (GB/s), dram_bytes_per_cycle, dram_latency
        (cycles), dma_bytes_per_cycle, vector_lanes, name. On error
        (EngineError INVALID_ARGUMENT) the hardware is unchanged."""
    @property
    def name(self) -> str: ...
    @property
    def summary(self) -> str:
        """One line, e.g. "gemmini: 16x16 array (ws,os) at 1000 MHz, ..."."""
    def to_json(self) -> str:
        """Canonical JSON (equal JSON <=> same hardware)."""
    def to_dict(self) -> Dict[str, Any]:
        """The canonical JSON as Python data."""

def hardware_presets() -> List[str]:
    """Names of the built-in hardware presets."""

def optimizer_passes() -> List[Tuple[str, str]]:
    """Every optimizer pass as (kebab-case name, description), in pipeline order."""

class Calibrator:
    """Base class of Python INT8 calibrators (as TensorRT's IInt8EntropyCalibrator2).

    Subclass it, override get_batch(), and set an instance as
    BuilderConfig.calibrator with BuilderConfig.precision = "int8". The
    builder calls, from the building thread (the GIL is held during the calls):

      begin(inputs)  once, with the engine inputs: list of TensorDesc whose
                     shape has the batch size N as dimension 0 (float32). The
                     default stores them as self.inputs.
      get_batch()    repeatedly: a dict {input name: array} with one array of
                     exactly that input's shape per input (e.g. float32
                     [N, 1, 28, 28], preprocessed as at inference; arrays
                     are converted to the input's dtype, e.g. int64 token
                     ids), or None when
                     there are no more batches.
      batch_count()  number of batches for progress reports (0: unknown).

    The algorithm ("entropy" by default) and the cache file are
    BuilderConfig.calibration_algorithm and BuilderConfig.calibration_cache.
    An exception raised by begin() or get_batch() aborts the build: Builder.build
    raises EngineError (code 10, ABORTED) naming the exception, with the
    original exception as __cause__; no plan is returned and no calibration
    cache is written.
    """
    inputs: List[TensorDesc]
    def begin(self, inputs: List[TensorDesc]) -> None: ...
    def get_batch(self) -> Optional[Dict[str, np.ndarray]]: ...
    def batch_count(self) -> int: ...

class NumpyCalibrator(Calibrator):
    """A ready calibrator over arrays of samples.

    data: an array [S, ...] for a single-input network, or a dict
    {input name: array [S, ...]}; each row along axis 0 is one sample with
    the input's shape minus its batch dimension (e.g. [S, 1, 28, 28] float32
    for an input [1, 1, 28, 28]). Batches of the engine's batch size N are
    delivered in order; a last partial batch repeats its last sample.
    limit > 0 uses only the first `limit` samples. begin() raises ValueError
    when the arrays do not match the engine's inputs.
    """
    def __init__(self, data: Union[np.ndarray, Mapping[str, np.ndarray]], limit: int = 0) -> None: ...

class DatasetCalibrator:
    """A ready calibrator over files, read and preprocessed by the engine in
    C++ exactly as trtexec_like --calibData: a directory of images (.jpg
    .png .bmp .pgm .ppm, sorted by name), a directory of .npy/.pb tensor files,
    or an MNIST IDX image file (optionally .gz). Single-input networks.

    preprocess: "raw" (pixels 0..255, resized to H x W), "imagenet"
      (torchvision: resize 256, centre crop, /255, mean/std, RGB), "caffe"
      (resize 256, crop, BGR, mean subtraction), or a key=value list, e.g.
      "resize=256,crop,scale=1/255,mean=0.485:0.456:0.406,std=0.229:0.224:0.225".
    limit: > 0 uses only the first `limit` samples.
    Raises EngineError (INVALID_ARGUMENT) for a bad preprocess spec; dataset
    errors (missing path, unreadable file) fail the build with their message.
    """
    def __init__(self, path: str, preprocess: str = "raw", limit: int = 0) -> None: ...
    @property
    def path(self) -> str: ...
    @property
    def preprocess(self) -> str: ...
    @property
    def batches_delivered(self) -> int:
        """Batches delivered during the last build."""

def load_dataset(path: str, shape: Sequence[int], preprocess: str = "raw",
                 limit: int = 0) -> Tuple[np.ndarray, np.ndarray, List[str]]:
    """Reads a dataset as DatasetCalibrator / trtexec_like --evalData do.

    shape: the model input's shape [N, C, H, W] (N is ignored), e.g.
    (1, 3, 224, 224). Returns (samples float32 [S, C, H, W], labels int64 [S]
    (-1 without labels; an image directory's labels.csv or the MNIST labels
    file beside the images), names: the S file names or "mnist[i]").
    Raises EngineError: NOT_FOUND (no such path), INVALID_ARGUMENT (bad file,
    preprocess spec or shape).
    """

class BuilderConfig:
    """Options of one build (include/engine/builder.h, BuilderConfig).
    Defaults give a fully optimized FP32 engine for the "edge" preset."""
    def __init__(self) -> None: ...
    input_shapes: Dict[str, List[int]]
    """Static shapes of inputs with dynamic dimensions, e.g. {"data": [1, 3, 224, 224]}."""
    input_values: Dict[str, np.ndarray]
    """Inputs fixed at build time (become constants), by name; dtype and shape as declared."""
    opt_level: int
    """Optimization level 0..3 (default 2)."""
    passes: List[str]
    """When non-empty, the exact optimizer passes to run (see optimizer_passes())."""
    target_opset: int
    """Older models are upgraded to this ONNX opset (default 13)."""
    hardware: Hardware
    """The accelerator; set a Hardware or a spec string ("gemmini,clock=1200")."""
    objective: str
    """What the per-layer mapping minimizes: "latency" (default), "energy", "edp"."""
    dump_ir_after: str
    """Dump the graph after this pass ("*": every pass) into BuildResult.ir_dumps."""
    dump_dot: bool
    plan_memory: bool
    """Share activation memory between tensors with disjoint lifetimes (default True)."""
    arena_alignment: int
    """Offset alignment in the activation arena, bytes (power of two in [8, 4096])."""
    max_tensor_bytes: int
    """Resource limits (0 turns a limit off): largest tensor, bytes (default 4 GiB)."""
    max_constant_bytes: int
    """Largest constant, bytes (default 2 GiB - 1)."""
    max_instructions: int
    """Longest accelerator program, instructions (default 2^24)."""
    max_arena_bytes: int
    """Memory limit of one context's activation arena, bytes (default 16 GiB)."""
    precision: str
    """"fp32" (default), "fp16", "bf16" (2-byte storage, FP32 accumulation; a hardware preset
    without that precision fails with INVALID_ARGUMENT) or "int8"."""
    calibrator: Optional[Union[Calibrator, DatasetCalibrator, Any]]
    """Source of INT8 calibration batches: a Calibrator subclass (any object with
    get_batch()), a DatasetCalibrator, or None (then calibration_cache must exist)."""
    calibration_algorithm: str
    """"entropy" (default, TensorRT's EntropyCalibration2), "minmax", "percentile"."""
    calibration_percentile: float
    """For "percentile": the percentile of |x| taken as amax, in (0, 100] (default 99.99)."""
    calibration_cache: str
    """TensorRT-format calibration cache: read when the file exists (no
    calibration), otherwise written atomically after calibrating."""
    layer_precisions: Dict[str, str]
    """Layers pinned to a precision by engine layer or ONNX node name, e.g. {"Times212": "fp32"}."""
    accuracy_guard_db: float
    """When > 0 (dB): layers whose isolated INT8 output SQNR is below it stay FP32."""
    accuracy_guard_samples: int
    mark_all_outputs: bool
    """Make every layer's output an engine output (per-layer comparisons)."""
    profiles: List[Dict[str, Dict[str, List[int]]]]
    """Optimization profiles (dynamic shapes): [{"min": {input: shape},
    "opt": {...}, "max": {...}}]; see docs/dynamic_shapes.md."""
    shape_buckets: int
    """Accelerator programs per profile (min, opt, max and shapes between), 1-16."""
    onchip_residency: bool
    """Keep activations in the accelerator's scratchpad between layers (default True)."""
    cross_layer_prefetch: bool
    layer_groups: bool
    branch_order: bool
    """Reorder independent branches to lower the peak of live activations when the modeled objective is not worse (default True)."""
    group_objective: str
    energy_budget_pj: float
    """Load a layer's first tiles while the previous layer computes (default True)."""
    allow_fp16: bool
    """With precision "int8": layers that stay float run in fp16 instead of fp32."""
    allow_bf16: bool
    """With precision "int8": layers that stay float run in bf16 instead of fp32."""
    best: bool
    """Every precision the hardware supports; per layer the cheapest by the cost model."""
    progress: Optional[Callable[[str, int, int], None]]
    """Called as progress(phase, done, total) during long phases ("calibrate");
    total is 0 when unknown. An exception it raises is re-raised after the build."""
    plugins: List[str]
    """Plugin libraries loaded (load_plugin) before the model is parsed."""

class BuildResult:
    """What a successful build did (the plan itself is returned as bytes)."""
    @property
    def onnx_nodes(self) -> int: ...
    @property
    def engine_layers(self) -> int: ...
    @property
    def phases(self) -> List[Dict[str, Any]]:
        """[{"name": "parse" | "optimize" | ..., "ms": host wall time}]"""
    @property
    def optimizer_report(self) -> str: ...
    @property
    def passes(self) -> List[Dict[str, Any]]:
        """[{"name", "changed", "ms", "nodes_before", "nodes_after", "counters": {str: int}}]"""
    @property
    def ir_dumps(self) -> List[Dict[str, str]]:
        """[{"pass", "format": "text" | "dot", "content"}]"""
    @property
    def layer_precisions(self) -> List[Dict[str, Any]]:
        """INT8 builds: [{"layer", "type", "precision": "int8" | "fp32", "reason",
        "sqnr_db"}] in execution order."""
    @property
    def calibration(self) -> Dict[str, Any]:
        """{"from_cache", "cache_written", "cache_mismatch", "batches", "tensors", "algorithm", "ms"}"""
    @property
    def int8_tensor_scales(self) -> Dict[str, float]:
        """INT8 builds: {tensor name: scale} of every activation held in int8
        (real = scale * q, zero point 0); what export_qdq writes."""

class Builder:
    """Compiles ONNX models into plans. Not thread-safe: one per thread."""
    def __init__(self, verbose: bool = False) -> None:
        """verbose: log info messages to stderr (default: warnings and errors)."""
    def build(self, model: Union[PathLike, bytes, bytearray, memoryview],
              config: BuilderConfig = ...) -> Tuple[bytes, BuildResult]:
        """Builds the ONNX model at `model` (a path) or in `model` (the bytes
        of a ModelProto). Returns (plan bytes, BuildResult). The GIL is
        released during the build (a Python calibrator re-acquires it).
        Raises EngineError: NOT_FOUND (no such file), INVALID_ARGUMENT (not a
        valid model, unpinned dynamic shape, bad config), UNIMPLEMENTED
        (unsupported ops, listed), RESOURCE_EXHAUSTED (a limit), ABORTED (the
        Python calibrator raised; __cause__ is its exception)."""

def load_plugin(path: str) -> Dict[str, Any]:
    """Loads a plugin library (custom ops; docs/plugins.md) into the process:
    returns {'name', 'version', 'path', 'ops'}. Raises EngineError."""

def loaded_plugins() -> List[Dict[str, Any]]:
    """Every loaded plugin, in load order."""

def write_plan_file(path: str, plan: bytes) -> None:
    """Writes plan bytes atomically (temporary file + rename)."""

def export_qdq(model: str, built: BuildResult, path: str) -> None:
    """Writes the quantization of the INT8 build `built` (of the ONNX model at
    `model`) as that model with QuantizeLinear/DequantizeLinear nodes, to
    `path` atomically (trtexec_like --exportQdq). Raises EngineError:
    FAILED_PRECONDITION (not an INT8 build), NOT_FOUND, INVALID_ARGUMENT,
    UNIMPLEMENTED (opset below 13 with ops changed at 13)."""

class ExecutionContext:
    """Per-thread state for running an engine: owns the activation arena.
    Give each Python thread its own context; calls on one context from
    several threads are serialized."""
    def execute(self, inputs: Mapping[str, np.ndarray]) -> Dict[str, np.ndarray]:
        """Runs one inference. inputs: {name: array} with exactly each engine
        input's shape and dtype (Engine.inputs), e.g. {"Input3": float32
        [1, 1, 28, 28]}. An array that is C-contiguous, aligned and of native
        byte order is read in place (no intermediate copy); others are made
        contiguous first. The GIL is released while the engine runs, so
        Python threads with their own contexts run in parallel.
        Returns {name: new array} for every engine output (Engine.outputs
        shapes and dtypes). Raises EngineError: INVALID_ARGUMENT (wrong shape
        or dtype, both named; unsupported NumPy dtype), NOT_FOUND (unknown
        input name; the message lists the inputs), FAILED_PRECONDITION (an
        input never set on this context)."""
    threads: int
    """Host threads per layer, the caller included (>= 1; default: the CPUs
    this process may use). Outputs are bit-identical for every value."""
    def set_input_shape(self, name: str, shape: List[int]) -> None:
        """Dynamic-shape engines: selects an input's run-time shape inside an
        optimization profile (execute() also does it from the arrays' shapes).
        Raises EngineError: INVALID_ARGUMENT (outside every profile; the
        ranges are named), NOT_FOUND (unknown input)."""
    def get_tensor_shape(self, name: str) -> List[int]:
        """The current shape of an input or output (outputs inferred from the
        input shapes). Raises EngineError as set_input_shape, or
        INVALID_ARGUMENT when the input shapes are inconsistent."""
    def device_profile(self) -> Tuple[Dict[str, Any], int]:
        """(modeled device profile, shape bucket) at the current shapes: the
        program of the smallest shape bucket covering them (-1: fixed-shape)."""
    @property
    def active_profile(self) -> int: ...

class Engine:
    """A loaded, verified, immutable engine; share it between threads."""
    @property
    def profiles(self) -> List[Dict[str, Tuple[List[int], List[int], List[int]]]]:
        """Optimization profiles: [{input: (min, opt, max)}]; [] when fixed-shape."""
    @property
    def inputs(self) -> List[TensorDesc]: ...
    @property
    def outputs(self) -> List[TensorDesc]: ...
    @property
    def layers(self) -> List[Dict[str, Any]]:
        """In execution order: [{"name", "type", "onnx_nodes": [str], "inputs":
        [str], "outputs": [str], "precision": "fp32" | "int8" | ...}]."""
    @property
    def device_profile(self) -> Dict[str, Any]:
        """Modeled figures of one inference on the accelerator: "hardware",
        "clock_mhz", "total_cycles", "latency_ms", "throughput_qps",
        "energy_pj" (= "energy_compute_pj" + "energy_sram_pj" +
        "energy_dram_pj"), "macs", "dram_bytes_read", "dram_bytes_written",
        "utilization" (0..1), "roofline_cycles", "roofline_ratio", and
        "layers": per layer "name", "type", "unit", "tactic", "dataflow",
        "tiling", "precision", "start_cycle", "cycles", "compute_cycles",
        "stall_cycles", "time_ms", "utilization", "mapping_efficiency",
        "macs", "vector_ops", "dram_/sram_/acc_bytes_read/_written",
        "energy_*_pj", "energy_pj", "roofline_*", "bound" ("compute" |
        "memory" | "-"), "estimated_cycles", "instructions", "rejected"
        (tactics considered: {"tactic", "tiling", "cycles", "energy_pj"})."""
    @property
    def hardware(self) -> Hardware: ...
    @property
    def plan_info(self) -> Dict[str, Any]:
        """{"schema_version", "engine_version", "model_name", "plan_bytes",
        "weight_bytes", "objective", "instructions", "payload_crc32" (the engine
        itself: equal for two plans of the same engine), and the provenance the
        builder recorded: "source_model", "source_hash" (FNV-1a 64 of the ONNX
        bytes), "precision", "calibrator", "calibration_data",
        "calibration_batches", "preprocess", "opt_level" (-1 unknown)}"""
    @property
    def memory_plan(self) -> Dict[str, Any]:
        """{"arena_bytes", "no_reuse_bytes", "lower_bound_bytes", "alignment",
        "strategy", "tensors": [{"name", "offset", "bytes", "first_layer", "last_layer"}]}"""
    def check_hardware(self, hardware: Hardware) -> None:
        """Raises EngineError (FAILED_PRECONDITION) unless the plan was built for `hardware`."""
    def create_execution_context(self, threads: Optional[int] = None) -> ExecutionContext:
        """A new context (allocates its activation arena). Raises EngineError
        (RESOURCE_EXHAUSTED) when it cannot be allocated."""

class Runtime:
    @staticmethod
    def deserialize(plan: Union[bytes, bytearray, memoryview, PathLike],
                    max_activation_bytes: int = 0) -> Engine:
        """Loads a plan from bytes or from a file path. max_activation_bytes:
        largest activation tensor / arena the plan may declare, bytes (0: the
        host's physical memory). Raises EngineError: NOT_FOUND (no such
        file), INVALID_ARGUMENT (not a plan), FAILED_PRECONDITION (schema
        version), DATA_LOSS (corrupt), UNIMPLEMENTED, RESOURCE_EXHAUSTED."""

def compare_tensors(actual: np.ndarray, expected: np.ndarray, rtol: float = 1e-3,
                    atol: float = 1e-5) -> Dict[str, Any]:
    """Elementwise |actual - expected| <= atol + rtol * |expected| (NaN equals
    NaN), as --loadRefOutputs: {"passed", "max_abs_error", "max_rel_error",
    "mismatches", "message"}."""

def load_tensor(path: str) -> Tuple[str, np.ndarray]:
    """Reads an ONNX TensorProto (.pb) or .npy file: (stored name or "", array)."""

def save_tensor(path: str, name: str, value: np.ndarray) -> None:
    """Writes an ONNX TensorProto named `name` (atomically)."""

def export_report(engine: Engine, model: PathLike, path: Optional[PathLike] = None,
                  config: Optional[BuilderConfig] = None,
                  command: str = "python engine.export_report") -> Dict[str, Any]:
    """The run report of trtexec_like --exportReport (docs/report_schema.md,
    schemaVersion 1) for `engine`, with the modeled device figures, memory
    and per-layer profile (performance.host is None: no host timings).
    model: the ONNX file the engine was built from (with `config`, the
    BuilderConfig used: build.source "onnx", options recorded) or the plan
    file it was loaded from (config None: build.source "plan"); its bytes
    are hashed (model.hash). path: when given, the JSON is written there
    atomically; `trtexec_like compare` reads it. Returns the document as
    Python data. Raises EngineError (the model file cannot be read, the file
    cannot be written)."""

def compare_reports(reports: Sequence[Union[PathLike, Dict[str, Any]]]) -> Dict[str, Any]:
    """Compares two or more run reports (files or export_report() dicts) as
    `trtexec_like compare --json` does: {"kind": "engine-report-comparison",
    "reports": [...], "warnings": [str], "layers": [per matched layer group:
    {"match", "onnxNodes", "maxAbsDiffMs", "reports": [{"layers", "timeMs",
    "cycles", "energyPj", "dramBytes", "hostAverageMs"}]}]} sorted by the
    largest modeled time difference. Raises EngineError (INVALID_ARGUMENT:
    fewer than two reports, a field missing or of the wrong type, an
    unsupported schemaVersion; NOT_FOUND: no such file)."""
