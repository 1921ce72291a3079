"""The lean live path: an engine that starts from the caches without importing torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from app.core.capture.preprocess import Preprocessor
from app.core.capture.synthetic import SyntheticSource
from app.core.engine import Engine, EngineConfig
from app.core.errors import CheckpointMismatchError
from app.core.model.checkpoint import read_metadata, save_checkpoint
from app.core.model.encoder import EncoderConfig, load_encoder
from app.core.model.fast import export_onnx
from app.core.model.lean import (
    export_qnet_for_lean,
    load_lean_qnet,
    read_live_record,
    write_live_record,
)
from app.core.model.onnx_qnet import OrtQNet
from app.core.model.qnet import QNetConfig, TemporalQNet

pytest.importorskip("onnxruntime")

SMALL = EncoderConfig(latent_dim=32, height=64, width=112)


@pytest.fixture
def cache(tmp_path: Path) -> dict[str, object]:
    """What a torch start leaves behind: the encoder graph, its record, a checkpoint and its export."""
    model, _ = load_encoder(config=SMALL, search_bundled=False)
    onnx = export_onnx(model, tmp_path / "encoder_fp32.onnx")
    write_live_record(path_name="ort-fp32", onnx=onnx, encoder_id=model.encoder_id(), weights=None, threads=1,
                      device="cpu", encoder_path="auto", reason="ort-fp32: a test")
    torch.manual_seed(0)
    net = TemporalQNet(QNetConfig(latent_dim=SMALL.latent_dim))
    net.set_input_stats(torch.randn(64, SMALL.latent_dim))
    ckpt = save_checkpoint(tmp_path / "qnet.safetensors", net, encoder_id=model.encoder_id(), value_scale=100.0,
                           epoch=3, val_loss=0.5)
    assert export_qnet_for_lean(net, read_metadata(ckpt)["content_sha256"]) is not None
    return {"onnx": onnx, "ckpt": ckpt, "encoder_id": model.encoder_id(), "net": net}


def lean_engine() -> Engine:
    engine = Engine(SyntheticSource(320, 180), config=EngineConfig(device="cpu"), preprocessor=Preprocessor(112, 64))
    engine.warm_up(progress=lambda m: None)
    return engine


def test_a_lean_engine_gives_ev_without_importing_torch(cache):
    code = (
        "import sys\n"
        "from app.core.capture.preprocess import Preprocessor\n"
        "from app.core.capture.synthetic import SyntheticSource\n"
        "from app.core.engine import Engine, EngineConfig\n"
        "e = Engine(SyntheticSource(320, 180), config=EngineConfig(device='cpu'), preprocessor=Preprocessor(112, 64))\n"
        "e.warm_up(progress=lambda m: None)\n"
        f"meta = e.load_model({str(cache['ckpt'])!r})\n"
        "e.open_source()\n"
        "e.capture_once()\n"
        "tick = e.inference_once()\n"
        "print(json.dumps([e.lean, e.encoder_path, tick.ev is not None, meta.epoch, e.status().device,\n"
        "                  'torch' in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", "import json\n" + code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [True, "ort-fp32", True, 3, "cpu", False]


def test_the_lean_qnet_gives_the_torch_models_quantiles(cache):
    engine = lean_engine()
    engine.load_model(cache["ckpt"])
    loaded = engine._qnet
    assert engine.lean and isinstance(loaded.model, OrtQNet)
    window = torch.randn(1, 32, SMALL.latent_dim)
    with torch.no_grad():
        expected = cache["net"](window).numpy()
    assert abs(loaded.model(window.numpy()) - expected).max() < 1e-4


def test_a_model_without_an_export_loads_with_torch_and_is_exported_for_next_time(cache, tmp_path):
    engine = lean_engine()
    torch.manual_seed(1)
    other = save_checkpoint(tmp_path / "other.safetensors", TemporalQNet(QNetConfig(latent_dim=SMALL.latent_dim)),
                            encoder_id=str(cache["encoder_id"]), value_scale=10.0, epoch=1, val_loss=1.0)
    assert load_lean_qnet(other, str(cache["encoder_id"])) is None
    engine.load_model(other)
    assert isinstance(engine._qnet.model, TemporalQNet)  # torch, this once
    assert load_lean_qnet(other, str(cache["encoder_id"])) is not None


def test_a_model_of_another_encoder_is_refused_by_the_lean_loader(cache, tmp_path):
    engine = lean_engine()
    foreign = save_checkpoint(tmp_path / "f.safetensors", TemporalQNet(QNetConfig(latent_dim=SMALL.latent_dim)),
                              encoder_id="another-encoder", value_scale=10.0, epoch=1, val_loss=1.0)
    with pytest.raises(CheckpointMismatchError):
        engine.load_model(foreign)


def test_the_record_holds_only_for_its_settings_and_files(cache):
    assert read_live_record(device="cpu", encoder_path="auto") is not None
    assert read_live_record(device="auto", encoder_path="auto") is None  # another device setting
    assert read_live_record(device="cpu", encoder_path="ort-int8") is None
    Path(cache["onnx"]).write_bytes(Path(cache["onnx"]).read_bytes() + b"\0")  # the graph changed
    assert read_live_record(device="cpu", encoder_path="auto") is None
