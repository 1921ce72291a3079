"""Execution providers for the device kind, and the fallback to the CPU (fake GPU providers)."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.core.model.providers import (
    CPU_PROVIDER,
    ProviderUnavailableError,
    choose_providers,
    open_on_device,
)

pytest.importorskip("onnxruntime")

from tests.core.model.fakeort import FakeOrt, add_one_graph, run_add_one  # noqa: E402

CUDA, DML = "CUDAExecutionProvider", "DmlExecutionProvider"
MIGRAPHX, ROCM = "MIGraphXExecutionProvider", "ROCMExecutionProvider"


@pytest.fixture
def graph(tmp_path: Path) -> Path:
    return add_one_graph(tmp_path / "add_one.onnx")


def fake(monkeypatch: pytest.MonkeyPatch, *available: str, **kw: object) -> FakeOrt:
    ort = FakeOrt((*available, CPU_PROVIDER), **kw)  # type: ignore[arg-type]
    monkeypatch.setitem(sys.modules, "onnxruntime", ort)
    return ort


def test_each_device_kind_asks_for_its_provider_then_the_cpu() -> None:
    every = (CUDA, DML, MIGRAPHX, ROCM, CPU_PROVIDER)
    c = choose_providers("cuda", available=every)
    assert c.provider == CUDA and c.on_gpu and not c.fell_back
    assert c.providers == ((CUDA, {"device_id": "0"}), CPU_PROVIDER)
    assert choose_providers("cuda", 1, available=every).providers[0] == (CUDA, {"device_id": "1"})
    assert choose_providers("directml", available=every).providers == ((DML, {"device_id": "0"}), CPU_PROVIDER)
    assert choose_providers("rocm", available=every).provider == MIGRAPHX  # MIGraphX first
    assert choose_providers("rocm", available=(ROCM, CPU_PROVIDER)).provider == ROCM
    cpu = choose_providers(" CPU ", available=every)
    assert cpu.provider == CPU_PROVIDER and cpu.providers == (CPU_PROVIDER,) and not cpu.fell_back and not cpu.on_gpu


@pytest.mark.parametrize(("kind", "package"), [("cuda", "onnxruntime-gpu"), ("directml", "onnxruntime-directml")])
def test_a_missing_provider_falls_back_to_the_cpu_and_names_the_package(kind: str, package: str) -> None:
    c = choose_providers(kind, available=("AzureExecutionProvider", CPU_PROVIDER))
    assert c.fell_back and c.provider == CPU_PROVIDER and c.providers == (CPU_PROVIDER,)
    assert package in c.reason and "AzureExecutionProvider" in c.reason and "CPU" in c.reason


def test_unknown_kinds_and_indices_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown device kind"):
        choose_providers("tpu", available=(CPU_PROVIDER,))
    with pytest.raises(ValueError, match="index"):
        choose_providers("cuda", -1, available=(CUDA, CPU_PROVIDER))


def test_the_graph_runs_on_the_gpu_provider(monkeypatch: pytest.MonkeyPatch, graph: Path) -> None:
    ort = fake(monkeypatch, CUDA)
    opened = open_on_device(graph, "cuda", 0)
    assert opened.choice.provider == CUDA and not opened.choice.fell_back
    assert opened.session.get_providers()[0] == CUDA
    np.testing.assert_array_equal(run_add_one(opened.session), [[2.0, 3.0, 4.0]])
    assert [p for p, _ in ort.opened] == [[(CUDA, {"device_id": "0"}), CPU_PROVIDER]]  # one session, no retry
    assert ort.preloaded == 1  # CUDA libraries found without torch imported first
    open_on_device(graph, "cpu")
    assert ort.preloaded == 1  # not for the CPU


def test_directml_sessions_turn_memory_patterns_off(monkeypatch: pytest.MonkeyPatch, graph: Path) -> None:
    ort = fake(monkeypatch, DML)
    open_on_device(graph, "directml", 0)
    open_on_device(graph, "cpu")
    (_, dml_options), (_, cpu_options) = ort.opened
    assert dml_options.enable_mem_pattern is False and cpu_options.enable_mem_pattern is True
    assert dml_options.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL


def test_a_failing_provider_falls_back_to_the_cpu_with_its_error_logged(
    monkeypatch: pytest.MonkeyPatch, graph: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ort = fake(monkeypatch, CUDA, broken=[CUDA])
    with caplog.at_level(logging.WARNING, logger="app.core.model.providers"):
        opened = open_on_device(graph, "cuda", 0)
    assert opened.choice.fell_back and opened.choice.provider == CPU_PROVIDER
    assert opened.choice.providers == (CPU_PROVIDER,)
    assert "driver version is insufficient" in opened.choice.reason
    assert any("Running on the CPU" in r.getMessage() and "CUDA" in r.getMessage() for r in caplog.records)
    np.testing.assert_array_equal(run_add_one(opened.session), [[2.0, 3.0, 4.0]])  # the CPU session works
    assert [p for p, _ in ort.opened][-1] == [CPU_PROVIDER]


def test_a_provider_onnxruntime_dropped_quietly_is_a_fallback(monkeypatch: pytest.MonkeyPatch, graph: Path) -> None:
    fake(monkeypatch, CUDA, dropped=[CUDA])
    opened = open_on_device(graph, "cuda", 0)
    assert opened.choice.fell_back and "did not start CUDAExecutionProvider" in opened.choice.reason


def test_a_caller_that_wants_the_gpu_only_gets_an_error(monkeypatch: pytest.MonkeyPatch, graph: Path) -> None:
    fake(monkeypatch)  # the CPU-only onnxruntime package
    with pytest.raises(ProviderUnavailableError, match="onnxruntime-gpu"):
        open_on_device(graph, "cuda", 0, allow_cpu=False)
    fake(monkeypatch, DML, broken=[DML])
    with pytest.raises(ProviderUnavailableError, match="could not open the graph"):
        open_on_device(graph, "directml", 0, allow_cpu=False)


def test_choosing_providers_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from app.core.model.providers import choose_providers\n"
        "choose_providers('cuda')\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"


def test_openvino_runs_the_graph_and_hands_back_its_own_copy(graph: Path) -> None:
    pytest.importorskip("openvino")
    from app.core.model.providers import OpenVinoSession

    s = OpenVinoSession(graph, threads=1)
    first = s.run(np.array([[1.0, 2.0, 3.0]], np.float32))
    second = s.run(np.array([[10.0, 20.0, 30.0]], np.float32))
    np.testing.assert_array_equal(first, [[2.0, 3.0, 4.0]])  # not overwritten by the second request
    np.testing.assert_array_equal(second, [[11.0, 21.0, 31.0]])
    assert s.precision and s.version


def test_a_gpu_only_onnxruntime_can_use_is_found_from_the_device_setting():
    from app.core.model.providers import gpu_only_onnxruntime_has

    dml = ("DmlExecutionProvider", "CPUExecutionProvider")
    assert gpu_only_onnxruntime_has("auto", available=dml) == ("directml", 0)
    assert gpu_only_onnxruntime_has(None, available=dml) == ("directml", 0)
    assert gpu_only_onnxruntime_has("directml:1", available=dml) == ("directml", 1)
    assert gpu_only_onnxruntime_has("cpu", available=dml) is None  # the player chose the CPU
    assert gpu_only_onnxruntime_has("cuda", available=dml) is None  # torch's own GPU kind
    assert gpu_only_onnxruntime_has("auto", available=("CPUExecutionProvider",)) is None
