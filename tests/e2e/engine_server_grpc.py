#!/usr/bin/python3
"""engine_server's Open Inference Protocol gRPC endpoint with a client the
project did not write: Python grpcio (Debian python3-grpcio) with stubs
generated here from src/serving/grpc_predict_v2.proto by protoc's Python and
gRPC plugins (protobuf-compiler, protobuf-compiler-grpc).

Repository: dyn/1 (a generated Conv-Relu-Flatten-Gemm model, plan over batch
1..8, dynamic batching) and corrupt/1 (the same plan, one byte flipped).
Checks: ServerLive, ServerReady, ServerMetadata, ModelMetadata, ModelReady
(false for the corrupt plan), ModelInfer with typed contents and with
raw_input_contents equal to `trtexec_like --exportOutput`, concurrent calls
batched, and the error statuses: NOT_FOUND (model, version),
INVALID_ARGUMENT (input name, datatype, element count, raw entry count and
size, batch too large, output name), FAILED_PRECONDITION (not ready); the
model repository extension (RepositoryIndex with and without ready=true,
RepositoryModelUnload then ModelInfer NOT_FOUND, RepositoryModelLoad then
ModelInfer equal to the reference, and their errors: unknown model or
repository, a model with no ready version, a bad name, load parameters).
Skips WITH A MESSAGE when grpcio, the plugin or a gRPC build is missing.

Usage: engine_server_grpc.py SOURCE_DIR BUILD_DIR
"""
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

SRC, BUILD = sys.argv[1], sys.argv[2]
TRT = os.path.join(BUILD, "bin", "trtexec_like")
SERVER = os.path.join(BUILD, "bin", "engine_server")
PROTO_DIR = os.path.join(SRC, "src", "serving")

try:
    import grpc
    import numpy as np
except ImportError as e:
    print(f"SKIPPED: engine_server_grpc needs python3-grpcio and numpy ({e})")
    sys.exit(0)
PLUGIN = shutil.which("grpc_python_plugin")
if PLUGIN is None or shutil.which("protoc") is None:
    print("SKIPPED: engine_server_grpc needs protoc and grpc_python_plugin "
          "(protobuf-compiler, protobuf-compiler-grpc)")
    sys.exit(0)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import engine_server_oip as rest  # the model generator and the reference runner

FAILURES = []


def check(cond, what):
    print(("ok: " if cond else "FAILED: ") + what)
    if not cond:
        FAILURES.append(what)


def main():
    work = tempfile.mkdtemp(prefix="engine_server_grpc.")
    server = None
    try:
        subprocess.run(["protoc", f"--proto_path={PROTO_DIR}", f"--python_out={work}",
                        f"--grpc_python_out={work}", f"--plugin=protoc-gen-grpc_python={PLUGIN}",
                        "grpc_predict_v2.proto"], check=True)
        sys.path.insert(0, work)
        pb = importlib.import_module("grpc_predict_v2_pb2")
        pb_grpc = importlib.import_module("grpc_predict_v2_pb2_grpc")

        repo = os.path.join(work, "repo")
        onnx_path = os.path.join(work, "dyn.onnx")
        rest.dyn_model(onnx_path)
        plan = os.path.join(work, "dyn.plan")
        rest.run([TRT, f"--onnx={onnx_path}", "--minShapes=x:1x1x8x8", "--optShapes=x:4x1x8x8",
                  "--maxShapes=x:8x1x8x8", "--shapeBuckets=3", f"--saveEngine={plan}",
                  "--skipInference"])
        for name in ("dyn", "corrupt"):
            os.makedirs(os.path.join(repo, name, "1"))
            shutil.copy(plan, os.path.join(repo, name, "1", "model.plan"))
            with open(os.path.join(repo, name, "config.json"), "w") as f:
                f.write('{"max_batch_size": 8, "threads": 1, '
                        '"dynamic_batching": {"max_queue_delay_us": 20000}}')
        with open(os.path.join(repo, "corrupt", "1", "model.plan"), "r+b") as f:
            f.seek(os.path.getsize(plan) // 2)
            b = f.read(1)
            f.seek(-1, 1)
            f.write(bytes([b[0] ^ 0x5A]))
        rng = np.random.default_rng(3)
        x8 = rng.standard_normal((8, 1, 8, 8)).astype(np.float32)
        ref8 = rest.reference(plan, "x", x8, work, "g8", "x:8x1x8x8")["y"]
        x2 = x8[:2].copy()
        ref2 = rest.reference(plan, "x", x2, work, "g2", "x:2x1x8x8")["y"]

        log = open(os.path.join(work, "server.log"), "w+")
        server = subprocess.Popen([SERVER, f"--model-repository={repo}", "--port=0",
                                   "--grpc-port=0"], stdout=log, stderr=subprocess.STDOUT)
        port = None
        for _ in range(300):
            log.seek(0)
            text = log.read()
            if "built without gRPC" in text:
                print("SKIPPED: engine_server was built without gRPC (libgrpc++-dev missing at "
                      "configure time)")
                return
            if "gRPC listening on 127.0.0.1:" in text:
                port = int(text.split("gRPC listening on 127.0.0.1:")[1].split()[0])
                break
            if server.poll() is not None:
                sys.exit("FAILED: server exited:\n" + text)
            time.sleep(0.1)
        if port is None:
            sys.exit("FAILED: no gRPC port:\n" + text)
        print(text)
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        stub = pb_grpc.GRPCInferenceServiceStub(channel)

        check(stub.ServerLive(pb.ServerLiveRequest()).live, "ServerLive")
        check(stub.ServerReady(pb.ServerReadyRequest()).ready, "ServerReady")
        meta = stub.ServerMetadata(pb.ServerMetadataRequest())
        check(meta.name == "engine_server" and meta.version != "", f"ServerMetadata {meta.name} {meta.version}")
        mm = stub.ModelMetadata(pb.ModelMetadataRequest(name="dyn"))
        check(mm.name == "dyn" and list(mm.versions) == ["1"] and
              [(t.name, t.datatype, list(t.shape)) for t in mm.inputs] == [("x", "FP32", [-1, 1, 8, 8])] and
              [(t.name, t.datatype, list(t.shape)) for t in mm.outputs] == [("y", "FP32", [-1, 10])],
              f"ModelMetadata dyn: {mm}")
        check(stub.ModelReady(pb.ModelReadyRequest(name="dyn", version="1")).ready, "ModelReady dyn")
        check(not stub.ModelReady(pb.ModelReadyRequest(name="corrupt")).ready,
              "ModelReady corrupt is false")

        def tensor(name, array, datatype="FP32"):
            t = pb.ModelInferRequest.InferInputTensor(name=name, datatype=datatype,
                                                      shape=list(array.shape))
            return t

        def typed(array, name="x"):
            t = tensor(name, array)
            t.contents.fp32_contents.extend(array.flatten().tolist())
            return pb.ModelInferRequest(model_name="dyn", inputs=[t], id="g1")

        def raw(array, name="x"):
            return pb.ModelInferRequest(model_name="dyn", inputs=[tensor(name, array)],
                                        raw_input_contents=[array.tobytes()])

        def output(resp, shape):
            return np.frombuffer(resp.raw_output_contents[0], np.float32).reshape(shape)

        r = stub.ModelInfer(typed(x2))
        check(r.model_name == "dyn" and r.id == "g1" and r.outputs[0].name == "y" and
              list(r.outputs[0].shape) == [2, 10] and np.array_equal(output(r, (2, 10)), ref2),
              "ModelInfer typed contents equals trtexec_like --exportOutput")
        r = stub.ModelInfer(raw(x2))
        check(np.array_equal(output(r, (2, 10)), ref2),
              "ModelInfer raw_input_contents equals trtexec_like --exportOutput")

        answers = []

        def one(k):
            resp = stub.ModelInfer(raw(x8[k:k + 1]))
            answers.append(np.allclose(output(resp, (1, 10)), ref8[k], rtol=1e-5, atol=1e-5))

        threads = [threading.Thread(target=one, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check(len(answers) == 8 and all(answers), "8 concurrent ModelInfer calls equal the reference rows")

        def status_of(call, request):
            try:
                call(request)
                return None, ""
            except grpc.RpcError as e:
                return e.code(), e.details()

        cases = [
            (pb.ModelInferRequest(model_name="nope", inputs=[tensor("x", x2)]),
             grpc.StatusCode.NOT_FOUND, "unknown model"),
            (pb.ModelInferRequest(model_name="dyn", model_version="9", inputs=[tensor("x", x2)]),
             grpc.StatusCode.NOT_FOUND, "no version"),
            (typed(x2, "z"), grpc.StatusCode.INVALID_ARGUMENT, "has no input 'z'"),
            (pb.ModelInferRequest(model_name="dyn", inputs=[tensor("x", x2, "INT32")],
                                  raw_input_contents=[x2.tobytes()]),
             grpc.StatusCode.INVALID_ARGUMENT, "expects FP32"),
            (pb.ModelInferRequest(model_name="dyn", inputs=[tensor("x", x2)],
                                  raw_input_contents=[x2.tobytes()[:-4]]),
             grpc.StatusCode.INVALID_ARGUMENT, "raw_input_contents has 508 bytes"),
            (pb.ModelInferRequest(model_name="dyn", inputs=[tensor("x", x2)],
                                  raw_input_contents=[x2.tobytes(), b""]),
             grpc.StatusCode.INVALID_ARGUMENT, "2 entries for 1 inputs"),
            (pb.ModelInferRequest(model_name="dyn", inputs=[tensor("x", x2)]),
             grpc.StatusCode.INVALID_ARGUMENT, "neither contents"),
            (raw(np.zeros((9, 1, 8, 8), np.float32)), grpc.StatusCode.INVALID_ARGUMENT,
             "takes batches of 1 to 8"),
            (pb.ModelInferRequest(model_name="dyn", inputs=[tensor("x", x2)],
                                  raw_input_contents=[x2.tobytes()],
                                  outputs=[pb.ModelInferRequest.InferRequestedOutputTensor(name="q")]),
             grpc.StatusCode.INVALID_ARGUMENT, "has no output 'q'"),
            (pb.ModelInferRequest(model_name="corrupt", inputs=[tensor("x", x2)],
                                  raw_input_contents=[x2.tobytes()]),
             grpc.StatusCode.FAILED_PRECONDITION, "not ready"),
        ]
        bad_typed = typed(x2)
        del bad_typed.inputs[0].contents.fp32_contents[-1]
        cases.append((bad_typed, grpc.StatusCode.INVALID_ARGUMENT, "contents hold 127 elements"))
        for request, code, text in cases:
            got, details = status_of(stub.ModelInfer, request)
            check(got == code and text in details, f"{code.name} with {text!r}: got {got} {details!r}")
        got, details = status_of(stub.ModelMetadata, pb.ModelMetadataRequest(name="corrupt"))
        check(got == grpc.StatusCode.FAILED_PRECONDITION and "DATA_LOSS" in details,
              f"ModelMetadata of the corrupt plan: {got} {details[:120]!r}")
        got, _ = status_of(stub.ModelReady, pb.ModelReadyRequest(name="nope"))
        check(got == grpc.StatusCode.NOT_FOUND, "ModelReady of an unknown model: NOT_FOUND")

        # Triton's model repository extension over gRPC.
        index = stub.RepositoryIndex(pb.RepositoryIndexRequest())
        states = {(m.name, m.version): (m.state, m.reason) for m in index.models}
        check(states.get(("dyn", "1"), ("",))[0] == "READY" and
              states.get(("corrupt", "1"), ("",))[0] == "UNAVAILABLE" and
              "DATA_LOSS" in states.get(("corrupt", "1"), ("", ""))[1],
              f"RepositoryIndex: dyn READY, corrupt UNAVAILABLE with its reason: {states}")
        ready_only = stub.RepositoryIndex(pb.RepositoryIndexRequest(ready=True))
        check([(m.name, m.version) for m in ready_only.models] == [("dyn", "1")],
              f"RepositoryIndex ready=true lists only dyn: {ready_only}")
        stub.RepositoryModelUnload(pb.RepositoryModelUnloadRequest(model_name="dyn"))
        got, details = status_of(stub.ModelInfer, raw(x2))
        check(got == grpc.StatusCode.NOT_FOUND, f"ModelInfer after RepositoryModelUnload: {got} {details!r}")
        check(all(m.name != "dyn" for m in stub.RepositoryIndex(pb.RepositoryIndexRequest()).models),
              "RepositoryIndex after the unload does not list dyn")
        stub.RepositoryModelLoad(pb.RepositoryModelLoadRequest(model_name="dyn"))
        check(output(stub.ModelInfer(raw(x2)), [2, 10]).tobytes() == ref2.tobytes(),
              "ModelInfer after RepositoryModelLoad equals the reference")
        param = pb.ModelRepositoryParameter(string_param="{}")
        repo_cases = [
            (stub.RepositoryModelLoad, pb.RepositoryModelLoadRequest(model_name="nope"),
             grpc.StatusCode.NOT_FOUND, "nope"),
            (stub.RepositoryModelLoad, pb.RepositoryModelLoadRequest(model_name="corrupt"),
             grpc.StatusCode.FAILED_PRECONDITION, "DATA_LOSS"),
            (stub.RepositoryModelLoad, pb.RepositoryModelLoadRequest(model_name="../repo"),
             grpc.StatusCode.INVALID_ARGUMENT, ""),
            (stub.RepositoryModelLoad,
             pb.RepositoryModelLoadRequest(model_name="dyn", parameters={"config": param}),
             grpc.StatusCode.INVALID_ARGUMENT, "not supported"),
            (stub.RepositoryModelUnload, pb.RepositoryModelUnloadRequest(model_name="nope"),
             grpc.StatusCode.NOT_FOUND, "nope"),
            (stub.RepositoryIndex, pb.RepositoryIndexRequest(repository_name="other"),
             grpc.StatusCode.NOT_FOUND, "one repository"),
        ]
        for call, request, code, text in repo_cases:
            got, details = status_of(call, request)
            check(got == code and text in details,
                  f"{type(request).__name__} {code.name} with {text!r}: got {got} {details!r}")
        check(stub.ModelReady(pb.ModelReadyRequest(name="dyn")).ready,
              "dyn still ready after the refused calls")
        channel.close()
        server.terminate()
        code = server.wait(timeout=30)
        check(code == 0, f"server exited {code} after SIGTERM")
        server = None
    finally:
        if server is not None:
            server.kill()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) FAILED")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
