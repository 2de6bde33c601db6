#include "serving/repository.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "serving/json_util.h"

namespace engine::serving {
namespace {

namespace fs = std::filesystem;

// Largest config.json read, bytes.
constexpr uintmax_t kMaxConfigBytes = 1 << 20;

absl::StatusOr<ModelConfig> ReadConfig(const fs::path& dir) {
  const fs::path path = dir / "config.json";
  std::error_code ec;
  if (!fs::exists(path, ec)) return ModelConfig{};
  uintmax_t size = fs::file_size(path, ec);
  if (ec || size > kMaxConfigBytes) {
    return absl::InvalidArgumentError(path.string() + ": unreadable or larger than 1 MiB");
  }
  std::ifstream f(path, std::ios::binary);
  std::stringstream text;
  text << f.rdbuf();
  if (!f) return absl::InvalidArgumentError(path.string() + ": cannot be read");
  return ParseModelConfig(text.str(), path.string());
}

// A version directory name: 1..18 decimal digits.
bool IsVersion(const std::string& s) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

bool IsValidModelName(std::string_view name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '.' || c == '-')) {
      return false;
    }
  }
  return true;
}

ModelRepository::ModelRepository(std::string root, LoadOptions options)
    : root_(std::move(root)), options_(options) {}

ModelRepository::~ModelRepository() { StopAll(); }

absl::Status ModelRepository::LoadAll() {
  std::error_code ec;
  fs::directory_iterator it(root_, ec);
  if (ec) {
    return absl::NotFoundError("model repository '" + root_ + "' is not a readable directory: " +
                               ec.message());
  }
  std::vector<std::string> names;
  for (const fs::directory_entry& e : it) {
    const std::string name = e.path().filename().string();
    if (e.is_directory(ec) && IsValidModelName(name)) names.push_back(name);
  }
  for (const std::string& name : names) {
    absl::Status s = Load(name);  // a failed model stays listed, not ready
    (void)s;
  }
  return absl::OkStatus();
}

absl::Status ModelRepository::Load(std::string_view name_view) {
  const std::string name(name_view);
  if (!IsValidModelName(name)) {
    std::string message = "model name '";
    message += Printable(name);
    message += "' is not [A-Za-z0-9_.-], 1 to 128 bytes, not starting with '.'";
    return absl::InvalidArgumentError(message);
  }
  const fs::path dir = fs::path(root_) / name;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError("no model directory '" + dir.string() + "' in the repository");
  }
  const absl::StatusOr<ModelConfig> config = ReadConfig(dir);
  std::map<int64_t, std::shared_ptr<ServedModel>> versions;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string v = e.path().filename().string();
    if (!IsVersion(v) || !e.is_directory(ec)) continue;
    versions[std::stoll(v)] = ServedModel::Load(name, std::to_string(std::stoll(v)),
                                                (e.path() / "model.plan").string(), config,
                                                options_);
  }
  if (versions.empty()) {
    return absl::NotFoundError("model directory '" + dir.string() +
                               "' has no version directory (<model>/<number>/model.plan)");
  }
  std::string reasons;
  bool any_ready = false;
  for (const auto& [v, m] : versions) {
    any_ready = any_ready || m->ready();
    if (!m->ready()) reasons += (reasons.empty() ? "" : "; ") + ("version " + m->version() + ": " + m->reason());
  }
  std::map<int64_t, std::shared_ptr<ServedModel>> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old = std::move(models_[name]);
    models_[name] = std::move(versions);
  }
  for (auto& [v, m] : old) m->Stop();  // drains; requests holding it finish
  if (!any_ready) {
    return absl::FailedPreconditionError("model '" + name + "' loaded but no version is ready: " +
                                         reasons);
  }
  return absl::OkStatus();
}

absl::Status ModelRepository::Unload(std::string_view name) {
  std::map<int64_t, std::shared_ptr<ServedModel>> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = models_.find(std::string(name));
    if (it == models_.end()) {
      return absl::NotFoundError("model '" + Printable(name) + "' is not loaded");
    }
    old = std::move(it->second);
    models_.erase(it);
  }
  for (auto& [v, m] : old) m->Stop();
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<ServedModel>> ModelRepository::Find(std::string_view name,
                                                                   std::string_view version) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = models_.find(std::string(name));
  if (it == models_.end() || it->second.empty()) {
    return absl::NotFoundError("unknown model '" + Printable(name) + "'");
  }
  const auto& versions = it->second;
  if (version.empty()) {
    for (auto v = versions.rbegin(); v != versions.rend(); ++v) {
      if (v->second->ready()) return v->second;
    }
    return versions.rbegin()->second;
  }
  if (IsVersion(std::string(version))) {
    auto v = versions.find(std::stoll(std::string(version)));
    if (v != versions.end()) return v->second;
  }
  return absl::NotFoundError("model '" + Printable(name) + "' has no version '" +
                             Printable(version, 24) + "'");
}

std::vector<std::shared_ptr<ServedModel>> ModelRepository::All() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<ServedModel>> all;
  for (const auto& [name, versions] : models_) {
    for (const auto& [v, m] : versions) all.push_back(m);
  }
  return all;
}

void ModelRepository::StopAll() {
  for (const std::shared_ptr<ServedModel>& m : All()) m->Stop();
}

}  // namespace engine::serving
