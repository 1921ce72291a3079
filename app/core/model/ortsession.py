"""One way to open an ONNX Runtime session, shared by every ONNX graph ArcX runs.

The encoder paths (`fast.OrtBackend`), the lean live encoder (`lean.LeanEncoder`) and the
exported Q-net (`onnx_qnet.OrtQNet`) all open their graphs here, so the options that
matter beside a game are set in one place:

* `threads` intra-op threads, one inter-op thread, sequential execution;
* `allow_spinning=0`: spinning worker threads would burn a core the game needs between
  frames;
* every graph optimisation on; errors only in ONNX Runtime's own log.

This module does not import torch: the lean live path runs without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["CPU_PROVIDERS", "open_session"]

CPU_PROVIDERS: tuple[str, ...] = ("CPUExecutionProvider",)


def open_session(
    path: str | Path, threads: int, *, providers: Sequence[str] = CPU_PROVIDERS
) -> Any:
    """An `onnxruntime.InferenceSession` on the graph at `path`."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = max(1, int(threads))
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), so, providers=list(providers))
