#!/usr/bin/env bash
# Runs part of the test suite under sanitizers, each stage in its own build
# directory, building only the test binaries it runs:
#   asan  build-asan/  -fsanitize=address,undefined  executor, kernels, parser, codegen and
#                      ops tests (the whole binaries; ops_test loads the misbehaving
#                      plugin of tests/plugins through the plugin ABI)
#   tsan  build-tsan/  -fsanitize=thread             the executor's concurrency and
#                      thread pool tests (with Enqueue's worker thread and the
#                      busy-context checks of bind_enqueue_test.cc), the kernels'
#                      intra-op parallelism tests
# Both are -O1 with line tables and assertions on. Any sanitizer report fails the stage
# (halt_on_error, no recovery), and so does a failing test. Prints each
# stage's build and test times.
#
# Environment:
#   ENGINE_SKIP_SANITIZERS=1  do nothing (exit 0)
#   SANITIZERS="asan tsan"    the stages to run
#   SANITIZER_CXX=clang++     compiler: clang++ (default when installed: compiles the
#                             sanitized build about twice as fast as g++) or g++ (whose
#                             UBSan also checks memcpy's nonnull arguments). Either way
#                             -ffp-contract=off, as g++ -std=c++20 in the main build, so
#                             bit-exact tests see the same floating-point operations.
#   JOBS=$(nproc)             build parallelism
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ "${ENGINE_SKIP_SANITIZERS:-0}" = "1" ]; then
  echo "[sanitizers] SKIPPED: ENGINE_SKIP_SANITIZERS=1"
  exit 0
fi
STAGES=${SANITIZERS:-asan tsan}
JOBS=${JOBS:-$(nproc)}
if [ -z "${SANITIZER_CXX:-}" ]; then
  if command -v clang++ >/dev/null 2>&1; then SANITIZER_CXX=clang++; else SANITIZER_CXX=g++; fi
fi
# Line tables are enough for the sanitizers' stack traces and much cheaper than -g.
case "$SANITIZER_CXX" in
  *clang*) SANITIZER_CC=${SANITIZER_CXX/clang++/clang}; DEBUG_FLAGS="-O1 -gline-tables-only" ;;
  *) SANITIZER_CC=${SANITIZER_CXX/g++/gcc}; DEBUG_FLAGS="-O1 -g1" ;;
esac

# configure <dir> <sanitizer flags>
configure() {
  local dir=$1 flags=$2
  local stamp="$SANITIZER_CXX $flags $DEBUG_FLAGS"
  if [ -f "$dir/build.ninja" ] && [ "$(cat "$dir/.sanitizer-config" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  rm -rf "$dir"  # first run, or another compiler or flags
  mkdir -p "$dir"
  # Debug with -O1: assertions on; -O1 keeps the tests' run time reasonable.
  CC=$SANITIZER_CC CXX=$SANITIZER_CXX cmake -S "$ROOT" -B "$dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="$DEBUG_FLAGS" \
    -DCMAKE_CXX_FLAGS="$flags -fno-omit-frame-pointer -ffp-contract=off" \
    -DCMAKE_EXE_LINKER_FLAGS="$flags" >"$dir/configure.log" 2>&1 || {
      cat "$dir/configure.log"; rm -f "$dir/build.ninja"; return 1; }
  echo "$stamp" >"$dir/.sanitizer-config"
}

# build <dir> <targets...>
build() {
  local dir=$1; shift
  cmake --build "$dir" -j "$JOBS" --target "$@" >"$dir/build.log" 2>&1 || {
    tail -60 "$dir/build.log"; return 1; }
}

# run_test <label> <command...>: runs a Catch2 binary, prints its summary line.
run_test() {
  local label=$1; shift
  local log
  log=$(mktemp)
  local t0=$SECONDS
  if "$@" >"$log" 2>&1; then
    echo "[sanitizers]   $label: $(grep -E '^(All tests passed|test cases:)' "$log" | tail -1) ($((SECONDS - t0)) s)"
    rm -f "$log"
    return 0
  fi
  echo "[sanitizers]   $label: FAILED ($((SECONDS - t0)) s)"
  grep -E -B2 -A40 'ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error|FAILED' "$log" | head -120
  tail -5 "$log"
  rm -f "$log"
  return 1
}

failed=0
for stage in $STAGES; do
  t0=$SECONDS
  case "$stage" in
    asan)
      dir="$ROOT/build-asan"
      flags="-fsanitize=address,undefined -fno-sanitize-recover=all"
      targets=(executor_test kernels_test parser_test codegen_test ops_test)
      ;;
    tsan)
      dir="$ROOT/build-tsan"
      flags="-fsanitize=thread"
      targets=(executor_test kernels_test)
      ;;
    *) echo "[sanitizers] unknown stage '$stage'"; exit 2 ;;
  esac
  echo "[sanitizers] $stage: building ${targets[*]} in $dir ($SANITIZER_CXX, $flags, -O1)"
  if ! configure "$dir" "$flags" || ! build "$dir" "${targets[@]}"; then
    echo "[sanitizers] $stage: FAILED: build"
    failed=1
    continue
  fi
  t_build=$((SECONDS - t0))
  echo "[sanitizers] $stage: build $t_build s"
  ok=1
  case "$stage" in
    asan)
      export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1"
      export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
      for t in "${targets[@]}"; do
        run_test "$t" "$dir/bin/$t" || ok=0
      done
      unset ASAN_OPTIONS UBSAN_OPTIONS
      ;;
    tsan)
      export TSAN_OPTIONS="halt_on_error=1:abort_on_error=1:second_deadlock_stack=1"
      run_test "executor_test [concurrency],[pool]" "$dir/bin/executor_test" "[concurrency],[pool]" || ok=0
      run_test "kernels_test [parallel]" "$dir/bin/kernels_test" "[parallel]" || ok=0
      unset TSAN_OPTIONS
      ;;
  esac
  if [ $ok -eq 1 ]; then
    echo "[sanitizers] $stage: PASSED (build $t_build s, tests $((SECONDS - t0 - t_build)) s)"
  else
    echo "[sanitizers] $stage: FAILED (build $t_build s, tests $((SECONDS - t0 - t_build)) s)"
    failed=1
  fi
done
exit $failed
