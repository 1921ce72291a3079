"""The training child exports the model it installed for lean starts (app/core/training/child.py)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from app.core import paths
from app.core.model.checkpoint import load_checkpoint
from app.core.model.lean import load_lean_qnet
from app.core.training.child import train_in_child
from tests.coretypes import D, L, small_config, small_dataset

pytest.importorskip("onnxruntime")


def test_the_installed_model_has_an_onnx_export_the_lean_loader_accepts(tmp_path, caplog):
    ds = small_dataset()
    out = tmp_path / "models" / "qnet.safetensors"
    with caplog.at_level("INFO"):  # the child sends records at the root logger's level
        result = train_in_child(small_config(), ds, out)
    assert result.checkpoint_path == out
    lean = load_lean_qnet(out, ds.encoder_id)
    assert lean is not None
    qnet, meta = lean
    assert meta.epoch == result.best_epoch and meta.value_scale == pytest.approx(result.value_scale)
    model, _ = load_checkpoint(out)
    window = np.random.default_rng(0).standard_normal((3, L, D)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(window)).numpy()
    assert np.abs(qnet(window) - expected).max() < 1e-4  # the ONNX Q-net is the installed model
    assert any("exported qnet.safetensors to ONNX" in r.getMessage() for r in caplog.records)


def test_a_cancelled_training_exports_nothing(tmp_path):
    cancel = threading.Event()
    cancel.set()
    result = train_in_child(small_config(epochs=50), small_dataset(), tmp_path / "qnet.safetensors", cancel=cancel)
    assert result.stopped == "cancelled" and result.checkpoint_path is None
    assert not list((paths.cache_dir() / "qnet").glob("*.onnx"))
