// engine_client: a load generator for engine_server.
//
//   engine_client [--host=127.0.0.1] [--port=8080] [--requests=1000]
//                 [--concurrency=4] [--warmup=0] [--input=FILE]...
//                 [--expect=FILE]... [--rtol=0] [--atol=0] [--save-output=FILE]
//
// Reads the model description (GET /v1/model), then sends --requests POST
// /v1/infer requests from --concurrency threads, each over its own keep-alive
// connection, after --warmup untimed ones. Every answer is checked: status 200,
// the size of the outputs and, with --expect, the outputs themselves.
//
// Inputs: one --input per engine input, in engine order: `.npy` or ONNX
// TensorProto `.pb` (read with engine::LoadTensorFile; dtype and shape must
// match the engine's), anything else raw bytes. Without --input, every float32
// input is uniform random in [0, 1) (seed 1), other dtypes zeros.
// Expected outputs: one --expect per engine output, in engine order: `.npy` or
// `.pb` compared with engine::CompareTensors at --rtol/--atol (default 0:
// exact), raw files byte for byte. --save-output writes the first answer's raw
// bytes (every output, concatenated), e.g. to make a reference.
//
// Prints requests, errors, throughput (requests per second over the timed
// phase) and the latency percentiles p50/p90/p99 in milliseconds (nearest
// rank), and exits 1 when any request failed (2 on bad usage).
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/compare.h"
#include "engine/tensor.h"
#include "engine/tensor_io.h"
#include "engine/types.h"

namespace {

using nlohmann::json;

struct Options {
  std::string host = "127.0.0.1";
  int port = 8080;
  int64_t requests = 1000;
  int concurrency = 4;
  int64_t warmup = 0;
  std::vector<std::string> inputs;
  std::vector<std::string> expects;
  double rtol = 0.0, atol = 0.0;
  std::string save_output;
};

[[noreturn]] void Usage(const std::string& msg) {
  if (!msg.empty()) std::fprintf(stderr, "engine_client: %s\n", msg.c_str());
  std::fprintf(stderr,
               "usage: engine_client [--host=127.0.0.1] [--port=8080] [--requests=1000] "
               "[--concurrency=4]\n"
               "                     [--warmup=0] [--input=FILE]... [--expect=FILE]... "
               "[--rtol=0] [--atol=0]\n"
               "                     [--save-output=FILE]\n");
  std::exit(2);
}

int64_t ParseInt(const std::string& flag, const std::string& v, int64_t lo, int64_t hi) {
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || x < lo || x > hi) {
    Usage("bad value for " + flag + ": '" + v + "'");
  }
  return x;
}

double ParseDouble(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !(x >= 0)) Usage("bad value for " + flag + ": '" + v + "'");
  return x;
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") Usage("");
    size_t eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos) Usage("bad argument: " + arg);
    std::string key = arg.substr(0, eq), v = arg.substr(eq + 1);
    if (key == "--host") o.host = v;
    else if (key == "--port") o.port = static_cast<int>(ParseInt(key, v, 1, 65535));
    else if (key == "--requests") o.requests = ParseInt(key, v, 1, int64_t{1} << 40);
    else if (key == "--concurrency") o.concurrency = static_cast<int>(ParseInt(key, v, 1, 4096));
    else if (key == "--warmup") o.warmup = ParseInt(key, v, 0, int64_t{1} << 40);
    else if (key == "--input") o.inputs.push_back(v);
    else if (key == "--expect") o.expects.push_back(v);
    else if (key == "--rtol") o.rtol = ParseDouble(key, v);
    else if (key == "--atol") o.atol = ParseDouble(key, v);
    else if (key == "--save-output") o.save_output = v;
    else Usage("unknown flag " + key);
  }
  return o;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool IsTensorFile(const std::string& path) { return EndsWith(path, ".npy") || EndsWith(path, ".pb"); }

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

[[noreturn]] void Fail(const std::string& msg) {
  std::fprintf(stderr, "engine_client: %s\n", msg.c_str());
  std::exit(1);
}

// --- the model, as GET /v1/model describes it ---------------------------------

engine::DataType DataTypeFromName(const std::string& name) {
  for (engine::DataType t : {engine::DataType::kFloat32, engine::DataType::kUint8,
                             engine::DataType::kInt8, engine::DataType::kInt32,
                             engine::DataType::kInt64, engine::DataType::kBool,
                             engine::DataType::kFloat16}) {
    if (name == engine::DataTypeName(t)) return t;
  }
  return engine::DataType::kUndefined;
}

std::vector<engine::TensorDesc> ParseDescs(const json& list) {
  std::vector<engine::TensorDesc> descs;
  for (const json& d : list) {
    engine::TensorDesc desc;
    desc.name = d.at("name").get<std::string>();
    desc.dtype = DataTypeFromName(d.at("dtype").get<std::string>());
    desc.shape = d.at("shape").get<engine::Dims>();
    descs.push_back(std::move(desc));
  }
  return descs;
}

std::string Describe(const engine::TensorDesc& d) {
  return "'" + d.name + "' " + engine::DataTypeName(d.dtype) + " " +
         engine::DimsToString(d.shape) + " (" + std::to_string(d.ByteSize()) + " bytes)";
}

// --- request body and expected answer ------------------------------------------

std::string MakeBody(const Options& o, const std::vector<engine::TensorDesc>& inputs) {
  if (!o.inputs.empty() && o.inputs.size() != inputs.size()) {
    Fail("the engine has " + std::to_string(inputs.size()) + " inputs; got " +
         std::to_string(o.inputs.size()) + " --input");
  }
  std::string body;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const engine::TensorDesc& d = inputs[i];
    std::string bytes;
    if (o.inputs.empty()) {
      bytes.assign(d.ByteSize(), '\0');
      if (d.dtype == engine::DataType::kFloat32) {
        for (size_t k = 0; k < d.ByteSize() / 4; ++k) {
          float v = uniform(rng);
          std::memcpy(bytes.data() + 4 * k, &v, 4);
        }
      }
    } else if (IsTensorFile(o.inputs[i])) {
      absl::StatusOr<engine::NamedTensor> t = engine::LoadTensorFile(o.inputs[i]);
      if (!t.ok()) Fail(t.status().ToString());
      if (t->tensor.dtype() != d.dtype || t->tensor.shape() != d.shape) {
        Fail(o.inputs[i] + ": " + engine::DataTypeName(t->tensor.dtype()) + " " +
             engine::DimsToString(t->tensor.shape()) + " does not match input " + Describe(d));
      }
      bytes.assign(static_cast<const char*>(t->tensor.data()), t->tensor.byte_size());
    } else {
      if (!ReadFile(o.inputs[i], &bytes)) Fail("cannot read " + o.inputs[i]);
      if (bytes.size() != d.ByteSize()) {
        Fail(o.inputs[i] + ": " + std::to_string(bytes.size()) + " bytes; input " + Describe(d));
      }
    }
    body += bytes;
  }
  return body;
}

// Checks one answer against the expected outputs; "" when it matches.
class Checker {
 public:
  Checker(const Options& o, const std::vector<engine::TensorDesc>& outputs)
      : outputs_(outputs), rtol_(o.rtol), atol_(o.atol) {
    for (const engine::TensorDesc& d : outputs) total_bytes_ += d.ByteSize();
    if (o.expects.empty()) return;
    if (o.expects.size() != outputs.size()) {
      Fail("the engine has " + std::to_string(outputs.size()) + " outputs; got " +
           std::to_string(o.expects.size()) + " --expect");
    }
    for (size_t i = 0; i < outputs.size(); ++i) {
      Expected e;
      if (IsTensorFile(o.expects[i])) {
        absl::StatusOr<engine::NamedTensor> t = engine::LoadTensorFile(o.expects[i]);
        if (!t.ok()) Fail(t.status().ToString());
        e.tensor = std::move(t->tensor);
        e.is_tensor = true;
      } else if (!ReadFile(o.expects[i], &e.raw)) {
        Fail("cannot read " + o.expects[i]);
      }
      e.path = o.expects[i];
      expected_.push_back(std::move(e));
    }
  }

  std::string Check(const std::string& body) const {
    if (body.size() != total_bytes_) {
      return "answer has " + std::to_string(body.size()) + " bytes, expected " +
             std::to_string(total_bytes_);
    }
    size_t offset = 0;
    for (size_t i = 0; i < expected_.size(); ++i) {
      const engine::TensorDesc& d = outputs_[i];
      const Expected& e = expected_[i];
      if (e.is_tensor) {
        // Copy: the body's bytes need not be aligned for the dtype.
        engine::Tensor actual(d.dtype, d.shape,
                              std::as_bytes(std::span(body.data() + offset, d.ByteSize())));
        engine::CompareResult r = engine::CompareTensors(actual, e.tensor, rtol_, atol_);
        if (!r.passed) return "output '" + d.name + "' differs from " + e.path + ": " + r.message;
      } else if (e.raw.size() != d.ByteSize() ||
                 std::memcmp(e.raw.data(), body.data() + offset, d.ByteSize()) != 0) {
        return "output '" + d.name + "' differs from " + e.path + " (raw bytes)";
      }
      offset += d.ByteSize();
    }
    return "";
  }

 private:
  struct Expected {
    std::string path;
    bool is_tensor = false;
    engine::Tensor tensor;
    std::string raw;
  };
  std::vector<engine::TensorDesc> outputs_;
  std::vector<Expected> expected_;
  double rtol_, atol_;
  size_t total_bytes_ = 0;
};

// --- load ----------------------------------------------------------------------

struct Stats {
  std::mutex mu;
  int64_t errors = 0;
  std::vector<std::string> first_errors;  // the first few, printed
  std::vector<double> latencies_ms;

  void Error(const std::string& msg) {
    std::lock_guard<std::mutex> lock(mu);
    ++errors;
    if (first_errors.size() < 5) first_errors.push_back(msg);
  }
};

// Sends `count` requests from every client in parallel (request i goes to
// whichever client is free); records latencies when `timed`.
void RunPhase(std::vector<std::unique_ptr<httplib::Client>>& clients, int64_t count,
              const std::string& body, const Checker& checker, bool timed, Stats& stats,
              const std::string& save_output) {
  std::atomic<int64_t> next{0};
  std::vector<std::vector<double>> latencies(clients.size());
  std::vector<std::thread> threads;
  std::once_flag saved;
  for (size_t c = 0; c < clients.size(); ++c) {
    threads.emplace_back([&, c] {
      httplib::Client& cli = *clients[c];
      for (int64_t i = next++; i < count; i = next++) {
        auto t0 = std::chrono::steady_clock::now();
        httplib::Result res = cli.Post("/v1/infer", body, "application/octet-stream");
        auto t1 = std::chrono::steady_clock::now();
        if (timed) latencies[c].push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        if (!res) {
          stats.Error("request " + std::to_string(i) + ": " + httplib::to_string(res.error()));
          continue;
        }
        if (res->status != 200) {
          stats.Error("request " + std::to_string(i) + ": HTTP " + std::to_string(res->status) +
                      ": " + res->body);
          continue;
        }
        if (!save_output.empty()) {
          std::call_once(saved, [&] {
            std::ofstream f(save_output, std::ios::binary);
            f.write(res->body.data(), static_cast<std::streamsize>(res->body.size()));
            if (!f) stats.Error("cannot write " + save_output);
          });
        }
        std::string mismatch = checker.Check(res->body);
        if (!mismatch.empty()) stats.Error("request " + std::to_string(i) + ": " + mismatch);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (auto& l : latencies) stats.latencies_ms.insert(stats.latencies_ms.end(), l.begin(), l.end());
}

// Nearest rank: the smallest value with at least p% of the values <= it.
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0.0;
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);

  httplib::Client probe(o.host, o.port);
  probe.set_connection_timeout(5);
  httplib::Result model = probe.Get("/v1/model");
  if (!model) Fail("GET /v1/model: " + httplib::to_string(model.error()));
  if (model->status != 200) Fail("GET /v1/model: HTTP " + std::to_string(model->status));
  json doc = json::parse(model->body, nullptr, false);
  if (doc.is_discarded()) Fail("GET /v1/model: not JSON");
  std::vector<engine::TensorDesc> inputs = ParseDescs(doc.at("inputs"));
  std::vector<engine::TensorDesc> outputs = ParseDescs(doc.at("outputs"));

  const std::string body = MakeBody(o, inputs);
  const Checker checker(o, outputs);

  std::vector<std::unique_ptr<httplib::Client>> clients;
  for (int c = 0; c < o.concurrency; ++c) {
    auto cli = std::make_unique<httplib::Client>(o.host, o.port);
    cli->set_keep_alive(true);
    cli->set_tcp_nodelay(true);
    cli->set_connection_timeout(5);
    cli->set_read_timeout(120);
    cli->set_write_timeout(120);
    clients.push_back(std::move(cli));
  }

  Stats stats;
  if (o.warmup > 0) RunPhase(clients, o.warmup, body, checker, false, stats, o.save_output);
  auto start = std::chrono::steady_clock::now();
  RunPhase(clients, o.requests, body, checker, true, stats,
           o.warmup > 0 ? std::string() : o.save_output);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::vector<double> lat = stats.latencies_ms;
  std::sort(lat.begin(), lat.end());
  double mean = 0;
  for (double v : lat) mean += v / static_cast<double>(lat.size());
  std::printf("model: %s (%s)\n", doc.value("model", std::string()).c_str(),
              inputs.empty() ? "no inputs" : Describe(inputs[0]).c_str());
  std::printf("requests: %lld at concurrency %d over keep-alive connections (+%lld warm-up)\n",
              static_cast<long long>(o.requests), o.concurrency, static_cast<long long>(o.warmup));
  std::printf("errors: %lld%s\n", static_cast<long long>(stats.errors),
              o.expects.empty() ? "" : " (outputs checked against --expect)");
  for (const std::string& e : stats.first_errors) std::printf("  error: %s\n", e.c_str());
  std::printf("throughput: %.1f req/s (%.3f s)\n", static_cast<double>(o.requests) / seconds,
              seconds);
  std::printf("latency (ms): p50 %.3f  p90 %.3f  p99 %.3f  mean %.3f  max %.3f\n",
              Percentile(lat, 50), Percentile(lat, 90), Percentile(lat, 99), mean,
              lat.empty() ? 0.0 : lat.back());
  return stats.errors == 0 ? 0 : 1;
}
