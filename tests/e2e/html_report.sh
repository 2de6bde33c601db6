#!/usr/bin/env bash
# `trtexec_like compare A B --html=page.html` rendered by headless Chromium:
# two reports of the generated tiny_cnn (models/generate.py) built and run for
# two --hw configurations (edge, and edge with a 16x16 array), compared with
# --html; then
#  - the DOM Chromium builds (--dump-dom) must hold exactly the three chart
#    <svg> elements, each with non-empty <rect> elements (and the host chart
#    one median <path> per report), the report names, the summary rows and one
#    per-layer row per layer group of `compare --json`;
#  - the page must be self-contained (no script, link or http(s) reference);
#  - a 1280x2000 screenshot must not be blank: it is decoded (zlib + PNG
#    filters, numpy) and must show ink and the charts' colours, and must be
#    much larger than the screenshot of a blank page.
# Usage: html_report.sh <source dir> <build dir>
# Chromium (Debian package `chromium`) is required; scripts/setup.sh installs
# it. Without it the test fails, unless ENGINE_SKIP_CHROMIUM=1 is set: then it
# prints SKIPPED and passes.
set -euo pipefail
SRC=$1
BUILD=$2
BIN=$BUILD/bin/trtexec_like
WORK=$BUILD/test_work/html_report
rm -rf "$WORK"
mkdir -p "$WORK"

CHROMIUM=""
for c in chromium chromium-browser; do
  if command -v "$c" >/dev/null 2>&1; then CHROMIUM=$(command -v "$c"); break; fi
done
if [ -z "$CHROMIUM" ]; then
  if [ "${ENGINE_SKIP_CHROMIUM:-}" = 1 ]; then
    echo "SKIPPED: chromium is not installed (ENGINE_SKIP_CHROMIUM=1)"
    exit 0
  fi
  echo "FAILED: chromium is not installed: this test renders the compare --html page with" \
       "headless Chromium. Run scripts/setup.sh (installs Debian's 'chromium' package), or set" \
       "ENGINE_SKIP_CHROMIUM=1 to skip it explicitly." >&2
  exit 1
fi
[ -x "$BIN" ] || { echo "FAILED: $BIN is not built" >&2; exit 1; }

# Headless Chromium in a private profile (no ~/.config writes); --no-sandbox
# because tests may run as root.
chrome() {
  timeout 180 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --hide-scrollbars --user-data-dir="$WORK/profile" "$@" 2>>"$WORK/chromium.log"
}

/usr/bin/python3 "$SRC/models/generate.py" --out "$WORK/models" tiny_cnn >"$WORK/generate.log"
MODEL=$WORK/models/tiny_cnn.onnx
RUN="--iterations=20 --duration=0 --warmUp=0"
"$BIN" --onnx="$MODEL" --hw=edge $RUN --exportReport="$WORK/edge.json" >"$WORK/edge.log" 2>&1 ||
  { cat "$WORK/edge.log"; exit 1; }
"$BIN" --onnx="$MODEL" --hw=edge,array=16x16 $RUN --exportReport="$WORK/edge_16x16.json" \
  >"$WORK/edge_16x16.log" 2>&1 || { cat "$WORK/edge_16x16.log"; exit 1; }
"$BIN" compare "$WORK/edge.json" "$WORK/edge_16x16.json" --html="$WORK/page.html" \
  --json="$WORK/cmp.json" >"$WORK/compare.log" 2>&1 || { cat "$WORK/compare.log"; exit 1; }
grep -q "HTML comparison written to $WORK/page.html" "$WORK/compare.log"
# Host per-layer times next to the modeled ones (both reports ran inference).
grep -q "\[1\] host ms.*\[2\] host ms" "$WORK/compare.log" ||
  { echo "FAILED: no host per-layer columns in compare" >&2; cat "$WORK/compare.log"; exit 1; }
grep -q "\[2\] host ms</th>" "$WORK/page.html" ||
  { echo "FAILED: no host per-layer columns in the HTML page" >&2; exit 1; }
# The run's log ends with the summary, just before the PASSED line.
tail -n 5 "$WORK/edge.log" | grep -q "^Modeled device (edge): latency" ||
  { echo "FAILED: the log does not end with the summary" >&2; tail -n 8 "$WORK/edge.log"; exit 1; }
tail -n 1 "$WORK/edge.log" | grep -q "^&&&& PASSED" || { echo "FAILED: last line" >&2; exit 1; }
[ ! -e "$WORK/page.html.tmp" ] || { echo "FAILED: page.html.tmp left behind" >&2; exit 1; }

chrome --dump-dom "file://$WORK/page.html" >"$WORK/dom.html"
echo '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body></body></html>' >"$WORK/blank.html"
chrome --screenshot="$WORK/shot.png" --window-size=1280,2000 "file://$WORK/page.html" >/dev/null
chrome --screenshot="$WORK/blank.png" --window-size=1280,2000 "file://$WORK/blank.html" >/dev/null

/usr/bin/python3 - "$WORK" <<'EOF'
import json, re, struct, sys, zlib
import numpy as np

work = sys.argv[1]
failures = []
def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)

page = open(f"{work}/page.html", encoding="utf-8").read()
dom = open(f"{work}/dom.html", encoding="utf-8").read()
cmp = json.load(open(f"{work}/cmp.json"))

# Self-contained: nothing to fetch, nothing to run.
check(not re.search(r"https?://", page), "page references no http(s) URL")
check("<script" not in page.lower() and "<link" not in page.lower(), "page has no <script>/<link>")

# The DOM Chromium built: three chart SVGs, nothing else drawn as SVG.
svgs = re.findall(r"<svg\b([^>]*)>(.*?)</svg>", dom, re.S)
check(len(svgs) == 3, f"3 <svg> elements in the DOM (found {len(svgs)})")
charts = {}
for attrs, body in svgs:
    m = re.search(r'id="([^"]+)"', attrs)
    check('class="chart"' in attrs and m is not None, "every <svg> is a chart with an id")
    if m:
        charts[m.group(1)] = body
check(sorted(charts) == ["chart-energy", "chart-host", "chart-layers"],
      f"charts: layers, host, energy (found {sorted(charts)})")

def rects(body, cls=None):
    out = []
    for a in re.findall(r"<rect\b([^>]*)>", body):
        if cls is not None and f'class="{cls}"' not in a:
            continue
        w = float(re.search(r'width="([^"]+)"', a).group(1))
        h = float(re.search(r'height="([^"]+)"', a).group(1))
        out.append((w, h))
    return out

for name, body in charts.items():
    rs = rects(body)
    check(len(rs) > 0 and all(w > 0 and h > 0 for w, h in rs),
          f"{name}: {len(rs)} <rect> elements, all non-empty")
    check(len(re.findall(r"<text\b", body)) > 0, f"{name}: has text")

n_reports = len(cmp["reports"])
layers_body = charts.get("chart-layers", "")
segs = rects(layers_body, "seg")
swatches = rects(layers_body, "swatch")
# Every report's bar has at least two layer segments; every legend entry has a swatch.
check(len(segs) >= 2 * n_reports, f"chart-layers: {len(segs)} bar segments for {n_reports} reports")
check(2 <= len(swatches) <= 11, f"chart-layers: {len(swatches)} legend swatches (top layers + other)")
host_body = charts.get("chart-host", "")
check(len(rects(host_body, "range")) == n_reports, "chart-host: one min..max range per report")
check(len(rects(host_body, "box")) == n_reports, "chart-host: one percentile box per report")
paths = re.findall(r'<path\b[^>]*\bd="([^"]*)"', host_body)
check(len(paths) == n_reports and all(len(d) > 10 for d in paths),
      f"chart-host: one non-empty median <path> per report (found {len(paths)})")
energy_segs = rects(charts.get("chart-energy", ""), "seg")
check(len(energy_segs) >= 2 * n_reports, f"chart-energy: {len(energy_segs)} bar segments")

# Names, tables.
for label in ("[1] edge.json", "[2] edge_16x16.json"):
    check(label in dom, f"report label {label!r} in the DOM")
check(len(re.findall(r'<tr class="report"', dom)) == n_reports, "one summary row per report")
layer_rows = len(re.findall(r'<tr class="layer ', dom))
check(layer_rows == len(cmp["layers"]) and layer_rows > 0,
      f"{layer_rows} per-layer rows == {len(cmp['layers'])} layer groups of --json")
first = cmp["layers"][0]["reports"][0]["layers"][0]
check(first.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in dom,
      f"largest-difference layer {first!r} in the DOM")
check('id="warnings"' in dom and dom.index('id="warnings"') < dom.index('id="summary"'),
      "warnings section before the summary")

# Screenshot: decode the PNG.
def read_png(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if ctype == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", chunk)
        elif ctype == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, color, _, _, interlace = ihdr
    assert depth == 8 and interlace == 0 and color in (2, 6), f"unsupported PNG {ihdr}"
    bpp = 3 if color == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8)
    stride = width * bpp
    raw = raw.reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        f, line = raw[y, 0], raw[y, 1:]
        if f == 0:
            cur = line.copy()
        elif f == 1:
            cur = (np.cumsum(line.reshape(width, bpp).astype(np.int64), axis=0) % 256) \
                .astype(np.uint8).reshape(stride)
        elif f == 2:
            cur = (line.astype(np.uint16) + prev).astype(np.uint8)
        else:
            l, p, c = line.tolist(), prev.tolist(), [0] * stride
            for i in range(stride):
                a = c[i - bpp] if i >= bpp else 0
                b = p[i]
                if f == 3:
                    c[i] = (l[i] + ((a + b) >> 1)) & 255
                else:
                    cc = p[i - bpp] if i >= bpp else 0
                    pa, pb, pc = abs(b - cc), abs(a - cc), abs(a + b - 2 * cc)
                    pr = a if pa <= pb and pa <= pc else (b if pb <= pc else cc)
                    c[i] = (l[i] + pr) & 255
            cur = np.array(c, dtype=np.uint8)
        out[y] = cur
        prev = cur
    return out.reshape(height, width, bpp)[:, :, :3]

img = read_png(f"{work}/shot.png")
h, w, _ = img.shape
check((w, h) == (1280, 2000), f"screenshot is 1280x2000 (got {w}x{h})")
flat = img.reshape(-1, 3).astype(np.int32)
ink = np.mean(np.any(flat < 230, axis=1))
check(ink > 0.02, f"screenshot has ink: {100 * ink:.1f}% of pixels are not near-white")
colors = len(np.unique(flat[:, 0] * 65536 + flat[:, 1] * 256 + flat[:, 2]))
check(colors > 20, f"screenshot has {colors} distinct colours")
# The first chart colours (Tableau 10: #4e79a7, #f28e2b, #e15759) fill bar segments.
for hexc in ("4e79a7", "f28e2b", "e15759"):
    rgb = np.array([int(hexc[i:i + 2], 16) for i in (0, 2, 4)])
    n = int(np.sum(np.all(np.abs(flat - rgb) <= 3, axis=1)))
    check(n >= 200, f"chart colour #{hexc} covers {n} pixels")
import os
shot, blank = os.path.getsize(f"{work}/shot.png"), os.path.getsize(f"{work}/blank.png")
check(shot > 3 * blank, f"screenshot ({shot} bytes) is much larger than a blank page's ({blank})")

if failures:
    print(f"FAILED: {len(failures)} checks; files in {work}")
    sys.exit(1)
print(f"PASSED: compare --html page rendered by headless Chromium; files in {work}")
EOF
