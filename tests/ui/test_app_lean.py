"""The desktop app's lean start: from warm caches it computes in ONNX Runtime and never
imports torch, at start-up, after a training's model swap, and after a swap of a model
that had no ONNX export yet (exported in a child process).

The app runs in a subprocess (`lean_app_child.py`): the real `app.ui.app.start`, offscreen,
on the synthetic source, with the fake hotkey backend, in a temp `ARCX_HOME` prepared as
a torch start leaves it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from app.core.data.synthetic import SyntheticConfig, record_runs
from app.core.model.checkpoint import read_metadata, save_checkpoint
from app.core.model.encoder import load_encoder
from app.core.model.fast import export_onnx
from app.core.model.lean import export_qnet_for_lean, has_lean_export, write_live_record
from app.core.model.qnet import QNetConfig, TemporalQNet

pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.gui

CHILD = Path(__file__).with_name("lean_app_child.py")
REPO = Path(__file__).resolve().parents[2]
# The synthetic runs' latents are 512-dim like the real encoder's; the record names their
# encoder id, so a model trained on them fits the lean engine.
RUNS = SyntheticConfig(latent_dim=512, max_duration_s=60.0, threshold_median=20_000.0)
SMALL_QNET = QNetConfig(latent_dim=512, hidden=16, num_layers=1, attn_dim=16, head_dim=32)


def small_model(path: Path, seed: int) -> tuple[Path, TemporalQNet]:
    torch.manual_seed(seed)
    net = TemporalQNet(SMALL_QNET)
    net.set_input_stats(torch.randn(64, 512))
    save_checkpoint(path, net, encoder_id=RUNS.encoder_id, value_scale=1000.0, epoch=seed, val_loss=0.5)
    return path, net


@pytest.fixture(scope="module")
def lean_app(tmp_path_factory):
    """Run the app once in a prepared home; the notes it wrote, and the home."""
    home = tmp_path_factory.mktemp("lean-home")
    cache = home / "cache"
    encoder, _ = load_encoder(search_bundled=False)  # the app's default encoder, random init
    onnx = export_onnx(encoder, cache / "encoders" / "encoder_fp32.onnx")
    write_live_record(path_name="ort-fp32", onnx=onnx, encoder_id=RUNS.encoder_id, weights=None, threads=1,
                      device="auto", encoder_path="auto", reason="ort-fp32: prepared by the test", root=cache)
    model, net = small_model(home / "data" / "models" / "qnet.safetensors", seed=1)
    assert export_qnet_for_lean(net, read_metadata(model)["content_sha256"], root=cache) is not None
    record_runs(home / "data" / "runs", 6, RUNS, seed=1)
    plain, _ = small_model(home / "plain.safetensors", seed=2)  # never exported
    out = home / "notes.json"
    env = {**os.environ, "ARCX_HOME": str(home), "ARCX_SOURCE": "synthetic", "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": str(REPO)}
    env.pop("ARCX_DEVICE", None)
    done = subprocess.run([sys.executable, str(CHILD), str(out), str(plain)], env=env, capture_output=True,
                          text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(out.read_text(encoding="utf-8")), home, plain


def test_the_app_starts_lean_and_reports_the_cpu_it_computes_on(lean_app):
    notes, _home, _plain = lean_app
    warm = notes["warm"]
    assert warm["lean"] and warm["model"] == "OrtQNet" and warm["status_device"] == "cpu"
    assert warm["torch_calls"] == []  # no select_device, no torch warm-up, no torch model load
    report = notes["report"]
    assert report == {**report, "lean": True, "kind": "cpu", "device": "cpu"}
    assert notes["idle_encoded"] == 0  # in the tray, before F8: frames checked, none encoded
    assert "cpu:" in report["tooltip"]


def test_a_trained_model_is_exported_by_the_training_child_and_swapped_in_without_torch(lean_app):
    notes, home, _plain = lean_app
    model = home / "data" / "models" / "qnet.safetensors"
    assert notes["trained"]["result"] == str(model) and notes["swap"] is True
    swapped = notes["swapped"]
    assert swapped["model"] == "OrtQNet" and swapped["model_path"] == str(model)
    assert swapped["torch_calls"] == []
    assert has_lean_export(model, RUNS.encoder_id, root=home / "cache")


def test_a_model_without_an_export_is_exported_for_the_lean_engine(lean_app):
    """It is exported in a child process (which imports torch, the app does not) and runs
    in ONNX Runtime."""
    notes, home, plain = lean_app
    assert notes["plain_swap"] is True and notes["plain"]["model_path"] == str(plain)
    assert notes["plain"]["model"] == "OrtQNet" and notes["plain"]["torch_calls"] == []
    assert has_lean_export(plain, RUNS.encoder_id, root=home / "cache")


def test_torch_is_never_imported_by_the_lean_app(lean_app):
    notes, _home, _plain = lean_app
    assert not notes["torch_after_import"], notes["torch_first_import"]
    assert [notes[s]["torch"] for s in ("warm", "swapped", "plain")] == [False, False, False]


def test_importing_the_widgets_does_not_import_torch():
    """What a lean start on Windows relies on: app/ui/__init__.py skips the early torch
    import, so nothing the widgets import may load torch after PyQt6."""
    code = ("import sys, app.ui.app, app.ui.demo, app.ui.training_dialog, app.workers.training\n"
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "False"
