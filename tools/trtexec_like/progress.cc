#include "progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace trtexec_like {

ProgressBar::ProgressBar(std::string label, int64_t total)
    : label_(std::move(label)), total_(total) {
  const char* term = std::getenv("TERM");
  enabled_ = isatty(STDERR_FILENO) == 1 && !(term != nullptr && std::strcmp(term, "dumb") == 0);
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(int64_t done, int64_t total) {
  done_ = done;
  if (total >= 0) total_ = total;
  if (!enabled_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100) && (total_ == 0 || done_ < total_)) return;
  last_draw_ = now;
  Draw();
}

void ProgressBar::Draw() {
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (total_ > 0) {
    constexpr int kWidth = 30;
    const double f = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
    const int filled = static_cast<int>(f * kWidth);
    char bar[kWidth + 1];
    for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '#' : '.';
    bar[kWidth] = '\0';
    const double eta = f > 0 ? s * (1 - f) / f : 0;
    std::fprintf(stderr, "\r[%s] [%s] %3.0f%% %lld/%lld  %.1fs, eta %.1fs ", label_.c_str(), bar,
                 100 * f, static_cast<long long>(done_), static_cast<long long>(total_), s, eta);
  } else {
    std::fprintf(stderr, "\r[%s] %lld  %.1fs ", label_.c_str(), static_cast<long long>(done_), s);
  }
  std::fflush(stderr);
}

void ProgressBar::Finish() {
  if (finished_) return;
  finished_ = true;
  if (!enabled_) return;
  Draw();
  std::fprintf(stderr, "\n");
}

}  // namespace trtexec_like
