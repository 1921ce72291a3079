"""Encoder fast paths: the same FrameEncoder, run faster on a CPU.

Every path turns uint8 frames [B, H, W, 3] into float32 latents [B, D] and must agree
with the fp32 eager encoder (cosine ≥ 0.99; `runtime.py` checks that before using one):

    fp32            eager PyTorch, the reference (any device)
    channels-last   eager PyTorch with NHWC memory format
    compile         torch.compile (inductor); explicit only: a minute to compile per start
    ort-fp32        ONNX Runtime on the exported graph
    ort-int8        ONNX Runtime, static INT8 (QDQ, per-channel s8 weights, u8 activations,
                    calibrated on game-like frames; `Int8Recipe` names the other layouts)
    ao-int8         torch.ao FX static INT8 of the ResNet trunk (x86 backend);
                    normalisation, pooling and projection stay fp32
    ov-int8         OpenVINO's CPU runtime on the ort-int8 graph (needs the optional
                    `openvino` package; `providers.OpenVinoSession`)
    ort-gpu         ONNX Runtime on the fp32 graph with the GPU device's execution
                    provider (CUDA, MIGraphX/ROCm, DirectML: `providers.py`); GPU devices only

Artifacts are cached by `runtime.py`: the ONNX files as they are, the ao path as its
calibrated observer statistics (safetensors; quantized modules cannot be stored without
pickle, so the trunk is re-quantized from those statistics at start-up, ~2 s).

ONNX Runtime sessions run with `allow_spinning=0`: spinning worker threads would burn a
core the game needs between frames.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from app.core.atomic import atomic_path
from app.core.model.encoder import FrameEncoder
from app.core.model.ortsession import open_session

log = logging.getLogger(__name__)

PathName = Literal["fp32", "channels-last", "compile", "ort-fp32", "ort-int8", "ao-int8", "ov-int8", "ort-gpu"]
PATH_NAMES: tuple[PathName, ...] = (
    "fp32", "channels-last", "compile", "ort-fp32", "ort-int8", "ao-int8", "ov-int8", "ort-gpu"
)

ONNX_OPSET = 17
ONNX_INPUT = "frames"  # uint8 [B, H, W, 3]
ONNX_OUTPUT = "z"  # float32 [B, D]
# Observer buffers of the prepared FX graph (what calibration learned).
_OBSERVER_KEY = "activation_post_process"


class EncoderBackend(Protocol):
    """One way to run the encoder."""

    @property
    def name(self) -> str:
        """The path's name (`PATH_NAMES`), recorded with every run."""
        ...

    def encode(self, frames: NDArray[np.uint8]) -> NDArray[np.float32]:
        """uint8 [B, H, W, 3] → float32 [B, D]."""
        ...


def _as_batch(frames: NDArray[np.uint8]) -> NDArray[np.uint8]:
    arr = np.asarray(frames)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 [B, H, W, 3], got {arr.dtype} {list(arr.shape)}")
    return np.ascontiguousarray(arr)


class _RootChatter(logging.Filter):
    """Drops records logged on the *root* logger itself (below ERROR) and counts the warnings.

    onnxruntime's quantizer logs through `logging.info` / `logging.warning`, i.e. the root
    logger: one INFO line per tensor, and "Axis 1 is out-of-range for weight
    'proj.1.weight' with rank 1" for a 1-D weight (a norm's scale) it cannot quantize per
    channel, which it then quantizes per tensor. Nothing a player can act on. Records of
    named loggers (ours included) pass: they reach the root's handlers without this filter.
    """

    def __init__(self) -> None:
        super().__init__()
        self.warnings: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        if record.levelno >= logging.WARNING:
            self.warnings.append(record.getMessage())
        return False


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporters' and quantizers' chatter.

    Deprecation warnings from torch.onnx / torch.ao are ignored; onnxruntime's quantizer's
    root-logger lines are dropped by `_RootChatter`, and what it warned about is explained
    once, at DEBUG (`arcx -v` shows it).
    """
    root = logging.getLogger()
    chatter = _RootChatter()
    root.addFilter(chatter)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.removeFilter(chatter)
        if chatter.warnings:
            log.debug(
                "onnxruntime's quantizer warned %d time(s), e.g. %r; a weight it cannot quantize "
                "per channel (a 1-D norm scale) is quantized per tensor instead, and the INT8 "
                "encoder is still checked against fp32 (cosine) before it is used",
                len(chatter.warnings), chatter.warnings[0],
            )


# ------------------------------------------------------------------------------ torch


class TorchBackend:
    """Eager PyTorch on the model's device: `fp32`, or `channels-last` (CPU NHWC)."""

    def __init__(self, model: FrameEncoder, *, channels_last: bool = False) -> None:
        self.model = model.eval()
        self.channels_last = channels_last
        self.device = next(model.parameters()).device
        if channels_last:
            # torch 2.4's stubs lack the memory_format overload of Module.to (it works at run time)
            self.model = copy.deepcopy(model).to(memory_format=torch.channels_last).eval()  # type: ignore[call-overload]

    @property
    def name(self) -> str:
        return "channels-last" if self.channels_last else "fp32"

    def encode(self, frames: NDArray[np.uint8]) -> NDArray[np.float32]:
        x = torch.from_numpy(_as_batch(frames)).to(self.device)  # (B, H, W, 3)
        with torch.no_grad():  # not inference_mode: DirectML does not support it
            if self.channels_last:
                x = x.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)  # (B, 3, H, W)
            z = self.model(x)
        return z.float().cpu().numpy()


class CompiledBackend:
    """torch.compile of the eager encoder (CPU inductor needs a C++ compiler)."""

    name = "compile"

    def __init__(self, model: FrameEncoder) -> None:
        self.model = model.eval()
        self.compiled: Any = torch.compile(self.model)

    def encode(self, frames: NDArray[np.uint8]) -> NDArray[np.float32]:
        with torch.no_grad():
            z = self.compiled(torch.from_numpy(_as_batch(frames)))
        return z.float().numpy()  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------- ONNX


class _RowNormalised(nn.Module):
    """The encoder's forward for export, with the pixel normalisation done per image row.

    `FrameEncoder.forward` normalises in NCHW with per-channel constants; ONNX Runtime's
    layout optimiser moves that Sub/Div to the NHWC input, where a [3] constant broadcasts
    over spans of 3 values: 7 % of the INT8 encoder's time in a profile (5.7 of 78 ms).
    Here the frame is seen as [B, H, W·3] rows and the constants are tiled to W·3 values:
    the same arithmetic (x − mean) / std, one long span per row. (A Div, not a Mul by
    1/std: onnxruntime's quantizer would turn a Mul into a QLinearMul, 1.4 ms more.)
    """

    mean_row: torch.Tensor
    std_row: torch.Tensor

    def __init__(self, model: FrameEncoder) -> None:
        super().__init__()
        self.model = model
        W = model.config.width
        # (W·3,): r g b r g b …, in the 0..255 scale of FrameEncoder.pixel_mean / pixel_std
        self.register_buffer("mean_row", model.pixel_mean.detach().reshape(3).repeat(W))
        self.register_buffer("std_row", model.pixel_std.detach().reshape(3).repeat(W))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        cfg = self.model.config
        H, W = cfg.height, cfg.width
        x = frames.float().reshape(-1, H, W * 3)  # (B, H, W·3)
        x = (x - self.mean_row) / self.std_row
        x = x.reshape(-1, H, W, 3).permute(0, 3, 1, 2)  # (B, 3, H, W)
        feat = self.model.pool(self.model.trunk(x)).flatten(1)  # (B, 512)
        return self.model.proj(feat)  # type: ignore[no-any-return]  # (B, D)


def export_onnx(model: FrameEncoder, path: Path, *, row_normalise: bool = True) -> Path:
    """Export the whole encoder (uint8 NHWC in, latent out; batch dimension dynamic).

    Uses the TorchScript exporter (`dynamo=False`): one second, no extra dependency, and
    present from torch 2.4 on; the dynamo exporter (needs onnxscript) is the fallback.
    row_normalise: normalise the pixels per row (`_RowNormalised`, what the app uses);
    False exports `FrameEncoder.forward` as it is (the benchmark's comparison).
    """
    cfg = model.config
    example = torch.zeros((1, cfg.height, cfg.width, 3), dtype=torch.uint8)
    kwargs: dict[str, Any] = {
        "input_names": [ONNX_INPUT],
        "output_names": [ONNX_OUTPUT],
        "opset_version": ONNX_OPSET,
        "dynamic_axes": {ONNX_INPUT: {0: "batch"}, ONNX_OUTPUT: {0: "batch"}},
    }
    has_dynamo_flag = "dynamo" in inspect.signature(torch.onnx.export).parameters
    if next(model.parameters()).device.type != "cpu":
        # a CPU copy (through the state dict: DirectML tensors may not deep-copy); the
        # caller's model stays on its GPU
        cpu_model = type(model)(cfg)
        cpu_model.load_state_dict({k: v.detach().cpu() for k, v in model.state_dict().items()})
        model = cpu_model
    model = model.eval()
    exported: nn.Module = _RowNormalised(model).eval() if row_normalise else model
    with atomic_path(path, suffix=".onnx", durable=False) as tmp, _quiet(), torch.no_grad():
        try:
            if has_dynamo_flag:
                kwargs["dynamo"] = False
            torch.onnx.export(exported, (example,), str(tmp), **kwargs)
        except Exception as exc:
            if not has_dynamo_flag:
                raise
            log.debug("TorchScript ONNX export failed (%s); trying the dynamo exporter", exc)
            kwargs["dynamo"] = True
            kwargs.pop("dynamic_axes")
            kwargs["dynamic_shapes"] = ({0: torch.export.Dim("batch")},)
            torch.onnx.export(exported, (example,), str(tmp), **kwargs)
    return path


def ort_session(path: Path, threads: int) -> Any:
    """An ONNX Runtime CPU session: `threads` intra-op threads, no spinning."""
    return open_session(path, threads)


class OrtBackend:
    """ONNX Runtime on an exported (optionally quantized) encoder graph.

    session: an already opened session (`providers.open_on_device` for a GPU); by
    default a CPU session with `threads` threads. provider: the execution provider
    that runs it (for the selection report).
    """

    def __init__(
        self, path: Path, *, name: str, threads: int = 1, session: Any = None,
        provider: str = "CPUExecutionProvider",
    ) -> None:
        self.path = Path(path)
        self._name = name
        self.provider = provider
        self.session = session if session is not None else ort_session(self.path, threads)

    @property
    def name(self) -> str:
        return self._name

    def encode(self, frames: NDArray[np.uint8]) -> NDArray[np.float32]:
        out = self.session.run([ONNX_OUTPUT], {ONNX_INPUT: _as_batch(frames)})[0]
        return np.asarray(out, dtype=np.float32)


class OpenVinoBackend:
    """OpenVINO's CPU runtime on an exported encoder graph (`ov-int8`: the ort-int8 QDQ graph)."""

    def __init__(self, path: Path, *, name: str = "ov-int8", threads: int = 1) -> None:
        from app.core.model.providers import OpenVinoSession

        self.path = Path(path)
        self._name = name
        self.session = OpenVinoSession(self.path, threads)

    @property
    def name(self) -> str:
        return self._name

    def encode(self, frames: NDArray[np.uint8]) -> NDArray[np.float32]:
        return self.session.run(_as_batch(frames))  # type: ignore[no-any-return]


class _CalibrationReader:
    """Feeds calibration frames one by one to onnxruntime's quantizer."""

    def __init__(self, frames: NDArray[np.uint8]) -> None:
        self._frames = frames
        self._i = 0

    def get_next(self) -> dict[str, NDArray[np.uint8]] | None:
        if self._i >= len(self._frames):
            return None
        batch = self._frames[self._i : self._i + 1]
        self._i += 1
        return {ONNX_INPUT: batch}

    def rewind(self) -> None:
        self._i = 0


@dataclass(frozen=True)
class Int8Recipe:
    """How `quantize_onnx_int8` lays the INT8 graph out (onnxruntime's static quantizer's knobs).

    The default is the shipped `ort-int8` path; the others are what `benchmarks/encoders.py`
    measures beside it.
    """

    quant_format: Literal["qdq", "qoperator"] = "qdq"
    """QDQ (Quantize/DequantizeLinear pairs the runtime fuses) or QOperator (QLinearConv …)"""
    per_channel: bool = True
    """one weight scale per output channel (else one per tensor)"""
    activations: Literal["u8", "s8"] = "u8"
    """activation type: u8·s8 is the fast x86 kernel; s8 activations were 2× slower here"""
    weights: Literal["s8", "u8"] = "s8"
    """weight type: u8·u8 avoids the AVX2 u8·s8 kernel's int16 saturation, at a cost"""
    reduce_range: bool = False
    """7-bit weights: the quantizer's remedy for that saturation on AVX2 / non-VNNI AVX-512"""

    @property
    def tag(self) -> str:
        """A short name: `qdq-pc-u8s8`, `qop-pt-u8s8-rr`."""
        fmt = "qdq" if self.quant_format == "qdq" else "qop"
        scope = "pc" if self.per_channel else "pt"
        return f"{fmt}-{scope}-{self.activations}{self.weights}" + ("-rr" if self.reduce_range else "")


def quantize_onnx_int8(
    fp32_path: Path, out_path: Path, calibration: NDArray[np.uint8], recipe: Int8Recipe | None = None
) -> Path:
    """Static INT8 quantization of an exported encoder with onnxruntime.

    By default (`Int8Recipe()`): QDQ format, per-channel int8 weights, uint8 activations
    (the fast u8·s8 kernels on x86), MinMax ranges from `calibration` frames
    [N, H, W, 3] uint8. Written atomically.
    """
    recipe = recipe or Int8Recipe()
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(_CalibrationReader, CalibrationDataReader):  # type: ignore[misc]
        pass

    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_path.parent, prefix=".quant-") as tmp_dir:
        pre = Path(tmp_dir) / "pre.onnx"
        tmp_out = Path(tmp_dir) / "int8.onnx"
        with _quiet():
            quant_pre_process(str(fp32_path), str(pre))
            quantize_static(
                str(pre),
                str(tmp_out),
                Reader(_as_batch(calibration)),
                quant_format=QuantFormat.QDQ if recipe.quant_format == "qdq" else QuantFormat.QOperator,
                per_channel=recipe.per_channel,
                reduce_range=recipe.reduce_range,
                activation_type=QuantType.QUInt8 if recipe.activations == "u8" else QuantType.QInt8,
                weight_type=QuantType.QInt8 if recipe.weights == "s8" else QuantType.QUInt8,
                calibrate_method=CalibrationMethod.MinMax,
            )
        os.replace(tmp_out, out_path)
    return out_path


# ---------------------------------------------------------------------------- torch.ao


def _normalise(model: FrameEncoder, frames: NDArray[np.uint8]) -> torch.Tensor:
    x = model.to_nchw(torch.from_numpy(_as_batch(frames))).float()  # (B, 3, H, W) 0..255
    return (x - model.pixel_mean) / model.pixel_std


def _prepare_trunk(model: FrameEncoder) -> nn.Module:
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import prepare_fx

    torch.backends.quantized.engine = "x86"  # fbgemm + oneDNN kernels (torch ≥ 2.0)
    cfg = model.config
    example = torch.zeros((1, 3, cfg.height, cfg.width))
    trunk = copy.deepcopy(model.trunk).to("cpu").eval()
    with _quiet():
        prepared: nn.Module = prepare_fx(trunk, get_default_qconfig_mapping("x86"), (example,))
    return prepared


def calibrate_ao_int8(model: FrameEncoder, calibration: NDArray[np.uint8]) -> dict[str, torch.Tensor]:
    """Run calibration frames through the observed trunk; return the observer statistics.

    The result holds only plain tensors (histograms, min/max), so it can be stored as
    safetensors and turned back into the quantized trunk by `AoInt8Backend`.
    """
    prepared = _prepare_trunk(model)
    frames = _as_batch(calibration)
    with torch.no_grad():
        for i in range(0, len(frames), 4):
            prepared(_normalise(model, frames[i : i + 4]))
    # clone: observers that share a module share storage, which safetensors refuses
    return {k: v.detach().clone().contiguous() for k, v in prepared.state_dict().items() if _OBSERVER_KEY in k}


class AoInt8Backend:
    """torch.ao FX INT8 trunk from stored observer statistics; fp32 head."""

    name = "ao-int8"

    def __init__(self, model: FrameEncoder, observers: dict[str, torch.Tensor]) -> None:
        from torch.ao.quantization.quantize_fx import convert_fx

        self.model = model
        prepared = _prepare_trunk(model)
        missing, unexpected = prepared.load_state_dict(observers, strict=False)
        lacking = [k for k in missing if _OBSERVER_KEY in k]
        if unexpected or lacking:
            raise ValueError(
                f"observer statistics do not fit this encoder (unexpected {unexpected[:3]}, missing {lacking[:3]})"
            )
        with _quiet():
            self.trunk = convert_fx(prepared)  # type: ignore[arg-type]

    def encode(self, frames: NDArray[np.uint8]) -> NDArray[np.float32]:
        with torch.no_grad():
            x = _normalise(self.model, frames)  # (B, 3, H, W)
            feat = self.model.pool(self.trunk(x)).flatten(1)  # (B, 512)
            z = self.model.proj(feat)  # (B, D)
        return z.numpy()  # type: ignore[no-any-return]
