#!/usr/bin/python3
"""Self-test of check_deps.py: it passes on the project as it is, and on a
copy of src/ and include/ with one violation injected it fails, naming the
file and the include or link.

Usage: /usr/bin/python3 tests/architecture/check_deps_test.py SOURCE_DIR
"""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check_deps.py")


def run(root):
    p = subprocess.run([sys.executable, CHECK, root], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def append(path, text):
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


def replace(path, old, new):
    with open(path, encoding="utf-8") as f:
        s = f.read()
    assert old in s, f"{path}: '{old}' not found (update this test)"
    with open(path, "w", encoding="utf-8") as f:
        f.write(s.replace(old, new, 1))


# (what, mutation(root), strings the output must contain)
CASES = [
    ("kernels including the executor",
     lambda r: append(os.path.join(r, "src/kernels/conv.cc"), '\n#include "executor/plan_reader.h"\n'),
     ["src/kernels/conv.cc:", '#include "executor/plan_reader.h"', "module kernels may not depend on executor"]),
    ("ir including a public header the executor implements",
     lambda r: append(os.path.join(r, "src/ir/graph.cc"), '\n#include "engine/runtime.h"\n'),
     ["src/ir/graph.cc:", '#include "engine/runtime.h"', "implemented by src/executor/"]),
    ("builder including the executor",
     lambda r: append(os.path.join(r, "src/builder/int8_phase.cc"), '\n#include "executor/engine_impl.h"\n'),
     ["src/builder/int8_phase.cc:", "module builder may not depend on executor"]),
    ("a forbidden CMake link",
     lambda r: append(os.path.join(r, "src/hw/CMakeLists.txt"),
                      "\ntarget_link_libraries(engine_hw PRIVATE engine_ir)\n"),
     ["src/hw/CMakeLists.txt", "engine_hw links engine_ir", "may not depend on ir"]),
    ("a header dependency linked PRIVATE",
     lambda r: replace(os.path.join(r, "src/builder/CMakeLists.txt"),
                       "PUBLIC engine_common engine_hw engine_ir engine_kernels",
                       "PUBLIC engine_common engine_hw engine_ir PRIVATE engine_kernels"),
     ["src/builder/CMakeLists.txt", "include kernels/", "PUBLIC"]),
    ("a link nothing includes",
     lambda r: append(os.path.join(r, "src/codegen/CMakeLists.txt"),
                      "\ntarget_link_libraries(engine_codegen PRIVATE engine_kernels)\n"),
     ["src/codegen/CMakeLists.txt", "links kernels but src/codegen/ does not include it"]),
    ("a public header without its .cc",
     lambda r: append(os.path.join(r, "include/engine/widget.h"), "#pragma once\n"),
     ["include/engine/widget.h", "no src/<module>/widget.cc"]),
    ("a public header's function defined elsewhere",
     lambda r: append(os.path.join(r, "src/hw/systolic.cc"),
                      '\nnamespace engine {\n\nconst char* DataTypeName(DataType t) {\n  return "";\n}\n\n'
                      "}  // namespace engine\n"),
     ["src/hw/systolic.cc:", "defines DataTypeName of include/engine/types.h", "src/common/types.cc"]),
    ("a public class member defined elsewhere",
     lambda r: append(os.path.join(r, "src/executor/plan_reader.cc"),
                      "\nnamespace engine {\n\nint Engine::Extra() const {\n  return 0;\n}\n\n"
                      "}  // namespace engine\n"),
     ["src/executor/plan_reader.cc:", "defines Engine::Extra of include/engine/runtime.h"]),
]


def main(argv):
    source = os.path.abspath(argv[1] if len(argv) > 1 else os.path.join(HERE, "..", ".."))
    failures = 0
    code, out = run(source)
    if code != 0:
        print(f"FAIL: check_deps.py fails on the project itself:\n{out}")
        failures += 1
    for what, mutate, expected in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            for d in ("src", "include"):
                shutil.copytree(os.path.join(source, d), os.path.join(tmp, d))
            mutate(tmp)
            code, out = run(tmp)
            missing = [e for e in expected if e not in out]
            if code != 1 or missing:
                print(f"FAIL: {what}: exit {code}, missing {missing} in:\n{out}")
                failures += 1
            else:
                print(f"ok: {what}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
