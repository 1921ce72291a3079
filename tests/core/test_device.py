"""Tests for app/core/device.py: every branch of the choice, with fake probes."""

from __future__ import annotations

import json
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch import nn

from app.core import device as dev
from app.core.device import (
    Candidate,
    DeviceReport,
    ProbeResult,
    parse_device_spec,
    probe_cpu,
    probe_cuda,
    probe_directml,
    probe_rocm,
    select_device,
    smoke_test,
)
from app.core.errors import DeviceError

CUDA0 = torch.device("cuda", 0)
DML0 = torch.device("privateuseone", 0)
CPU = torch.device("cpu")


def present(device: torch.device, name: str = "Fake GPU") -> dev.Probe:
    def probe(index: int) -> ProbeResult:
        at = device if device.type == "cpu" else torch.device(device.type, index)
        return ProbeResult(True, device=at, name=name)

    return probe


def absent(reason: str = "not here") -> dev.Probe:
    return lambda index: ProbeResult(False, reason=reason)


def fakes(**overrides: dev.Probe) -> dict[str, dev.Probe]:
    """No GPU at all, except the kinds given."""
    probes: dict[str, dev.Probe] = {
        "cuda": absent("no cuda"),
        "rocm": absent("no rocm"),
        "directml": absent("no directml"),
        "cpu": present(CPU, "Fake CPU"),
    }
    probes.update(overrides)
    return probes


def passes(device: torch.device) -> None:
    """A smoke test that accepts everything (the real one needs the real device)."""


def fails_on(*types: str) -> dev.SmokeTest:
    def test(device: torch.device) -> None:
        if device.type in types:
            raise RuntimeError(f"kernel image missing on {device.type}")

    return test


def choose(
    preference: str | None = None,
    env: dict[str, str] | None = None,
    smoke: dev.SmokeTest = passes,
    **probes: dev.Probe,
) -> DeviceReport:
    return select_device(preference, env=env or {}, probes=fakes(**probes), smoke_test=smoke)


def by_kind(report: DeviceReport) -> dict[str, Candidate]:
    return {c.label: c for c in report.candidates}


# ------------------------------------------------------------------ automatic order


def test_cuda_is_chosen_first_and_later_kinds_are_not_checked() -> None:
    report = choose(cuda=present(CUDA0, "RTX 4090"), directml=present(DML0))
    assert report.kind == "cuda"
    assert report.device == CUDA0
    assert report.name == "RTX 4090"
    cands = by_kind(report)
    assert cands["cuda:0"].chosen and cands["cuda:0"].passed_smoke is True
    assert cands["directml:0"].available is None  # not probed: cuda already won
    assert cands["directml:0"].passed_smoke is None
    assert [c.chosen for c in report.candidates].count(True) == 1
    assert report.override is None and report.override_error is None


def test_directml_is_chosen_when_there_is_no_cuda() -> None:
    report = choose(directml=present(DML0, "Radeon 780M"))
    assert report.kind == "directml"
    assert report.device == DML0
    cands = by_kind(report)
    assert cands["cuda:0"].available is False
    assert "no cuda" in cands["cuda:0"].reason
    assert cands["directml:0"].chosen


def test_cpu_is_the_fallback() -> None:
    report = choose()
    assert report.kind == "cpu"
    assert report.device == CPU
    assert report.name == "Fake CPU"
    assert [c.kind for c in report.candidates] == ["cuda", "rocm", "directml", "cpu"]
    assert [c.available for c in report.candidates] == [False, False, False, True]
    assert report.gpu_memory_total is None


def test_a_candidate_failing_its_smoke_test_falls_back_to_the_next() -> None:
    report = choose(cuda=present(CUDA0), directml=present(DML0), smoke=fails_on("cuda"))
    assert report.kind == "directml"
    cuda = by_kind(report)["cuda:0"]
    assert cuda.available is True and cuda.passed_smoke is False and not cuda.chosen
    assert "kernel image missing on cuda" in cuda.reason


def test_every_gpu_failing_ends_on_the_cpu() -> None:
    report = choose(
        cuda=present(CUDA0), directml=present(DML0), smoke=fails_on("cuda", "privateuseone")
    )
    assert report.kind == "cpu"
    assert [c.passed_smoke for c in report.candidates] == [False, None, False, True]


def test_a_failing_cpu_is_still_used_with_a_note() -> None:
    report = choose(smoke=fails_on("cpu"))
    assert report.kind == "cpu"
    assert by_kind(report)["cpu"].chosen
    assert any("CPU failed its smoke test" in n for n in report.notes)


def test_a_probe_that_raises_is_unavailable_not_a_crash() -> None:
    def boom(index: int) -> ProbeResult:
        raise OSError("driver exploded")

    report = choose(cuda=boom)
    assert report.kind == "cpu"
    assert "driver exploded" in by_kind(report)["cuda:0"].reason


# ------------------------------------------------------------ real probes, fake torch


def fake_torch(
    *, available: bool, hip: str | None, cuda: str | None = "12.4", count: int = 1
) -> Any:
    return SimpleNamespace(
        __version__="2.4.1",
        version=SimpleNamespace(hip=hip, cuda=cuda),
        device=torch.device,
        cuda=SimpleNamespace(
            is_available=lambda: available,
            device_count=lambda: count,
            get_device_name=lambda i: f"GPU {i}",
            mem_get_info=lambda i: (3 * 2**30, 8 * 2**30),
        ),
    )


def choose_with_torch(fake: Any) -> DeviceReport:
    """The real CUDA and ROCm probes, looking at a fake torch."""
    return choose(
        cuda=partial(probe_cuda, torch_module=fake), rocm=partial(probe_rocm, torch_module=fake)
    )


def test_nvidia_cuda_build_is_cuda_with_gpu_memory() -> None:
    report = choose_with_torch(fake_torch(available=True, hip=None))
    assert report.kind == "cuda"
    assert report.device == CUDA0
    assert report.name == "GPU 0"
    assert report.gpu_memory_total == 8 * 2**30
    assert report.gpu_memory_free == 3 * 2**30


def test_rocm_is_told_apart_by_torch_version_hip() -> None:
    report = choose_with_torch(fake_torch(available=True, hip="6.1.0", cuda=None))
    assert report.kind == "rocm"
    assert report.device == CUDA0  # ROCm devices are still "cuda" to torch
    assert "ROCm build" in by_kind(report)["cuda:0"].reason
    assert report.gpu_memory_total == 8 * 2**30


def test_cuda_unavailable_and_cpu_only_torch_are_reported() -> None:
    report = choose_with_torch(fake_torch(available=False, hip=None))
    assert report.kind == "cpu"
    assert "is_available() is False" in by_kind(report)["cuda:0"].reason
    report = choose_with_torch(fake_torch(available=False, hip=None, cuda=None))
    assert "no CUDA support" in by_kind(report)["cuda:0"].reason


def test_cuda_index_beyond_the_device_count_is_unavailable() -> None:
    result = probe_cuda(1, torch_module=fake_torch(available=True, hip=None, count=1))
    assert not result.available
    assert "device 1 asked for, but there are 1" in result.reason


def fake_directml(*, available: bool = True) -> Any:
    module = SimpleNamespace(
        is_available=lambda: available,
        device_count=lambda: 1,
        device=lambda i=0: torch.device("privateuseone", i),
        device_name=lambda i: "Radeon RX 7600",
    )
    return lambda name: module if name == "torch_directml" else None


def test_directml_probe_uses_torch_directml() -> None:
    result = probe_directml(0, import_module=fake_directml())
    assert result.available and result.device == DML0 and result.name == "Radeon RX 7600"
    assert not probe_directml(0, import_module=fake_directml(available=False)).available


def test_directml_probe_without_the_package_is_unavailable() -> None:
    def missing(name: str) -> Any:
        raise ModuleNotFoundError(f"No module named '{name}'", name=name)

    result = probe_directml(0, import_module=missing)
    assert not result.available
    assert "torch-directml is not installed" in result.reason


def test_directml_probe_with_a_broken_install_says_what_broke() -> None:
    def broken(name: str) -> Any:
        raise ImportError("DLL load failed while importing _C")

    result = probe_directml(0, import_module=broken)
    assert not result.available
    assert "failed to import: DLL load failed" in result.reason


def test_real_probes_do_not_raise_here() -> None:
    for probe in (probe_cuda, probe_rocm, probe_directml, probe_cpu):
        assert isinstance(probe(0), ProbeResult)
    assert probe_cpu().available and probe_cpu().device == CPU


# ------------------------------------------------------------------------ overrides


def test_preference_overrides_the_automatic_order() -> None:
    report = choose("directml", cuda=present(CUDA0), directml=present(DML0))
    assert report.kind == "directml"
    assert report.override == "directml" and report.override_source == "settings"
    assert report.override_error is None
    assert report.candidates[0].label == "directml:0" and report.candidates[0].chosen


def test_env_var_overrides_and_wins_over_the_preference() -> None:
    report = choose(
        "directml", env={"ARCX_DEVICE": "cpu"}, cuda=present(CUDA0), directml=present(DML0)
    )
    assert report.kind == "cpu"
    assert report.override == "cpu" and report.override_source == "env"


def test_env_auto_forces_the_automatic_order() -> None:
    report = choose("cpu", env={"ARCX_DEVICE": "auto"}, cuda=present(CUDA0))
    assert report.kind == "cuda"
    assert report.override_source == "env" and report.override_error is None


def test_override_with_an_index() -> None:
    report = choose("cuda:1", cuda=present(CUDA0))
    assert report.device == torch.device("cuda", 1)
    assert report.candidates[0].label == "cuda:1"


def test_unavailable_override_falls_back_and_says_why() -> None:
    report = choose("directml", cuda=present(CUDA0), directml=absent("not installed"))
    assert report.kind == "cuda"
    assert report.override_error is not None
    assert "directml:0" in report.override_error and "not installed" in report.override_error
    assert [c.label for c in report.candidates] == ["directml:0", "cuda:0", "rocm:0", "cpu"]


def test_override_failing_its_smoke_test_falls_back_and_says_why() -> None:
    report = choose(env={"ARCX_DEVICE": "cuda"}, smoke=fails_on("cuda"), cuda=present(CUDA0))
    assert report.kind == "cpu"
    assert report.override_error is not None and "smoke test" in report.override_error
    # cuda:0 was the override: it is tried once, not again in the automatic pass.
    assert [c.label for c in report.candidates].count("cuda:0") == 1


def test_bad_override_name_is_recorded_not_raised() -> None:
    """Documented choice: select_device never raises; parse_device_spec is the strict one."""
    report = choose(env={"ARCX_DEVICE": "cdua"}, cuda=present(CUDA0))
    assert report.kind == "cuda"
    assert report.override == "cdua"
    assert report.override_error is not None and "'cdua' is not a device" in report.override_error
    assert "not used" in report.format()


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("auto", None),
        ("", None),
        ("CUDA", ("cuda", 0)),
        ("cuda:1", ("cuda", 1)),
        ("rocm", ("rocm", 0)),
        ("directml:2", ("directml", 2)),
        ("cpu", ("cpu", 0)),
        ("cpu:3", ("cpu", 0)),
    ],
)
def test_parse_device_spec(spec: str, expected: tuple[str, int] | None) -> None:
    assert parse_device_spec(spec) == expected


@pytest.mark.parametrize("spec", ["gpu", "cuda:x", "cuda:-1", "mps", "cuda:"])
def test_parse_device_spec_rejects(spec: str) -> None:
    with pytest.raises(DeviceError):
        parse_device_spec(spec)


# ---------------------------------------------------------------- report and smoke


def test_report_to_dict_is_json_and_format_is_readable() -> None:
    report = choose("directml", cuda=present(CUDA0, "RTX 4090"), directml=absent("nope"))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["kind"] == "cuda" and data["device"] == "cuda:0"
    assert data["override"] == "directml" and "nope" in data["override_error"]
    assert [c["chosen"] for c in data["candidates"]] == [False, True, False, False]
    assert data["torch_version"] == torch.__version__
    assert data["num_threads"] == torch.get_num_threads()
    assert data["memory_total"] > 0
    text = report.format()
    assert "cuda (cuda:0), RTX 4090" in text
    assert "directml (from settings); not used" in text


def test_real_smoke_test_passes_on_cpu_and_catches_nan(monkeypatch: pytest.MonkeyPatch) -> None:
    smoke_test(CPU)  # the real network, finite on the CPU
    real_forward = nn.GRU.forward

    def nan_forward(self: nn.GRU, *args: Any, **kwargs: Any) -> Any:
        out, h = real_forward(self, *args, **kwargs)
        return torch.full_like(out, float("nan")), h

    monkeypatch.setattr(nn.GRU, "forward", nan_forward)  # a backend returning garbage
    with pytest.raises(RuntimeError, match="not finite"):
        smoke_test(CPU)


def test_real_selection_on_this_machine_runs_the_real_smoke_test() -> None:
    report = select_device("cpu", env={})
    assert report.kind == "cpu"
    assert report.candidates[0].passed_smoke is True
    assert report.override_error is None


def test_real_smoke_test_catches_non_finite_output(monkeypatch: pytest.MonkeyPatch) -> None:
    real_gru_forward = torch.nn.GRU.forward

    def nan_forward(self: torch.nn.GRU, *args: Any, **kwargs: Any) -> Any:
        out, h = real_gru_forward(self, *args, **kwargs)
        return out * float("nan"), h

    monkeypatch.setattr(torch.nn.GRU, "forward", nan_forward)
    with pytest.raises(RuntimeError, match="not finite"):
        smoke_test(CPU)


def test_real_smoke_test_does_not_use_inference_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """DirectML breaks under inference_mode; the smoke test must use no_grad."""

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("inference_mode used")

    monkeypatch.setattr(torch, "inference_mode", forbidden)
    monkeypatch.setattr(torch.autograd.grad_mode, "inference_mode", forbidden)
    smoke_test(CPU)


def test_resolve_device_trusts_an_explicit_spec() -> None:
    assert dev.resolve_device("cpu") == torch.device("cpu")
    assert dev.resolve_device("cuda:1") == torch.device("cuda", 1)
    assert dev.resolve_device("rocm") == torch.device("cuda", 0)
    assert dev.resolve_device(None).type in ("cpu", "cuda", "privateuseone")
    with pytest.raises(DeviceError):
        dev.resolve_device("no-such-device")


# ------------------------------------------------------------------------- lean start


def test_the_lean_report_is_the_cpu_the_record_chose_and_imports_no_torch() -> None:
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import json, sys\n"
        "from app.core.device import lean_device_report\n"
        "r = lean_device_report('auto', reason='ort-int8: 41 ms/frame', threads=3, env={})\n"
        "print(json.dumps([r.to_dict(), r.format(), r.torch_device is None, 'torch' in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-3000:]
    d, text, no_device, loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert not loaded and no_device
    assert (d["kind"], d["device"], d["lean"], d["num_threads"]) == ("cpu", "cpu", True, 3)
    assert d["torch_version"] == torch.__version__.split("+")[0]  # from the install's metadata
    assert [c["kind"] for c in d["candidates"]] == ["cuda", "rocm", "directml", "cpu"]
    chosen = [c for c in d["candidates"] if c["chosen"]]
    assert len(chosen) == 1 and chosen[0]["kind"] == "cpu" and "ort-int8: 41 ms/frame" in chosen[0]["reason"]
    assert all(c["available"] is None for c in d["candidates"][:3])  # not probed: no torch
    assert "not loaded (lean start" in text and "Requested:    auto" in text


def test_the_lean_report_names_an_override_from_the_environment() -> None:
    report = dev.lean_device_report("auto", reason="ort-fp32: x", threads=1, env={"ARCX_DEVICE": "cpu"})
    assert (report.override, report.override_source, report.override_error) == ("cpu", "env", None)
    assert [c.kind for c in report.candidates] == ["cpu"]  # the player asked for the CPU: no GPU row
    assert "Requested:    cpu (from ARCX_DEVICE); used" in report.format()


def test_a_torch_report_has_a_torch_device() -> None:
    report = select_device("cpu", env={})
    assert report.torch_device == CPU and not report.lean
