"""A fake `onnxruntime` module with GPU execution providers that run on the real CPU one.

Neither CUDA nor DirectML runs here, so the tests install this module in place of
onnxruntime: it says which providers it "has", records every session it is asked for,
can make a provider fail or be quietly dropped (as onnxruntime does when a provider
cannot initialise), and runs every graph on the real CPU provider, so what a session
computes is real.
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper


def _names(providers: Iterable[Any]) -> list[str]:
    return [p if isinstance(p, str) else p[0] for p in providers]


class FakeSession:
    """A real CPU session that reports the providers the fake pretends to run it on."""

    def __init__(self, real: Any, providers: list[str]) -> None:
        self._real = real
        self._providers = providers

    def get_providers(self) -> list[str]:
        return list(self._providers)

    def __getattr__(self, name: str) -> Any:  # run, get_inputs, ...
        return getattr(self._real, name)


class FakeOrt(types.ModuleType):
    """`onnxruntime` with the given providers. broken: raise when asked; dropped: silently not used."""

    def __init__(
        self, available: Iterable[str], *, broken: Iterable[str] = (), dropped: Iterable[str] = ()
    ) -> None:
        import onnxruntime as real

        # The quantizer's modules, imported now while `onnxruntime` is still the real
        # package, keep using the real one; any other submodule is found in the real
        # package's folder (`__path__`).
        import onnxruntime.quantization  # noqa: F401
        import onnxruntime.quantization.shape_inference  # noqa: F401
        import onnxruntime.tools.symbolic_shape_infer  # noqa: F401

        super().__init__("onnxruntime")
        self.__path__ = list(real.__path__)
        self.real = real
        self.available = list(available)
        self.broken, self.dropped = set(broken), set(dropped)
        self.SessionOptions = real.SessionOptions
        self.ExecutionMode = real.ExecutionMode
        self.GraphOptimizationLevel = real.GraphOptimizationLevel
        self.__version__ = real.__version__
        self.opened: list[tuple[list[Any], Any]] = []
        """(providers, session options) of every session asked for"""
        self.preloaded = 0
        """calls of preload_dlls (onnxruntime-gpu's loader of torch's / nvidia-*'s CUDA libraries)"""

    def preload_dlls(self) -> None:
        self.preloaded += 1

    def get_available_providers(self) -> list[str]:
        return list(self.available)

    def InferenceSession(self, path: str, so: Any = None, providers: Iterable[Any] = ()) -> FakeSession:  # noqa: N802
        providers = list(providers)
        self.opened.append((providers, so))
        names = _names(providers)
        for name in names:
            if name not in self.available:
                raise ValueError(f"{name} is not in available provider names")
            if name in self.broken:
                raise RuntimeError(f"{name}: CUDA driver version is insufficient for CUDA runtime version")
        real = self.real.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        return FakeSession(real, [n for n in names if n not in self.dropped])


def add_one_graph(path: Path) -> Path:
    """A tiny ONNX graph: float32 x [B, 3] → y = x + 1."""
    one = helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "one"], ["y"])], "add_one",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", 3])],
        initializer=[one],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def run_add_one(session: Any) -> np.ndarray:
    return np.asarray(session.run(None, {"x": np.array([[1.0, 2.0, 3.0]], np.float32)})[0])
