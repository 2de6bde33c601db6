"""Run reports from Python: engine.export_report writes the document of
trtexec_like --exportReport (docs/report_schema.md) that `trtexec_like
compare` reads, and engine.compare_reports gives compare --json's document."""
import json
import os
import tempfile

import pytest

import engine
from conftest import run_cli


def test_export_and_compare_reports(mnist):
    model = mnist[0]
    with tempfile.TemporaryDirectory() as d:
        reports, paths, engines = [], [], []
        for spec in ("edge", "gemmini,clock=500"):
            config = engine.BuilderConfig()
            config.hardware = spec
            plan, _ = engine.Builder().build(model, config)
            eng = engine.Runtime.deserialize(plan)
            path = os.path.join(d, spec.split(",")[0] + ".json")
            report = engine.export_report(eng, model, path, config=config)
            with open(path) as f:
                assert json.load(f) == report
            assert report["kind"] == "engine-report" and report["schemaVersion"] == 1
            assert report["build"]["hwSpec"] == spec and report["build"]["source"] == "onnx"
            assert report["performance"]["device"]["latencyMs"] == pytest.approx(
                eng.device_profile["latency_ms"])
            assert report["performance"]["host"] is None
            assert len(report["layers"]) == len(eng.layers)
            reports.append(report)
            paths.append(path)
        # the CLI reads what Python wrote
        out = run_cli("compare", *paths)
        assert "gemmini: 16x16 array (ws,os) at 500 MHz" in out and "=== Summary" in out
        cmp = engine.compare_reports([paths[0], reports[1]])
        assert cmp["kind"] == "engine-report-comparison"
        assert len(cmp["reports"]) == 2 and cmp["layers"]
        assert all(len(row["reports"]) == 2 for row in cmp["layers"])
        # a plan's report: the build options the plan recorded
        plan_path = os.path.join(d, "m.plan")
        engine.write_plan_file(plan_path, plan)
        r = engine.export_report(engine.Runtime.deserialize(plan_path), plan_path)
        assert r["build"]["source"] == "plan" and r["build"]["optLevel"] == 2
        assert r["build"]["precision"] == "fp32" and r["model"]["hash"]["of"] == "onnx"
        with pytest.raises(engine.EngineError) as e:
            engine.compare_reports([paths[0]])
        assert e.value.code_name == "INVALID_ARGUMENT"
        bad = dict(reports[0], schemaVersion=99)
        with pytest.raises(engine.EngineError) as e:
            engine.compare_reports([bad, reports[1]])
        assert "schemaVersion 99" in e.value.message, e.value
        with pytest.raises(engine.EngineError) as e:
            engine.export_report(eng, os.path.join(d, "missing.onnx"), config=config)
        assert "missing.onnx" in e.value.message
