#include "serving/scheduler.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <string>

namespace engine::serving {

using Clock = std::chrono::steady_clock;

struct QueuedRequest {
  std::vector<engine::Tensor> inputs;
  int64_t batch = 1;
  Clock::time_point enqueued;
  bool taken = false;  // guarded by Scheduler::mu_: a worker took it off the queue
  std::mutex mu;       // guards the rest
  std::condition_variable cv;
  bool done = false;
  absl::Status status;
  InferResult result;
};

namespace {

uint64_t Micros(Clock::duration d) {
  return static_cast<uint64_t>(
      std::max<int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count(), 0));
}

}  // namespace

Scheduler::Scheduler(std::shared_ptr<const engine::Engine> engine, const ModelConfig& config,
                     int max_batch, ModelStats* stats)
    : engine_(std::move(engine)), config_(config), max_batch_(max_batch), stats_(stats) {}

absl::StatusOr<std::unique_ptr<Scheduler>> Scheduler::Create(
    std::shared_ptr<const engine::Engine> engine, const ModelConfig& config, int max_batch,
    ModelStats* stats) {
  std::unique_ptr<Scheduler> s(new Scheduler(std::move(engine), config, max_batch, stats));
  for (int i = 0; i < config.instance_count; ++i) {
    absl::StatusOr<std::unique_ptr<engine::ExecutionContext>> ctx =
        s->engine_->CreateExecutionContext();
    if (!ctx.ok()) return ctx.status();
    if (config.threads > 0) {
      if (absl::Status st = (*ctx)->SetThreads(config.threads); !st.ok()) return st;
    }
    s->contexts_.push_back(*std::move(ctx));
  }
  for (auto& ctx : s->contexts_) {
    s->workers_.emplace_back([sp = s.get(), c = ctx.get()] { sp->WorkerLoop(c); });
  }
  return s;
}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (joined_) return;
    joined_ = true;
  }
  work_.notify_all();
  for (std::thread& t : workers_) t.join();
}

size_t Scheduler::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

absl::StatusOr<InferResult> Scheduler::Infer(std::vector<engine::Tensor> inputs, int64_t batch,
                                             int64_t timeout_us) {
  auto r = std::make_shared<QueuedRequest>();
  r->inputs = std::move(inputs);
  r->batch = batch;
  r->enqueued = Clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      return absl::UnavailableError("model is being unloaded or the server is stopping");
    }
    if (queue_.size() >= static_cast<size_t>(config_.max_queue_size)) {
      return absl::ResourceExhaustedError(
          "queue full: " + std::to_string(queue_.size()) +
          " requests waiting (max_queue_size=" + std::to_string(config_.max_queue_size) + ")");
    }
    queue_.push_back(r);
  }
  work_.notify_all();
  std::unique_lock<std::mutex> lock(r->mu);
  if (timeout_us > 0) {
    const Clock::time_point deadline = r->enqueued + std::chrono::microseconds(timeout_us);
    if (!r->cv.wait_until(lock, deadline, [&] { return r->done; })) {
      lock.unlock();
      {
        std::lock_guard<std::mutex> qlock(mu_);
        if (!r->taken) {
          queue_.erase(std::find(queue_.begin(), queue_.end(), r));
          return absl::DeadlineExceededError(
              "request timed out after " + std::to_string(timeout_us) +
              " us in the queue (parameters.timeout or the model's default_timeout_us)");
        }
      }
      lock.lock();  // already running: its answer comes
    }
  }
  r->cv.wait(lock, [&] { return r->done; });
  if (!r->status.ok()) return r->status;
  return std::move(r->result);
}

size_t DynamicBatchCut(std::span<const int64_t> queued, int64_t max_batch,
                       std::span<const int> preferred, bool delay_over) {
  if (queued.empty()) return 0;
  const int64_t limit = std::max<int64_t>(max_batch, 1);
  int64_t largest_preferred = limit;
  if (!preferred.empty()) largest_preferred = *std::max_element(preferred.begin(), preferred.end());
  int64_t total = 0;
  size_t walked = 0, best = 0;
  for (; walked < queued.size() && total + queued[walked] <= limit; ++walked) {
    total += queued[walked];
    if (std::find(preferred.begin(), preferred.end(), total) != preferred.end()) best = walked + 1;
  }
  if (walked == 0) return 1;  // larger than max_batch: alone
  if (best > 0) return best;
  const bool cannot_grow = total >= largest_preferred || walked < queued.size();
  return cannot_grow || delay_over ? walked : 0;
}

std::vector<std::shared_ptr<QueuedRequest>> Scheduler::NextBatch() {
  std::unique_lock<std::mutex> lock(mu_);
  std::vector<int64_t> sizes;
  auto cut = [&](bool delay_over) {
    sizes.clear();
    for (const auto& q : queue_) sizes.push_back(q->batch);
    return DynamicBatchCut(sizes, max_batch_, config_.preferred_batch_size, delay_over);
  };
  for (;;) {
    work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return {};
    size_t take = 1;
    if (config_.dynamic_batching && max_batch_ > 1) {
      const Clock::time_point deadline =
          queue_.front()->enqueued + std::chrono::microseconds(config_.max_queue_delay_us);
      for (;;) {
        take = cut(stopping_ || Clock::now() >= deadline);
        if (take > 0 || queue_.empty()) break;
        work_.wait_until(lock, deadline);
      }
      if (queue_.empty()) continue;  // another worker took them
    }
    std::vector<std::shared_ptr<QueuedRequest>> batch;
    for (size_t i = 0; i < take && !queue_.empty(); ++i) {
      queue_.front()->taken = true;
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    return batch;
  }
}

void Scheduler::WorkerLoop(engine::ExecutionContext* ctx) {
  for (;;) {
    std::vector<std::shared_ptr<QueuedRequest>> batch = NextBatch();
    if (batch.empty()) return;
    Execute(ctx, batch);
  }
}

void Scheduler::Execute(engine::ExecutionContext* ctx,
                        const std::vector<std::shared_ptr<QueuedRequest>>& batch) {
  const Clock::time_point start = Clock::now();
  const std::vector<engine::TensorDesc>& in_desc = engine_->inputs();
  const std::vector<engine::TensorDesc>& out_desc = engine_->outputs();
  int64_t total = 0;
  for (const auto& r : batch) total += r->batch;
  absl::Status status;
  for (size_t i = 0; i < in_desc.size() && status.ok(); ++i) {
    if (batch.size() == 1) {
      status = ctx->SetInput(in_desc[i].name, batch[0]->inputs[i]);
      continue;
    }
    // Concatenated along dimension 0 (every request has the same other dims).
    engine::Dims shape = batch[0]->inputs[i].shape();
    shape[0] = total;
    engine::Tensor joined(batch[0]->inputs[i].dtype(), shape);
    char* dst = static_cast<char*>(joined.data());
    for (const auto& r : batch) {
      const engine::Tensor& t = r->inputs[i];
      std::memcpy(dst, t.data(), t.byte_size());
      dst += t.byte_size();
    }
    status = ctx->SetInput(in_desc[i].name, joined);
  }
  if (status.ok()) status = ctx->Execute();
  // Outputs, split back along dimension 0.
  std::vector<std::vector<engine::Tensor>> outputs(batch.size());
  for (size_t o = 0; o < out_desc.size() && status.ok(); ++o) {
    absl::StatusOr<const engine::Tensor*> out = ctx->GetOutput(out_desc[o].name);
    if (!out.ok()) {
      status = out.status();
      break;
    }
    const engine::Tensor& t = **out;
    if (batch.size() == 1) {
      outputs[0].push_back(t);
      continue;
    }
    if (t.shape().empty() || t.shape()[0] != total) {
      status = absl::InternalError("output '" + out_desc[o].name + "' has shape " +
                                   engine::DimsToString(t.shape()) + " for a batch of " +
                                   std::to_string(total) +
                                   ": dimension 0 is not the batch (set max_batch_size 0)");
      break;
    }
    const size_t row_bytes = t.byte_size() / static_cast<size_t>(total);
    const char* src = static_cast<const char*>(t.data());
    for (size_t k = 0; k < batch.size(); ++k) {
      engine::Dims shape = t.shape();
      shape[0] = batch[k]->batch;
      const size_t bytes = row_bytes * static_cast<size_t>(batch[k]->batch);
      outputs[k].emplace_back(t.dtype(), shape, std::as_bytes(std::span(src, bytes)));
      src += bytes;
    }
  }
  const Clock::time_point end = Clock::now();
  const uint64_t compute_us = Micros(end - start);
  uint64_t queue_sum = 0;
  for (const auto& r : batch) queue_sum += Micros(start - r->enqueued);
  if (status.ok()) {
    const engine::DeviceProfile& device = ctx->device_profile();
    stats_->RecordExecution(static_cast<int>(total), queue_sum, compute_us,
                            device.latency_ms * 1000.0, device.energy_pj());
  }
  for (size_t k = 0; k < batch.size(); ++k) {
    QueuedRequest& r = *batch[k];
    {
      std::lock_guard<std::mutex> lock(r.mu);
      r.status = status;
      if (status.ok()) {
        r.result.outputs = std::move(outputs[k]);
        r.result.queue_us = Micros(start - r.enqueued);
        r.result.compute_us = compute_us;
        r.result.executed_batch = static_cast<int>(total);
      }
      r.done = true;
    }
    r.cv.notify_all();
  }
}

}  // namespace engine::serving
