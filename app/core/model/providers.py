"""ONNX Runtime execution providers for the chosen device, without torch.

`device.select_device` decides the device kind (cuda, rocm, directml, cpu); this module
turns that kind into the execution providers an ONNX Runtime session asks for, and
opens the session, falling back to the CPU with a logged reason when the provider is
missing or cannot run the graph:

    kind       provider                     package that brings it
    cuda       CUDAExecutionProvider        onnxruntime-gpu (NVIDIA)
    rocm       MIGraphXExecutionProvider,   onnxruntime-migraphx / onnxruntime-rocm (AMD on Linux)
               ROCMExecutionProvider
    directml   DmlExecutionProvider         onnxruntime-directml (any DirectX 12 GPU on Windows:
                                            AMD, Intel, NVIDIA)
    cpu        CPUExecutionProvider         onnxruntime

Inference on AMD and Intel GPUs goes through DirectML here (`runtime.py`'s `ort-gpu`
path); torch-directml stays for training only. Only one onnxruntime package can be
installed at a time (they all provide the `onnxruntime` module), and each GPU package
also has the CPU provider, which is always listed last so that operators the GPU
provider lacks still run.

A session that asked for a GPU provider and got the CPU anyway (onnxruntime drops a
provider that fails to initialise, e.g. CUDA libraries that do not load, and retries on
the CPU) is reported as a fallback: `OpenedSession.choice.fell_back`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from app.core.model.ortsession import CPU_PROVIDERS, open_session

log = logging.getLogger(__name__)

__all__ = [
    "CPU_PROVIDER",
    "GPU_KINDS",
    "OpenVinoSession",
    "OpenedSession",
    "ProviderChoice",
    "ProviderUnavailableError",
    "available_providers",
    "choose_providers",
    "open_on_device",
]

CPU_PROVIDER = CPU_PROVIDERS[0]
# Device kind → (providers in order of preference, the package that brings them).
_BY_KIND: dict[str, tuple[tuple[str, ...], str]] = {
    "cuda": (("CUDAExecutionProvider",), "onnxruntime-gpu"),
    "rocm": (("MIGraphXExecutionProvider", "ROCMExecutionProvider"), "onnxruntime-migraphx or onnxruntime-rocm"),
    "directml": (("DmlExecutionProvider",), "onnxruntime-directml"),
    "cpu": ((CPU_PROVIDER,), "onnxruntime"),
}
GPU_KINDS: tuple[str, ...] = ("cuda", "rocm", "directml")
"""Device kinds that have a GPU execution provider."""


class ProviderUnavailableError(RuntimeError):
    """The device's execution provider is missing or cannot run the graph (the message says which)."""


@dataclass(frozen=True)
class ProviderChoice:
    """Which execution provider runs a graph for one device, and why."""

    kind: str
    """the device kind asked for (cuda, rocm, directml, cpu)"""
    index: int
    """the device index asked for (`cuda:1` → 1); passed to the provider as device_id"""
    provider: str
    """the provider that runs the graph (CPUExecutionProvider after a fallback)"""
    providers: tuple[str | tuple[str, dict[str, str]], ...]
    """what the session is given: the provider with its options, then the CPU provider"""
    fell_back: bool
    """True when a GPU provider was asked for and the CPU runs the graph instead"""
    reason: str
    """one sentence: what runs the graph and, after a fallback, why"""

    @property
    def on_gpu(self) -> bool:
        return self.provider != CPU_PROVIDER


@dataclass(frozen=True)
class OpenedSession:
    """A session and the provider choice it was opened with."""

    session: Any
    """the onnxruntime.InferenceSession"""
    choice: ProviderChoice


def available_providers() -> tuple[str, ...]:
    """The execution providers the installed onnxruntime package has (ImportError without one)."""
    import onnxruntime as ort

    return tuple(ort.get_available_providers())


def _cpu(kind: str, index: int, reason: str) -> ProviderChoice:
    return ProviderChoice(kind, index, CPU_PROVIDER, CPU_PROVIDERS, kind != "cpu", reason)


def choose_providers(kind: str, index: int = 0, *, available: Sequence[str] | None = None) -> ProviderChoice:
    """The providers for device `kind` (see the module table); the CPU when the package is missing.

    available: the installed providers (default: onnxruntime's own list).
    Raises ValueError for an unknown kind, ImportError when onnxruntime is not installed.
    """
    kind = kind.strip().lower()
    if kind not in _BY_KIND:
        raise ValueError(f"unknown device kind '{kind}'; choose one of {', '.join(_BY_KIND)}")
    if index < 0:
        raise ValueError(f"device index must be ≥ 0, got {index}")
    have = tuple(available) if available is not None else available_providers()
    if kind == "cpu":
        return _cpu(kind, index, "ONNX Runtime on the CPU")
    wanted, package = _BY_KIND[kind]
    provider = next((p for p in wanted if p in have), None)
    if provider is None:
        return _cpu(
            kind, index,
            f"{' / '.join(wanted)} is not in this onnxruntime (it has {', '.join(have) or 'none'}); "
            f"install {package} instead of onnxruntime to run the encoder on the GPU. Running on the CPU",
        )
    options = {"device_id": str(index)}
    return ProviderChoice(
        kind, index, provider, ((provider, options), CPU_PROVIDER), False, f"ONNX Runtime {provider} on {kind}:{index}"
    )


def gpu_only_onnxruntime_has(setting: str | None, *, available: Sequence[str] | None = None) -> tuple[str, int] | None:
    """A GPU that ONNX Runtime can run the encoder on although torch runs on the CPU, or None.

    The case: DirectML through onnxruntime-directml without torch-directml (Python 3.13+,
    where torch-directml has no wheels, or a player who installed only the inference
    package). `setting` is the player's device setting: "auto" and "directml" (with an
    index, "directml:1") qualify; "cpu" and the torch GPU kinds do not (the player chose
    the CPU, or torch runs on that GPU itself)."""
    spec = (setting or "auto").strip().lower()
    kind, _, index = spec.partition(":")
    if kind not in ("auto", "directml"):
        return None
    try:
        have = tuple(available) if available is not None else available_providers()
    except ImportError:
        return None
    if "DmlExecutionProvider" not in have:
        return None
    return ("directml", int(index) if index.isdigit() else 0)


def _preload_cuda_libraries() -> None:
    """Let onnxruntime-gpu (≥ 1.21) load the CUDA and cuDNN libraries torch or the nvidia-* wheels ship.

    Without torch imported first (a lean start) the CUDA provider would otherwise look
    for them on the system path only. Best effort: a failure shows as the provider's own."""
    import onnxruntime as ort

    preload = getattr(ort, "preload_dlls", None)
    if preload is None:
        return
    try:
        preload()
    except Exception as exc:  # the session creation that follows reports what is missing
        log.debug("onnxruntime.preload_dlls() failed: %s", exc)


def open_on_device(
    path: str | Path, kind: str, index: int = 0, *, threads: int = 1, allow_cpu: bool = True
) -> OpenedSession:
    """A session on the graph at `path` for device `kind`, with a logged fallback to the CPU.

    The fallback happens when the provider is not installed, when creating the session
    with it raises, or when onnxruntime quietly dropped it (the session's first provider
    is not the one asked for). allow_cpu=False raises RuntimeError instead of falling
    back: ProviderUnavailableError (a caller that only wants the graph on the GPU).
    Errors of the CPU session itself are raised as they are.
    """
    choice = choose_providers(kind, index)
    if choice.provider == "CUDAExecutionProvider":
        _preload_cuda_libraries()
    if choice.on_gpu:
        try:
            session = open_session(path, threads, providers=choice.providers)
        except Exception as exc:  # a provider that cannot initialise or run this graph
            choice = _cpu(kind, index, f"{choice.provider} could not open the graph ({type(exc).__name__}: "
                                       f"{str(exc).strip()[:200]}). Running on the CPU")
        else:
            got = tuple(session.get_providers())
            if got and got[0] == choice.provider:
                log.info("encoder graph %s: %s", Path(path).name, choice.reason)
                return OpenedSession(session, choice)
            choice = _cpu(kind, index, f"onnxruntime did not start {choice.provider} (the session runs on "
                                       f"{', '.join(got) or 'nothing'}). Running on the CPU")
    if choice.fell_back:
        if not allow_cpu:
            raise ProviderUnavailableError(choice.reason)
        log.warning("%s", choice.reason)
    session = open_session(path, threads, providers=CPU_PROVIDERS)
    return OpenedSession(session, replace(choice, providers=CPU_PROVIDERS))


# ---------------------------------------------------------------------------- OpenVINO


class OpenVinoSession:
    """OpenVINO's own CPU runtime on an ONNX graph: one input, one output, numpy in and out.

    Used by the `ov-int8` encoder path on the same QDQ graph ONNX Runtime runs: OpenVINO
    fuses its Quantize/Dequantize pairs into oneDNN INT8 kernels. Configured for a game
    beside it: `threads` inference threads, one stream, latency mode, no CPU pinning.
    Needs the `openvino` package (ImportError without it); no torch.
    """

    def __init__(self, path: str | Path, threads: int = 1) -> None:
        import openvino as ov

        core = ov.Core()
        self.compiled = core.compile_model(str(path), "CPU", {
            "INFERENCE_NUM_THREADS": max(1, int(threads)),
            "NUM_STREAMS": 1,
            "PERFORMANCE_HINT": "LATENCY",
            "ENABLE_CPU_PINNING": False,  # the game's threads may want those cores
        })
        self._request = self.compiled.create_infer_request()
        self.version = str(ov.__version__).split("-")[0]
        hint = self.compiled.get_property("INFERENCE_PRECISION_HINT")  # for what INT8 does not cover
        self.precision = str(getattr(hint, "get_type_name", lambda: hint)())

    def run(self, inputs: Any) -> Any:
        """Runs one request: `inputs` is the graph's one input array; returns its one output array."""
        out = self._request.infer({0: inputs})
        # copy: the request's output tensor is reused by the next call
        return np.array(next(iter(out.values())), dtype=np.float32, copy=True)
