"""Deciding a lean start before anything loads torch (`lean.plan_start`), the record's GPU
hints and `ARCX_DEVICE`, and a lean engine that must not import torch itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import app.core.device as device_mod
from app.core.model.checkpoint import read_metadata, save_checkpoint
from app.core.model.encoder import EncoderConfig, load_encoder
from app.core.model.fast import export_onnx
from app.core.model.lean import (
    check_live_record,
    effective_device,
    export_in_child,
    export_qnet_for_lean,
    has_lean_export,
    plan_start,
    write_live_record,
)
from app.core.model.qnet import QNetConfig, TemporalQNet

pytest.importorskip("onnxruntime")

SMALL = EncoderConfig(latent_dim=32, height=64, width=112)
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def warm(tmp_path: Path) -> dict[str, object]:
    """A record made on `auto`, a model with its checked export and one without."""
    model, _ = load_encoder(config=SMALL, search_bundled=False)
    onnx = export_onnx(model, tmp_path / "encoder_fp32.onnx")
    write_live_record(path_name="ort-fp32", onnx=onnx, encoder_id=model.encoder_id(), weights=None, threads=1,
                      device="auto", encoder_path="auto", reason="ort-fp32: a test")
    torch.manual_seed(0)
    net = TemporalQNet(QNetConfig(latent_dim=SMALL.latent_dim))
    net.set_input_stats(torch.randn(64, SMALL.latent_dim))
    kw = dict(encoder_id=model.encoder_id(), value_scale=100.0, epoch=3, val_loss=0.5)
    exported = save_checkpoint(tmp_path / "qnet.safetensors", net, **kw)
    assert export_qnet_for_lean(net, read_metadata(exported)["content_sha256"]) is not None
    plain = save_checkpoint(tmp_path / "plain.safetensors", TemporalQNet(QNetConfig(latent_dim=SMALL.latent_dim)), **kw)
    return {"onnx": onnx, "exported": exported, "plain": plain, "encoder_id": model.encoder_id()}


def test_a_start_is_lean_with_the_record_and_a_checked_export(warm):
    plan = plan_start("auto", "auto", warm["exported"])
    assert plan.lean and plan.reason == "" and plan.record is not None
    assert plan.record.encoder_id == warm["encoder_id"] and plan.record.threads == 1
    assert plan_start("auto", "auto", None).lean  # recording only
    assert plan_start("auto", "auto", Path(warm["plain"]).with_name("missing.safetensors")).lean


def test_a_model_without_an_export_makes_it_a_torch_start(warm):
    plan = plan_start("auto", "auto", warm["plain"])
    assert not plan.lean and plan.record is None and "no checked ONNX export" in plan.reason


def test_a_model_the_engine_refuses_anyway_does_not_need_torch(warm, tmp_path):
    foreign = save_checkpoint(tmp_path / "f.safetensors", TemporalQNet(QNetConfig(latent_dim=SMALL.latent_dim)),
                              encoder_id="another-encoder", value_scale=10.0, epoch=1, val_loss=1.0)
    assert plan_start("auto", "auto", foreign).lean
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a checkpoint")
    assert plan_start("auto", "auto", broken).lean
    assert not has_lean_export(broken, None)


def test_no_record_other_settings_or_a_gpu_device_make_it_a_torch_start(warm, monkeypatch):
    assert "encoder-path" in plan_start("auto", "ort-int8", None).reason
    assert "device" in plan_start("cpu", "auto", None).reason  # recorded on auto, not cpu
    assert plan_start("cuda", "auto", None).reason == "the device is cuda"
    monkeypatch.setenv("ARCX_DEVICE", "cuda:1")  # wins over the setting, as in select_device
    assert effective_device("auto") == "cuda:1"
    assert not plan_start("auto", "auto", None).lean
    monkeypatch.setenv("ARCX_DEVICE", "AUTO")
    assert plan_start("cpu", "auto", None).lean  # the setting says cpu, the variable auto
    monkeypatch.delenv("ARCX_DEVICE")
    Path(warm["onnx"]).unlink()
    assert plan_start("auto", "auto", None).reason == "a cached file is gone"


def test_a_record_made_on_auto_holds_only_while_the_gpu_hints_do(warm, monkeypatch):
    real = device_mod.gpu_hints()
    assert check_live_record(device="auto", encoder_path="auto")[0] is not None
    monkeypatch.setattr(device_mod, "gpu_hints", lambda: {**real, "nvidia": "NVRM version: 580.65"})
    record, why = check_live_record(device="auto", encoder_path="auto")
    assert record is None and "GPU drivers" in why
    monkeypatch.setattr(device_mod, "gpu_hints", lambda: {**real, "torch_directml": "0.2.5"})
    assert check_live_record(device="auto", encoder_path="auto")[0] is None


def test_a_record_made_on_cpu_ignores_the_gpu_hints(warm, monkeypatch):
    write_live_record(path_name="ort-fp32", onnx=warm["onnx"], encoder_id=str(warm["encoder_id"]), weights=None,
                      threads=1, device="cpu", encoder_path="auto", reason="ort-fp32: a test")
    monkeypatch.setattr(device_mod, "gpu_hints", lambda: {"nvidia": "a new driver"})
    assert check_live_record(device="cpu", encoder_path="auto")[0] is not None


def test_gpu_hints_read_no_torch():
    code = "import sys, json; from app.core.device import gpu_hints; h = gpu_hints(); print(json.dumps([h, 'torch' in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    hints, loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert not loaded and hints["torch"] == torch.__version__.split("+")[0]


def test_export_in_child_writes_the_export_the_lean_loader_accepts(warm):
    assert not has_lean_export(warm["plain"], str(warm["encoder_id"]))
    out, why = export_in_child(warm["plain"], str(warm["encoder_id"]))
    assert why == "" and out is not None and out.is_file()
    assert has_lean_export(warm["plain"], str(warm["encoder_id"]))


def test_export_in_child_says_why_it_failed(warm, tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a checkpoint")
    out, why = export_in_child(broken, str(warm["encoder_id"]))
    assert out is None and "CheckpointCorruptError" in why


def _run_without_torch(code: str) -> list[object]:
    prelude = (
        "import json, sys\n"
        "from app.core.capture.preprocess import Preprocessor\n"
        "from app.core.capture.synthetic import SyntheticSource\n"
        "from app.core.engine import Engine, EngineConfig\n"
        "def engine(**kw):\n"
        "    return Engine(SyntheticSource(320, 180), config=EngineConfig(), preprocessor=Preprocessor(112, 64), **kw)\n"
    )
    done = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_lean_engine_exports_a_model_without_an_export_in_a_child_and_never_imports_torch(warm):
    got = _run_without_torch(
        "e = engine(torch_in_process=False)\n"
        "e.warm_up(progress=lambda m: None)\n"
        f"meta = e.load_model({str(warm['plain'])!r})\n"
        "e.open_source(); e.capture_once(); tick = e.inference_once()\n"
        "print(json.dumps([e.lean, type(e._qnet.model).__name__, tick.ev is not None, meta.epoch,\n"
        "                  'torch' in sys.modules]))\n"
    )
    assert got == [True, "OrtQNet", True, 3, False]
    assert has_lean_export(warm["plain"], str(warm["encoder_id"]))


def test_a_lean_engine_that_must_not_import_torch_asks_for_a_restart(warm):
    Path(warm["onnx"]).write_bytes(Path(warm["onnx"]).read_bytes() + b"\0")  # the graph changed under it
    got = _run_without_torch(
        "from app.core.errors import ArcXError\n"
        "try:\n"
        "    engine(torch_in_process=False).warm_up(progress=lambda m: None)\n"
        "    said = None\n"
        "except ArcXError as exc:\n"
        "    said = str(exc)\n"
        "print(json.dumps([said, 'torch' in sys.modules]))\n"
    )
    said, loaded = got
    assert not loaded and said is not None
    assert "Restart ArcX" in str(said) and "the encoder graph changed" in str(said)


def test_the_warm_up_gives_freed_heap_back(monkeypatch):
    import app.core.engine.pipeline as pipeline
    from app.core.capture.preprocess import Preprocessor
    from app.core.capture.synthetic import SyntheticSource
    from app.core.engine import Engine, EngineConfig

    calls = []
    monkeypatch.setattr(pipeline, "return_free_heap", lambda: calls.append(1))
    engine = Engine(SyntheticSource(320, 180), config=EngineConfig(device="cpu"), preprocessor=Preprocessor(112, 64),
                    encoder=GridLatents(), encoder_id="enc")
    engine.warm_up(progress=lambda m: None)
    engine.warm_up(progress=lambda m: None)  # idempotent: nothing more to give back
    assert calls == [1]


class GridLatents:
    name = "grid"

    def encode(self, frames):
        return frames.reshape(len(frames), -1)[:, :8].astype("float32")

