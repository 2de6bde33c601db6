#!/usr/bin/env bash
# Scale-out (issue 24), short version of bench/scale_out.sh: three
# engine_server replicas sharing one model repository behind HAProxy, 8
# closed-loop clients sending mnist-8 JSON requests for 4 s with retries (at
# most 3 attempts), replica 2 SIGKILLed at 2 s. Asserts:
#   - no request is lost (lost=0);
#   - at most one retried request per client (only those in flight on the
#     killed replica, plus one per client for a connection HAProxy had
#     already routed there before its health check marked it down);
#   - requests keep being answered after the kill, and the two surviving
#     replicas each served some (their /metrics).
# Skips WITH A MESSAGE when haproxy (Debian package, scripts/setup.sh) or
# mnist-8 (/work/shared) is absent.
# Usage: scale_out_haproxy.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
SRC="$1"
BUILD="$2"
CONCURRENCY=8
if ! command -v haproxy >/dev/null; then
  echo "SKIPPED: e2e/scale_out_haproxy needs haproxy (apt-get install haproxy; scripts/setup.sh)"
  exit 0
fi
if [ ! -f "$SRC/../shared/models/mnist/mnist-8.onnx" ]; then
  echo "SKIPPED: e2e/scale_out_haproxy needs $SRC/../shared/models/mnist/mnist-8.onnx"
  exit 0
fi
OUT="$(BUILD_DIR="$BUILD" DURATION=4 CONCURRENCY=$CONCURRENCY bash "$SRC/bench/scale_out.sh" 2>&1)" || {
  echo "$OUT"
  echo "FAIL: bench/scale_out.sh failed"
  exit 1
}
echo "$OUT"
fail() { echo "FAIL: $*"; exit 1; }
grep -q '^\[load\] killed replica pid' <<<"$OUT" || fail "replica 2 was not killed"
totals="$(grep '^\[load\] totals' <<<"$OUT")" || fail "no totals line"
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$totals"; }
ok="$(field ok)"; retried="$(field retried)"; lost="$(field lost)"; ok_after="$(field ok_after)"
[ "$lost" -eq 0 ] || fail "$lost requests lost (failed 3 attempts)"
[ "$retried" -le "$CONCURRENCY" ] ||
  fail "$retried requests retried: more than the $CONCURRENCY that can be in flight on the killed replica"
[ "$ok_after" -gt 0 ] || fail "no request answered after the kill"
for i in 1 3; do
  n="$(sed -n "s/^replica $i served \([0-9]*\) requests.*/\1/p" <<<"$OUT")"
  [ -n "$n" ] && [ "$n" -gt 0 ] || fail "surviving replica $i served no request ('$n')"
done
echo "PASS: $ok answered, $retried retried, 0 lost; $ok_after answered by the 2 surviving replicas"
