"""Choosing the encoder path: self-check, faithfulness gate, cache, fallbacks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core.model import runtime
from app.core.model.encoder import EncoderConfig, load_encoder
from app.core.model.fast import TorchBackend
from app.core.model.runtime import FAITHFUL_COSINE, game_like_frames, select_encoder

SMALL = EncoderConfig(latent_dim=32, height=64, width=112)


@pytest.fixture(autouse=True)
def _few_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fewer calibration and check frames than the app uses: same logic, quicker tests."""
    monkeypatch.setattr(runtime, "N_CALIBRATION", 8)
    monkeypatch.setattr(runtime, "N_CHECK", 4)


@pytest.fixture(scope="module")
def encoder():
    model, _ = load_encoder(config=SMALL, search_bundled=False)
    return model


def test_game_like_frames_mix_and_size() -> None:
    frames = game_like_frames(6, height=SMALL.height, width=SMALL.width, seed=2)
    assert frames.shape == (6, 64, 112, 3) and frames.dtype == np.uint8
    assert len({f.tobytes() for f in frames}) == 6


def _flat_frames(n: int, *, height: int, width: int, seed: int) -> list[np.ndarray]:
    """A FrameMaker whose frames are easy to recognise: frame i is all (seed + i + 1)."""
    return [np.full((height, width, 3), seed + i + 1, np.uint8) for i in range(n)]


def test_game_like_frames_take_half_from_the_game() -> None:
    frames = game_like_frames(6, height=SMALL.height, width=SMALL.width, seed=2, game=_flat_frames)
    assert frames.shape == (6, 64, 112, 3) and frames.dtype == np.uint8 and frames.flags.c_contiguous
    assert [int(f.max()) for f in frames[:3]] == [3, 4, 5] and all(f.min() == f.max() for f in frames[:3])
    synthetic = game_like_frames(3, height=SMALL.height, width=SMALL.width, seed=2)
    np.testing.assert_array_equal(frames[3:], synthetic)  # the rest: the synthetic scenes


def test_a_game_that_cannot_make_frames_leaves_synthetic_ones() -> None:
    def broken(n: int, *, height: int, width: int, seed: int) -> list[np.ndarray]:
        raise ValueError("this layout needs at least 225 rows")

    def wrong_size(n: int, *, height: int, width: int, seed: int) -> list[np.ndarray]:
        return [np.zeros((height + 1, width, 3), np.uint8)] * n

    def fewer(n: int, *, height: int, width: int, seed: int) -> list[np.ndarray]:
        return _flat_frames(1, height=height, width=width, seed=seed)

    synthetic = game_like_frames(4, height=SMALL.height, width=SMALL.width, seed=5)
    for game in (broken, wrong_size):
        got = game_like_frames(4, height=SMALL.height, width=SMALL.width, seed=5, game=game)
        np.testing.assert_array_equal(got, synthetic)
    got = game_like_frames(4, height=SMALL.height, width=SMALL.width, seed=5, game=fewer)
    assert got.shape == (4, 64, 112, 3) and int(got[0].max()) == 6  # 1 game frame, 3 synthetic


def test_the_self_check_uses_the_callers_game_frames(encoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[object] = []

    def fake_build(name, model, cache, threads, progress, game=None):
        seen.append(game)
        raise ImportError("not in this test")

    monkeypatch.setattr(runtime, "_build", fake_build)
    _, sel = select_encoder(encoder, threads=1, cache_root=tmp_path, game_frames=_flat_frames)
    assert seen and all(g is _flat_frames for g in seen)  # calibration gets the maker too
    with np.load(Path(sel.cache_dir or "") / "check.npz") as cached:
        check = cached["frames"]
    assert check.shape == (runtime.N_CHECK, SMALL.height, SMALL.width, 3)
    assert [int(f.max()) for f in check[: runtime.N_CHECK // 2]] == [8, 9]  # seed 7: 7 + i + 1


def test_auto_builds_checks_and_caches(encoder, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    messages: list[str] = []
    backend, sel = select_encoder(encoder, threads=1, cache_root=tmp_path, progress=messages.append)
    by_name = {c.name: c for c in sel.checks}
    assert {"ort-int8", "ao-int8", "fp32"} <= set(by_name)
    assert "ov-int8" not in by_name  # explicit only, while the lean start runs ONNX Runtime graphs only
    for name in ("ort-int8", "ao-int8"):
        c = by_name[name]
        assert c.accepted and c.cosine_min is not None and c.cosine_min >= FAITHFUL_COSINE
        assert c.ms_per_frame is not None and c.ms_per_frame > 0 and c.note == "built"
    assert sel.chosen == backend.name and sel.chosen in ("ort-int8", "ao-int8", "fp32")
    assert sel.baseline_ms is not None and sel.threads == 1 and sel.device == "cpu"
    cache = Path(sel.cache_dir or "")
    assert cache.parent.parent == tmp_path and encoder.encoder_id() in cache.name
    assert {p.name for p in cache.iterdir()} >= {
        "check.npz", "encoder_fp32.onnx", "encoder_int8.onnx", "ao_int8_observers.safetensors"
    }
    assert any("once per encoder" in m for m in messages)
    d = sel.to_dict()
    assert d["chosen"] == sel.chosen and isinstance(d["checks"], list)

    # Second start: everything comes from the cache, nothing is rebuilt.
    messages.clear()
    _, again = select_encoder(encoder, threads=1, cache_root=tmp_path, progress=messages.append)
    assert {c.name: c.note for c in again.checks}["ort-int8"] == "cached"
    assert not any("once per encoder" in m for m in messages)


def test_explicit_fp32_needs_no_build(encoder, tmp_path: Path) -> None:
    import torch

    before = torch.get_num_threads()
    backend, sel = select_encoder(encoder, preference="fp32", threads=1, cache_root=tmp_path)
    assert isinstance(backend, TorchBackend) and sel.chosen == "fp32" and "configured" in sel.reason
    assert sel.checks == () and sel.speedup is None and not any(tmp_path.iterdir())
    assert torch.get_num_threads() == before  # the self-check's thread count is restored


def test_unknown_path_is_refused(encoder, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown encoder path"):
        select_encoder(encoder, preference="fp8", cache_root=tmp_path)


class _Garbage:
    """A 'fast path' whose latents have nothing to do with the frames."""

    name = "ort-int8"

    def encode(self, frames: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(len(frames))
        return rng.standard_normal((len(frames) if frames.ndim == 4 else 1, SMALL.latent_dim)).astype(np.float32)


def test_an_unfaithful_path_is_never_used(encoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_build(name, model, cache, threads, progress, game=None):
        if name == "ort-fp32":
            raise ImportError("onnxruntime is not installed")
        if name == "ao-int8":
            raise RuntimeError("quantized engine missing")
        return _Garbage(), "built"

    monkeypatch.setattr(runtime, "_build", fake_build)
    backend, sel = select_encoder(encoder, threads=1, cache_root=tmp_path)
    assert sel.chosen == "fp32" and isinstance(backend, TorchBackend)
    notes = {c.name: c for c in sel.checks}
    assert not notes["ort-int8"].accepted and "not faithful" in notes["ort-int8"].note
    assert "failed: RuntimeError" in notes["ao-int8"].note
    assert "not available" in notes["ort-fp32"].note  # the next tier was tried
    assert "no faster path passed" in sel.reason

    # Asked for explicitly, an unfaithful path is still refused.
    _, explicit = select_encoder(encoder, preference="ort-int8", cache_root=tmp_path)
    assert explicit.chosen == "fp32"


def test_a_corrupt_cached_model_is_rebuilt(encoder, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    _, sel = select_encoder(encoder, preference="ort-int8", threads=1, cache_root=tmp_path)
    int8 = Path(sel.cache_dir or "") / "encoder_int8.onnx"
    int8.write_bytes(b"not a model")
    _, again = select_encoder(encoder, preference="ort-int8", threads=1, cache_root=tmp_path)
    check = {c.name: c for c in again.checks}["ort-int8"]
    assert check.accepted and check.note == "built"
    assert int8.stat().st_size > 1000


# ------------------------------------------------------------------- GPU devices (fakes)


def test_device_kinds_of_torch_devices() -> None:
    import torch

    assert runtime.device_kind(torch.device("cpu")) == ("cpu", 0)
    assert runtime.device_kind(torch.device("privateuseone", 1)) == ("directml", 1)
    expected = "rocm" if getattr(torch.version, "hip", None) else "cuda"
    assert runtime.device_kind(torch.device("cuda", 2)) == (expected, 2)


def test_torch_must_be_clearly_faster_to_replace_onnx_runtime_on_a_gpu() -> None:
    assert runtime.keep_gpu_ort("cuda", ort_ms=10.0, eager_ms=9.0)  # torch 10 % faster: ORT stays
    assert not runtime.keep_gpu_ort("cuda", ort_ms=10.0, eager_ms=8.0)  # 20 % faster: torch
    assert runtime.keep_gpu_ort("directml", ort_ms=10.0, eager_ms=1.0)  # torch-directml: training only


def _on_gpu(monkeypatch: pytest.MonkeyPatch, kind: str, *available: str) -> object:
    """The encoder (on the CPU) is treated as being on a `kind` GPU; onnxruntime has `available`."""
    import sys

    from tests.core.model.fakeort import FakeOrt

    pytest.importorskip("onnxruntime")
    monkeypatch.setattr(runtime, "device_kind", lambda device: (kind, 0))
    ort = FakeOrt((*available, "CPUExecutionProvider"))
    monkeypatch.setitem(sys.modules, "onnxruntime", ort)
    return ort


def test_a_gpu_device_runs_the_checked_onnx_graph_on_its_provider(
    encoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ort = _on_gpu(monkeypatch, "directml", "DmlExecutionProvider")
    backend, sel = select_encoder(encoder, threads=1, cache_root=tmp_path)
    assert sel.chosen == "ort-gpu" == backend.name and sel.provider == "DmlExecutionProvider"
    assert "DmlExecutionProvider" in sel.reason and sel.baseline_ms is not None
    check = {c.name: c for c in sel.checks}["ort-gpu"]
    assert check.accepted and check.cosine_min is not None and check.cosine_min >= FAITHFUL_COSINE
    assert [p[0] for p, _ in ort.opened] == [("DmlExecutionProvider", {"device_id": "0"})]  # type: ignore[attr-defined]
    frames = game_like_frames(2, height=SMALL.height, width=SMALL.width, seed=11)
    reference = TorchBackend(encoder).encode(frames)
    assert runtime.cosine_rows(backend.encode(frames), reference).min() >= FAITHFUL_COSINE
    assert (Path(sel.cache_dir or "") / "encoder_fp32.onnx").is_file()


def test_a_gpu_without_its_onnxruntime_package_keeps_torch_and_says_why(
    encoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    _on_gpu(monkeypatch, "cuda")  # the CPU-only onnxruntime package
    with caplog.at_level(logging.WARNING, logger="app.core.model.runtime"):
        backend, sel = select_encoder(encoder, threads=1, cache_root=tmp_path)
    assert sel.chosen == "fp32" and isinstance(backend, TorchBackend) and sel.provider is None
    check = {c.name: c for c in sel.checks}["ort-gpu"]
    assert not check.accepted and check.note.startswith("not available") and "onnxruntime-gpu" in check.note
    assert "onnxruntime-gpu" in sel.reason
    assert any("onnxruntime-gpu" in r.getMessage() for r in caplog.records)
    assert (Path(sel.cache_dir or "") / "encoder_fp32.onnx").is_file()  # the graph is kept for the next try


def test_a_gpu_asked_for_a_cpu_path_runs_fp32_eager_there(
    encoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _on_gpu(monkeypatch, "cuda", "CUDAExecutionProvider")
    backend, sel = select_encoder(encoder, preference="ort-int8", threads=1, cache_root=tmp_path)
    assert sel.chosen == "fp32" and "is a CPU path" in sel.reason and not any(tmp_path.iterdir())


def test_ort_gpu_on_a_cpu_encoder_is_refused(encoder, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs a GPU"):
        select_encoder(encoder, preference="ort-gpu", cache_root=tmp_path)


# --------------------------------------------------------------------------- OpenVINO


def test_ov_int8_is_checked_against_fp32(encoder, tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    pytest.importorskip("onnxruntime")
    backend, sel = select_encoder(encoder, preference="ov-int8", threads=1, cache_root=tmp_path)
    check = {c.name: c for c in sel.checks}["ov-int8"]
    assert check.accepted and check.cosine_min is not None and check.cosine_min >= FAITHFUL_COSINE
    assert sel.chosen in ("ov-int8", "fp32")  # fp32 only if it did not beat fp32 eager here
    assert (Path(sel.cache_dir or "") / "encoder_int8.onnx").is_file()  # the graph ort-int8 runs


def test_without_openvino_ov_int8_is_not_available(encoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    pytest.importorskip("onnxruntime")
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino → ImportError
    backend, sel = select_encoder(encoder, preference="ov-int8", threads=1, cache_root=tmp_path)
    check = {c.name: c for c in sel.checks}["ov-int8"]
    assert check.note.startswith("not available") and not check.accepted
    assert sel.chosen == "fp32" and isinstance(backend, TorchBackend)


def _ort_with(monkeypatch: pytest.MonkeyPatch, *available: str) -> object:
    import sys

    from tests.core.model.fakeort import FakeOrt

    pytest.importorskip("onnxruntime")
    ort = FakeOrt((*available, "CPUExecutionProvider"))
    monkeypatch.setitem(sys.modules, "onnxruntime", ort)
    return ort


def test_a_gpu_only_onnx_runtime_can_use_takes_the_encoder_off_the_cpu(
    encoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DirectML without torch-directml: the torch encoder is on the CPU, the graph runs on the GPU."""
    _ort_with(monkeypatch, "DmlExecutionProvider")
    backend, sel = select_encoder(encoder, threads=1, cache_root=tmp_path, ort_device=("directml", 0))
    assert sel.chosen == "ort-gpu" == backend.name and sel.provider == "DmlExecutionProvider"
    assert "directml:0" in sel.reason and sel.device == "cpu"
    names = [c.name for c in sel.checks]
    assert names == ["ort-gpu", "fp32"]  # the CPU paths were not built
    assert not (Path(sel.cache_dir or "") / "encoder_int8.onnx").exists()


def test_without_the_provider_the_cpu_paths_are_chosen_as_usual(
    encoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ort_with(monkeypatch)  # the CPU-only onnxruntime package
    _, sel = select_encoder(encoder, threads=1, cache_root=tmp_path, ort_device=("directml", 0))
    checks = {c.name: c for c in sel.checks}
    assert "onnxruntime-directml" in checks["ort-gpu"].note and not checks["ort-gpu"].accepted
    assert checks["ort-int8"].accepted and sel.chosen in ("ort-int8", "ao-int8", "fp32")
    assert "onnxruntime-directml" in sel.reason
    _, explicit = select_encoder(encoder, preference="ort-gpu", threads=1, cache_root=tmp_path,
                                 ort_device=("directml", 0))
    assert explicit.chosen == "fp32" and "onnxruntime-directml" in explicit.reason
