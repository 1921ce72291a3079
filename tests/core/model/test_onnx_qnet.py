"""The Q-net exported to ONNX reproduces the torch model (app/core/model/onnx_qnet.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from app.core.model.onnx_qnet import MAX_ABS_ERROR, OrtQNet, check_qnet_fidelity, export_qnet_onnx
from app.core.model.qnet import QNetConfig, TemporalQNet
from app.core.model.runtime import FAITHFUL_COSINE

pytest.importorskip("onnxruntime")

D = 48  # latent size; the rest of the Q-net is the default (1-layer BiGRU, hidden 64)


def trained_like(seed: int) -> TemporalQNet:
    """A default-architecture net with non-trivial input statistics, as training leaves it."""
    torch.manual_seed(seed)
    net = TemporalQNet(QNetConfig(latent_dim=D))
    net.set_input_stats(torch.randn(200, D) * 3.0 + 1.5)
    return net.eval()


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[TemporalQNet, Path]:
    net = trained_like(0)
    return net, export_qnet_onnx(net, tmp_path_factory.mktemp("qnet") / "qnet.onnx")


def windows(B: int, L: int, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((B, L, D)) * 3.0 + 1.5).astype(np.float32)


@pytest.mark.parametrize(("B", "L"), [(1, 32), (4, 32), (3, 5), (1, 1)])
def test_the_export_reproduces_torch_at_any_batch_and_window(exported, B, L):
    net, path = exported
    qnet = OrtQNet(path)
    out = qnet(windows(B, L, seed=B * 100 + L))
    assert out.shape == (B, net.config.num_actions, net.config.num_quantiles) and out.dtype == np.float32
    cos, err = check_qnet_fidelity(net, qnet, windows(B, L, seed=B * 100 + L))
    assert cos >= FAITHFUL_COSINE and err <= MAX_ABS_ERROR


def test_another_models_export_fails_the_check(exported, tmp_path):
    net, _ = exported
    other = OrtQNet(export_qnet_onnx(trained_like(1), tmp_path / "other.onnx"))
    _, err = check_qnet_fidelity(net, other, windows(8, 32, seed=5))
    assert err > MAX_ABS_ERROR


def test_export_leaves_the_model_in_its_mode(tmp_path):
    net = trained_like(2).train()
    export_qnet_onnx(net, tmp_path / "q.onnx")
    assert net.training and not list(tmp_path.glob(".*"))  # no temporary file left


def test_bad_windows_are_refused(exported):
    qnet = OrtQNet(exported[1])
    assert qnet(windows(1, 32, 0)[0]).shape[0] == 1  # [L, D] is a batch of one
    with pytest.raises(ValueError):
        qnet(np.zeros((1, 32, D + 1), dtype=np.float32))
    with pytest.raises(ValueError):
        qnet(np.zeros((1, 0, D), dtype=np.float32))


def test_running_an_exported_qnet_does_not_import_torch(exported):
    """The live side of the export needs onnxruntime and numpy only."""
    code = (
        "import sys, numpy as np\n"
        "from app.core.model.onnx_qnet import OrtQNet\n"
        f"q = OrtQNet({str(exported[1])!r})\n"
        f"print(q(np.zeros((1, 32, {D}), np.float32)).shape)\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    cfg = exported[0].config
    shape, torch_loaded = done.stdout.strip().splitlines()
    assert shape == str((1, cfg.num_actions, cfg.num_quantiles)) and torch_loaded == "False"
