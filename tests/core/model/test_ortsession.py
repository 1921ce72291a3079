"""The one ONNX Runtime session factory: threads, no spinning, and the benchmark's knobs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from app.core.model.ortsession import open_session  # noqa: E402
from tests.core.model.fakeort import FakeOrt, add_one_graph, run_add_one  # noqa: E402


def test_the_defaults_are_what_runs_beside_a_game(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ort = FakeOrt(["CPUExecutionProvider"])
    monkeypatch.setitem(sys.modules, "onnxruntime", ort)
    session = open_session(add_one_graph(tmp_path / "g.onnx"), 3)
    np.testing.assert_array_equal(run_add_one(session), [[2.0, 3.0, 4.0]])
    ((providers, so),) = ort.opened
    assert providers == ["CPUExecutionProvider"]
    assert so.intra_op_num_threads == 3 and so.inter_op_num_threads == 1
    assert so.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert so.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL


def test_the_knobs_reach_the_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ort = FakeOrt(["CPUExecutionProvider"])
    monkeypatch.setitem(sys.modules, "onnxruntime", ort)
    optimised = tmp_path / "optimised.onnx"
    open_session(add_one_graph(tmp_path / "g.onnx"), 0, optimization="basic", spinning=True,
                 config={"session.set_denormal_as_zero": "1"}, optimized_model_path=optimised)
    ((_, so),) = ort.opened
    assert so.intra_op_num_threads == 1  # at least one thread
    assert so.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    assert so.get_session_config_entry("session.set_denormal_as_zero") == "1"
    assert so.get_session_config_entry("session.intra_op.allow_spinning") == "1"
    assert optimised.is_file()  # onnxruntime wrote the optimised graph
    with pytest.raises(ValueError, match="unknown optimization level"):
        open_session(tmp_path / "g.onnx", 1, optimization="fastest")  # type: ignore[arg-type]
