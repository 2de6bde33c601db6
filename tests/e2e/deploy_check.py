#!/usr/bin/python3
"""deploy/ (issue 24) checked without a container runtime or a cluster.

- deploy/Dockerfile: the build stage's CMake options are options of the
  project (CMakeLists.txt) and its targets exist; the ENTRYPOINT is exec-form
  JSON whose flags engine_server accepts (its --help), and the ports it
  passes are the EXPOSEd ones; every Debian package providing a shared
  library that the built engine_server and trtexec_like load (ldd + dpkg -S)
  is installed in the runtime stage: listed, pulled in by a listed package's
  dependencies (apt-cache depends --recurse), or part of the base image
  (libc6, libgcc-s1, libstdc++6); the listed runtime packages exist (apt-cache).
- deploy/servingruntime.yaml, deploy/inferenceservice.yaml (PyYAML): the
  KServe kinds and API versions, the container named kserve-container (the
  name KServe requires), OIP v2 / grpc-v2, the repository at /mnt/models
  (KServe's storage mount), args accepted by engine_server, probes on
  /v2/health/ready and /v2/health/live at the container port, the image
  tag the Dockerfile's comment builds; the InferenceService names that
  runtime and one of its model formats, protocol v2, a storageUri.
Skips WITH A MESSAGE without PyYAML, dpkg or apt-cache.
Usage: deploy_check.py SOURCE_DIR BUILD_DIR
"""
import json
import os
import re
import shutil
import subprocess
import sys

FAILURES = []


def check(cond, what):
    print(("ok: " if cond else "FAILED: ") + what)
    if not cond:
        FAILURES.append(what)


def instructions(path):
    """Dockerfile instructions as (KEYWORD, text), continuation lines joined."""
    out, cur = [], ""
    for line in open(path):
        line = line.rstrip("\n")
        if not cur and (line.strip().startswith("#") or not line.strip()):
            continue
        if line.strip().startswith("#"):
            continue
        cur += line.rstrip("\\").rstrip() + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            word, _, rest = cur.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
            cur = ""
    return out


def stages(instrs):
    """[(FROM text, [instructions])] per build stage."""
    out = []
    for word, text in instrs:
        if word == "FROM":
            out.append((text, []))
        elif out:
            out[-1][1].append((word, text))
    return out


def apt_packages(run_text):
    m = re.search(r"apt-get install -y --no-install-recommends(.*?)(&&|$)", run_text)
    return m.group(1).split() if m else []


def flags_of(args):
    return [a.split("=")[0] for a in args if a.startswith("--")]


def lib_packages(binary):
    """Debian packages providing the shared libraries `binary` loads (one
    dpkg -S call for all of them: a call per library takes a minute)."""
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = re.findall(r"=> (/\S+)", ldd)
    candidates = {lib: {lib, os.path.realpath(lib), "/usr" + lib} for lib in libs}
    every = sorted(set().union(*candidates.values())) if candidates else []
    owners = {}
    out = subprocess.run(["dpkg", "-S"] + every, capture_output=True, text=True).stdout
    for line in out.splitlines():
        pkgs, _, path = line.partition(": ")
        owners[path.strip()] = pkgs.split(":")[0].split(",")[0].strip()
    found = set()
    for lib in libs:
        pkg = next((owners[c] for c in sorted(candidates[lib]) if c in owners), None)
        check(pkg is not None, f"{os.path.basename(binary)}: {lib} belongs to a Debian package")
        if pkg:
            found.add(pkg)
    return found


def main():
    src, build = sys.argv[1], sys.argv[2]
    try:
        import yaml
    except ImportError:
        print("SKIPPED: deploy_check needs PyYAML (python3-yaml)")
        return
    for tool in ("dpkg", "apt-cache", "ldd"):
        if shutil.which(tool) is None:
            print(f"SKIPPED: deploy_check needs {tool} (a Debian system)")
            return
    deploy = os.path.join(src, "deploy")
    dockerfile = os.path.join(deploy, "Dockerfile")
    st = stages(instructions(dockerfile))
    check(len(st) == 2 and all(s[0].startswith("debian:") for s in st),
          f"Dockerfile: two Debian stages ({[s[0] for s in st]})")
    build_runs = " ".join(t for w, t in st[0][1] if w == "RUN")
    runtime_runs = " ".join(t for w, t in st[1][1] if w == "RUN")
    cmake_lists = open(os.path.join(src, "CMakeLists.txt")).read()
    for opt in re.findall(r"-D(ENGINE_\w+)=", build_runs):
        check(re.search(rf"option\({opt}\b", cmake_lists) is not None,
              f"Dockerfile: -D{opt} is an option of CMakeLists.txt")
    for target in re.search(r"--target ([\w ]+?)\s*&&", build_runs).group(1).split():
        check(os.path.exists(os.path.join(build, "bin", target)),
              f"Dockerfile: target {target} exists (built here)")
    server = os.path.join(build, "bin", "engine_server")
    help_text = subprocess.run([server, "--help"], capture_output=True, text=True).stdout + \
        subprocess.run([server, "--help"], capture_output=True, text=True).stderr
    entry = [t for w, t in st[1][1] if w == "ENTRYPOINT"]
    check(len(entry) == 1, "Dockerfile: one ENTRYPOINT in the runtime stage")
    argv = json.loads(entry[0])
    check(argv[0] == "/opt/engine/bin/engine_server" and "install -D /build/bin/engine_server "
          "/opt/engine/bin/engine_server" in build_runs,
          "Dockerfile: the ENTRYPOINT runs the installed engine_server")
    for flag in flags_of(argv[1:]):
        check(flag + "=" in help_text, f"Dockerfile: engine_server accepts {flag}")
    exposed = sorted(" ".join(t for w, t in st[1][1] if w == "EXPOSE").split())
    ports = sorted(a.split("=")[1] for a in argv if a.startswith(("--port=", "--grpc-port=")))
    check(exposed == ports, f"Dockerfile: EXPOSE {exposed} are the ports served {ports}")

    runtime_pkgs = apt_packages(runtime_runs)
    shown = subprocess.run(["apt-cache", "show"] + runtime_pkgs, capture_output=True, text=True)
    known = set(re.findall(r"^Package: (\S+)", shown.stdout, re.M))
    for p in runtime_pkgs:
        check(p in known, f"Dockerfile: runtime package {p} exists in this Debian")
    deps = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                           "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"] +
                          runtime_pkgs, capture_output=True, text=True).stdout
    installed = {l.strip() for l in deps.splitlines() if l and not l.startswith(" ")}
    installed |= set(runtime_pkgs) | {"libc6", "libgcc-s1", "libstdc++6"}
    for binary in ("engine_server", "trtexec_like"):
        for pkg in sorted(lib_packages(os.path.join(build, "bin", binary))):
            check(pkg in installed, f"Dockerfile runtime stage installs {pkg} ({binary} loads it)")

    sr = yaml.safe_load(open(os.path.join(deploy, "servingruntime.yaml")))
    isvc = yaml.safe_load(open(os.path.join(deploy, "inferenceservice.yaml")))
    check(sr.get("apiVersion") == "serving.kserve.io/v1alpha1" and sr.get("kind") == "ServingRuntime",
          "servingruntime.yaml: a serving.kserve.io/v1alpha1 ServingRuntime")
    spec = sr.get("spec", {})
    check({"v2", "grpc-v2"} <= set(spec.get("protocolVersions", [])),
          "ServingRuntime: protocolVersions v2 and grpc-v2")
    containers = spec.get("containers", [])
    check(len(containers) == 1 and containers[0].get("name") == "kserve-container",
          "ServingRuntime: one container named kserve-container")
    c = containers[0] if containers else {}
    args = c.get("args", [])
    check("--model-repository=/mnt/models" in args, "ServingRuntime: repository at /mnt/models")
    for flag in flags_of(args):
        check(flag + "=" in help_text, f"ServingRuntime: engine_server accepts {flag}")
    port = next((int(a.split("=")[1]) for a in args if a.startswith("--port=")), None)
    check(port in [p.get("containerPort") for p in c.get("ports", [])],
          f"ServingRuntime: containerPort is the REST port {port}")
    for probe, path in (("readinessProbe", "/v2/health/ready"), ("livenessProbe", "/v2/health/live")):
        get = c.get(probe, {}).get("httpGet", {})
        check(get.get("path") == path and get.get("port") == port,
              f"ServingRuntime: {probe} GET {path} on port {port}")
    tag = re.search(r"docker build -f deploy/Dockerfile -t (\S+)", open(dockerfile).read())
    check(tag is not None and c.get("image") == tag.group(1),
          f"ServingRuntime: image {c.get('image')} is the Dockerfile's tag")
    formats = [f.get("name") for f in spec.get("supportedModelFormats", [])]
    check(isvc.get("apiVersion") == "serving.kserve.io/v1beta1" and
          isvc.get("kind") == "InferenceService",
          "inferenceservice.yaml: a serving.kserve.io/v1beta1 InferenceService")
    model = isvc.get("spec", {}).get("predictor", {}).get("model", {})
    check(model.get("runtime") == sr.get("metadata", {}).get("name"),
          "InferenceService: runtime is the ServingRuntime's name")
    check(model.get("modelFormat", {}).get("name") in formats,
          "InferenceService: modelFormat is one the runtime supports")
    check(model.get("protocolVersion") == "v2", "InferenceService: protocolVersion v2")
    check(re.match(r"^(pvc|s3|gs|https?)://\S+", model.get("storageUri", "")) is not None,
          "InferenceService: a storageUri")
    if FAILURES:
        print(f"{len(FAILURES)} check(s) FAILED")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
