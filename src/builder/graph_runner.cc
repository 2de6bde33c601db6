#include "builder/graph_runner.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "kernels/thread_pool.h"
#include "ops/layer_precision.h"
#include "ops/op_registry.h"

namespace engine::builder {

GraphRunner::~GraphRunner() = default;

absl::StatusOr<std::unique_ptr<GraphRunner>> GraphRunner::Create(
    const ir::Graph& graph, std::span<const std::string> keep, int threads) {
  if (threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("graph runner: the thread count must be >= 1, got ", threads));
  }
  std::unique_ptr<GraphRunner> r(new GraphRunner());

  // Value indices: graph inputs, then node inputs and outputs in schedule
  // order (constants included), each once.
  absl::flat_hash_map<const ir::Value*, int> index;
  std::vector<const ir::Value*> by_index;
  auto index_of = [&](const ir::Value* v) -> int {
    auto [it, inserted] = index.try_emplace(v, static_cast<int>(by_index.size()));
    if (inserted) by_index.push_back(v);
    return it->second;
  };
  for (const ir::Value* v : graph.inputs()) {
    r->input_values_.push_back(index_of(v));
    r->inputs_.push_back(TensorDesc{v->name, v->dtype, v->shape});
  }
  for (const auto& node : graph.nodes()) {
    for (const ir::Value* v : node->inputs) {
      if (v != nullptr) index_of(v);
    }
    for (const ir::Value* v : node->outputs) index_of(v);
  }
  for (const ir::Value* v : graph.outputs()) index_of(v);
  const size_t n = by_index.size();

  // Tensors that stay live for the whole run.
  std::vector<bool> pinned(n, false);
  for (int i : r->input_values_) pinned[i] = true;
  for (const ir::Value* v : graph.outputs()) pinned[index.at(v)] = true;
  for (const std::string& name : keep) {
    const ir::Value* v = graph.FindValue(name);
    auto it = v == nullptr ? index.end() : index.find(v);
    if (it == index.end()) {
      return absl::NotFoundError(absl::StrCat(
          "graph runner: tensor '", name, "' to keep is not a tensor of the graph's schedule"));
    }
    pinned[it->second] = true;
  }
  for (size_t i = 0; i < n; ++i) {
    if (pinned[i]) r->readable_[by_index[i]->name] = static_cast<int>(i);
  }

  // Last reader of each value (its producer when nothing reads it).
  const auto& nodes = graph.nodes();
  std::vector<int> last_use(n, -1);
  for (size_t s = 0; s < nodes.size(); ++s) {
    for (const ir::Value* v : nodes[s]->inputs) {
      if (v != nullptr) last_use[index.at(v)] = static_cast<int>(s);
    }
    for (const ir::Value* v : nodes[s]->outputs) {
      int& u = last_use[index.at(v)];
      u = std::max(u, static_cast<int>(s));
    }
  }

  // Kernels, and the buffer plan: an output takes a free buffer of its exact
  // byte size or a new one; a value's buffer is freed after its last reader.
  const auto& registry = ops::OpRegistry::Builtin();
  std::vector<int> buffer_of(n, -1);
  std::vector<size_t> buffer_bytes;
  std::multimap<size_t, int> free_buffers;
  std::vector<bool> defined(n, false);
  for (int i : r->input_values_) {
    buffer_of[i] = static_cast<int>(buffer_bytes.size());
    buffer_bytes.push_back(by_index[i]->ByteSize());
    defined[i] = true;
  }
  for (size_t i = 0; i < n; ++i) defined[i] = defined[i] || by_index[i]->is_constant();
  r->steps_.reserve(nodes.size());
  for (size_t s = 0; s < nodes.size(); ++s) {
    const ir::Node& node = *nodes[s];
    Step step;
    step.name = node.Describe();
    std::vector<kernels::TensorInfo> in_info, out_info;
    for (const ir::Value* v : node.inputs) {
      kernels::TensorInfo ti;
      if (v == nullptr) {
        ti.present = false;
        step.inputs.push_back(-1);
      } else {
        const int i = index.at(v);
        if (!defined[i]) {
          return absl::InvalidArgumentError(absl::StrCat(
              "graph runner: ", node.Describe(), " reads '", v->name,
              "', which is neither a graph input, a constant nor the output of an earlier node"));
        }
        ti.dtype = v->dtype;
        ti.shape = v->shape;
        ti.constant = v->is_constant() ? v->constant.get() : nullptr;
        step.inputs.push_back(i);
      }
      in_info.push_back(std::move(ti));
    }
    for (const ir::Value* v : node.outputs) {
      const int i = index.at(v);
      if (defined[i]) {
        return absl::InvalidArgumentError(absl::StrCat(
            "graph runner: ", node.Describe(), " writes '", v->name, "', which is already defined"));
      }
      defined[i] = true;
      out_info.push_back(kernels::TensorInfo{v->dtype, v->shape, nullptr, true});
      step.outputs.push_back(i);
    }
    if (registry.FindKernel(node.op_type) == nullptr) {
      return absl::UnimplementedError(
          absl::StrCat("graph runner: ", node.Describe(), ": layer type without a host kernel"));
    }
    // fp16/bf16 layers run through the reduced-precision wrapper.
    absl::StatusOr<kernels::KernelDef> host_def =
        ops::HostKernelDef(registry, node.op_type, node.attrs);
    if (!host_def.ok()) return Annotate(host_def.status(), absl::StrCat("graph runner: ", node.Describe()));
    const kernels::KernelDef* def = &*host_def;
    absl::StatusOr<std::vector<kernels::TensorInfo>> inferred = def->infer(node.attrs, in_info);
    if (!inferred.ok()) return Annotate(inferred.status(), absl::StrCat("graph runner: ", node.Describe()));
    if (inferred->size() != out_info.size()) {
      return absl::InvalidArgumentError(absl::StrCat("graph runner: ", node.Describe(), " has ",
                                                     out_info.size(), " outputs, its kernel ",
                                                     inferred->size()));
    }
    for (size_t o = 0; o < out_info.size(); ++o) {
      if ((*inferred)[o].dtype != out_info[o].dtype || (*inferred)[o].shape != out_info[o].shape) {
        return absl::InvalidArgumentError(absl::StrCat(
            "graph runner: ", node.Describe(), ": output ", o, " '", node.outputs[o]->name,
            "' is ", DataTypeName(out_info[o].dtype), " ", DimsToString(out_info[o].shape),
            " but the layer computes ", DataTypeName((*inferred)[o].dtype), " ",
            DimsToString((*inferred)[o].shape)));
      }
    }
    step.kernel = def->create();
    absl::Status prepared = step.kernel->Prepare(node.attrs, in_info, out_info);
    if (!prepared.ok()) return Annotate(prepared, absl::StrCat("graph runner: ", node.Describe()));

    for (int i : step.outputs) {
      const size_t bytes = by_index[i]->ByteSize();
      auto it = free_buffers.find(bytes);
      if (it != free_buffers.end()) {
        buffer_of[i] = it->second;
        free_buffers.erase(it);
      } else {
        buffer_of[i] = static_cast<int>(buffer_bytes.size());
        buffer_bytes.push_back(bytes);
      }
    }
    std::set<int> dying;
    for (int i : step.inputs) {
      if (i >= 0 && buffer_of[i] >= 0 && !pinned[i] && last_use[i] == static_cast<int>(s)) {
        dying.insert(i);
      }
    }
    for (int i : step.outputs) {
      if (!pinned[i] && last_use[i] == static_cast<int>(s)) dying.insert(i);
    }
    for (int i : dying) free_buffers.emplace(buffer_bytes[buffer_of[i]], buffer_of[i]);
    r->steps_.push_back(std::move(step));
  }

  // Thread count: ExecutionContext::SetThreads' rule (src/executor/runtime.cc).
  int run_threads = 1;
  exec::ThreadPool* pool = nullptr;
  if (threads > 1 && exec::ThreadPool::HardwareThreads() > 1) {
    pool = &exec::ThreadPool::Shared();
    run_threads = std::min(threads, pool->workers() + 1);
  }
  r->run_threads_ = run_threads;
  r->pool_ = run_threads > 1 ? pool : nullptr;
  size_t scratch = 0;
  for (const Step& step : r->steps_) scratch = std::max(scratch, step.kernel->ScratchBytes(run_threads));

  try {
    r->scratch_ = Tensor(DataType::kUint8, {static_cast<int64_t>(scratch)});
    r->buffers_.reserve(buffer_bytes.size());
    for (size_t bytes : buffer_bytes) {
      r->buffers_.emplace_back(DataType::kUint8, Dims{static_cast<int64_t>(bytes)});
      r->activation_bytes_ += bytes;
    }
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "graph runner: cannot allocate ", scratch, " bytes of kernel scratch and ",
        buffer_bytes.size(), " activation buffers"));
  }
  r->values_.reserve(n);
  r->data_.resize(n, nullptr);
  r->constant_.resize(n, false);
  for (size_t i = 0; i < n; ++i) {
    const ir::Value* v = by_index[i];
    void* data = nullptr;
    if (v->is_constant()) {
      r->constants_.push_back(v->constant);
      r->constant_[i] = true;
      data = const_cast<void*>(v->constant->data());
    } else if (buffer_of[i] >= 0) {
      data = r->buffers_[buffer_of[i]].data();
    }
    r->values_.push_back(Tensor::View(v->dtype, v->shape, data));
    r->data_[i] = data;
  }
  return r;
}

absl::Status GraphRunner::Run(const std::map<std::string, Tensor>& inputs) {
  for (size_t k = 0; k < inputs_.size(); ++k) {
    const TensorDesc& d = inputs_[k];
    auto it = inputs.find(d.name);
    if (it == inputs.end()) {
      return absl::InvalidArgumentError(absl::StrCat("no tensor for input '", d.name, "'"));
    }
    const Tensor& value = it->second;
    if (value.dtype() != d.dtype) {
      return absl::InvalidArgumentError(absl::StrCat("input '", d.name, "': expected dtype ",
                                                     DataTypeName(d.dtype), ", got ",
                                                     DataTypeName(value.dtype())));
    }
    if (value.shape() != d.shape) {
      return absl::InvalidArgumentError(absl::StrCat("input '", d.name, "': expected shape ",
                                                     DimsToString(d.shape), ", got ",
                                                     DimsToString(value.shape())));
    }
    Tensor& buf = values_[input_values_[k]];
    if (buf.byte_size() > 0) std::memcpy(buf.data(), value.data(), buf.byte_size());
  }
  kernels::RunContext rc;
  rc.scratch = static_cast<std::byte*>(scratch_.data());
  rc.scratch_bytes = scratch_.byte_size();
  rc.pool = pool_;
  rc.threads = run_threads_;
  for (const Step& step : steps_) {
    step_in_.clear();
    step_out_.clear();
    for (int i : step.inputs) step_in_.push_back(i < 0 ? nullptr : data_[i]);
    for (int i : step.outputs) step_out_.push_back(values_[i].data());
    absl::Status ran = step.kernel->TryRun(rc, step_in_, step_out_);
    if (!ran.ok()) return Annotate(ran, step.name);
  }
  ran_ = true;
  return absl::OkStatus();
}

absl::StatusOr<const Tensor*> GraphRunner::Get(std::string_view name) const {
  auto it = readable_.find(std::string(name));
  if (it == readable_.end()) {
    return absl::NotFoundError(absl::StrCat(
        "graph runner: '", std::string(name), "' is not a graph input, a graph output or a kept tensor"));
  }
  const int i = it->second;
  if (!ran_ && !constant_[i]) {
    return absl::FailedPreconditionError(
        absl::StrCat("graph runner: '", std::string(name), "' read before the first Run"));
  }
  return &values_[i];
}

}  // namespace engine::builder
