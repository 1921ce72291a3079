"""One way to open an ONNX Runtime session, shared by every ONNX graph ArcX runs.

The encoder paths (`fast.OrtBackend`), the lean live encoder (`lean.LeanEncoder`) and the
exported Q-net (`onnx_qnet.OrtQNet`) all open their graphs here, so the options that
matter beside a game are set in one place:

* `threads` intra-op threads, one inter-op thread, sequential execution;
* `allow_spinning=0`: spinning worker threads would burn a core the game needs between
  frames;
* every graph optimisation on; errors only in ONNX Runtime's own log.

`config` adds session config entries and `optimization` lowers the graph optimisation
level; the defaults are what measured best (`benchmarks/encoders.py`), the knobs are for
that benchmark. Which execution providers to ask for on a GPU device is `providers.py`'s
business; this module only passes them on.

This module does not import torch: the lean live path runs without it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

__all__ = ["CPU_PROVIDERS", "OPTIMIZATION_LEVELS", "open_session"]

CPU_PROVIDERS: tuple[str, ...] = ("CPUExecutionProvider",)

Optimization = Literal["all", "layout", "extended", "basic", "disable"]
OPTIMIZATION_LEVELS: dict[str, str] = {
    "all": "ORT_ENABLE_ALL",  # layout (NHWC) transformations included
    "layout": "ORT_ENABLE_LAYOUT",  # onnxruntime ≥ 1.23
    "extended": "ORT_ENABLE_EXTENDED",
    "basic": "ORT_ENABLE_BASIC",
    "disable": "ORT_DISABLE_ALL",
}
"""`optimization` names → onnxruntime.GraphOptimizationLevel members."""


def open_session(
    path: str | Path,
    threads: int,
    *,
    providers: Sequence[str | tuple[str, dict[str, Any]]] = CPU_PROVIDERS,
    config: Mapping[str, str] | None = None,
    optimization: Optimization = "all",
    optimized_model_path: str | Path | None = None,
    spinning: bool = False,
) -> Any:
    """An `onnxruntime.InferenceSession` on the graph at `path`.

    providers: execution providers in order of preference, each a name or (name, options).
    config: extra session config entries (`session.set_denormal_as_zero`: "1", …).
    optimized_model_path: also write the optimised graph there (onnxruntime's own option).
    spinning: let idle worker threads spin (off beside a game; for benchmarks only).
    """
    if optimization not in OPTIMIZATION_LEVELS:
        raise ValueError(f"unknown optimization level '{optimization}'; choose one of {', '.join(OPTIMIZATION_LEVELS)}")
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = max(1, int(threads))
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, OPTIMIZATION_LEVELS[optimization])
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    for key, value in (config or {}).items():
        so.add_session_config_entry(key, value)
    names = [p if isinstance(p, str) else p[0] for p in providers]
    if "DmlExecutionProvider" in names:
        so.enable_mem_pattern = False  # DirectML supports neither memory patterns nor parallel execution
    if optimized_model_path is not None:
        so.optimized_model_filepath = str(optimized_model_path)
    so.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), so, providers=list(providers))
