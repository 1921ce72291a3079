"""The Q-net in ONNX Runtime: the live path's second model without torch.

    path = export_qnet_onnx(model, cache / "qnet.onnx")     # needs torch (once per model)
    qnet = OrtQNet(path)                                    # needs onnxruntime only
    quantiles = qnet(window)                                # float32 [B, L, D] → [B, A, K]
    check_qnet_fidelity(model, qnet, windows)               # cosine ≥ FAITHFUL_COSINE, per row

The exported graph is the whole `TemporalQNet.forward` (standardisation buffers, BiGRU,
attention pooling, LayerNorm, head) with the batch and the window length dynamic, opset
`QNET_OPSET`, written by the TorchScript exporter. Like the encoder's fast paths
(`runtime.py`), an export is used only when it reproduces the torch model: every row's
quantiles have cosine ≥ `FAITHFUL_COSINE` with torch's and lie within `MAX_ABS_ERROR`
(network units) of them. The session runs with one thread and `allow_spinning=0`.

This module imports torch only inside `export_qnet_onnx` and `check_qnet_fidelity`, so
the live engine can load and run an exported Q-net without it.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from app.core.atomic import atomic_path

if TYPE_CHECKING:
    from app.core.model.qnet import TemporalQNet

__all__ = [
    "MAX_ABS_ERROR",
    "QNET_INPUT",
    "QNET_OPSET",
    "QNET_OUTPUT",
    "OrtQNet",
    "check_qnet_fidelity",
    "export_qnet_onnx",
]

QNET_OPSET = 17
QNET_INPUT = "window"  # float32 [B, L, D]
QNET_OUTPUT = "quantiles"  # float32 [B, A, K]
# Largest |ORT − torch| of any quantile, in network units (targets are scaled to ≈ 1).
MAX_ABS_ERROR = 1e-3


def export_qnet_onnx(model: TemporalQNet, path: Path) -> Path:
    """Export `model` (eval mode, CPU) with dynamic batch and window length; atomic write."""
    import torch

    from app.core.model.fast import _quiet

    cfg = model.config
    example = torch.zeros((1, cfg.seq_len, cfg.latent_dim), dtype=torch.float32)  # (B, L, D)
    kwargs: dict[str, Any] = {
        "input_names": [QNET_INPUT],
        "output_names": [QNET_OUTPUT],
        "opset_version": QNET_OPSET,
        "dynamic_axes": {QNET_INPUT: {0: "batch", 1: "window"}, QNET_OUTPUT: {0: "batch"}},
    }
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    was_training = model.training
    model = model.to("cpu").eval()
    try:
        with atomic_path(path, suffix=".onnx", durable=False) as tmp, _quiet(), torch.no_grad():
            torch.onnx.export(model, (example,), str(tmp), **kwargs)
    finally:
        model.train(was_training)
    return path


class OrtQNet:
    """An exported Q-net in an ONNX Runtime session: float32 [B, L, D] → [B, A, K]."""

    def __init__(self, path: Path, *, threads: int = 1) -> None:
        from app.core.model.ortsession import open_session

        self.path = Path(path)
        self.session = open_session(path, threads)
        shape = self.session.get_inputs()[0].shape  # [batch, window, D]
        self.latent_dim = int(shape[2])

    def __call__(self, window: NDArray[np.float32]) -> NDArray[np.float32]:
        """window: float32 [B, L, D] (or [L, D], a batch of one) → quantiles [B, A, K]."""
        z = np.asarray(window, dtype=np.float32)
        if z.ndim == 2:
            z = z[None]  # (1, L, D)
        if z.ndim != 3 or z.shape[-1] != self.latent_dim or z.shape[1] < 1:
            raise ValueError(f"expected latents [B, L ≥ 1, {self.latent_dim}], got {list(z.shape)}")
        (q,) = self.session.run([QNET_OUTPUT], {QNET_INPUT: np.ascontiguousarray(z)})
        return np.asarray(q, dtype=np.float32)  # (B, A, K)


def check_qnet_fidelity(model: TemporalQNet, qnet: OrtQNet, windows: NDArray[np.float32]) -> tuple[float, float]:
    """(worst row cosine, largest |difference|) of `qnet` against `model` on `windows` [B, L, D]."""
    import torch

    from app.core.model.runtime import cosine_rows

    with torch.no_grad():
        ref = model.eval()(torch.from_numpy(np.asarray(windows, dtype=np.float32))).numpy()  # (B, A, K)
    got = qnet(windows)
    B = len(ref)
    cos = cosine_rows(got.reshape(B, -1), ref.reshape(B, -1))
    return float(cos.min()), float(np.abs(got - ref).max())
