"""Which compute device ArcX runs on, and why.

`select_device` is the one place that decides. It tries, in order, CUDA → ROCm →
DirectML → CPU, and takes the first candidate that is present *and* passes a smoke test
(a tiny Conv2d + bidirectional GRU forward, the two kinds of layer the encoder and the
Q-net use). A present-but-broken device (driver too old, a wheel without kernels for the
GPU, a DirectML op that returns NaN) is skipped with its reason recorded, so `arcx doctor`
can say why the app is on the CPU.

The player can ask for one device: the `device` setting, or the `ARCX_DEVICE`
environment variable, which wins over the setting (`ARCX_DEVICE=auto` forces the
automatic order). An override that is unknown, absent or broken never crashes: it is
recorded in `DeviceReport.override_error` and the automatic order runs instead.
`parse_device_spec` is the strict parser for callers that prefer an error.

ROCm builds of torch expose AMD GPUs through `torch.cuda`; they are told apart by
`torch.version.hip`. The torch device string is `cuda` for both. `torch_directml` is
imported only inside its probe (Windows, optional extra).

Importing this module does not import torch (the functions that need it do): a lean start
(`app/core/model/lean.py`) says what it computes on with `lean_device_report`, which is
built from the record a torch start left and never loads torch.

Probes and the smoke test are parameters so tests can pass fakes; the real probes
return "unavailable" instead of raising on a machine without a GPU.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import math
import os
import platform
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, cast

import psutil

from app.core.errors import DeviceError

if TYPE_CHECKING:  # torch is imported by the functions that use it (see the docstring)
    import torch

log = logging.getLogger(__name__)

Kind = Literal["cuda", "rocm", "directml", "cpu"]
OverrideSource = Literal["env", "settings"]

# The automatic order: fastest first, the CPU always last.
AUTO_ORDER: tuple[Kind, ...] = ("cuda", "rocm", "directml", "cpu")
# Environment variable that overrides the `device` setting.
ENV_VAR = "ARCX_DEVICE"
# Value of the setting / variable that means "choose automatically".
AUTO = "auto"

# Smoke-test network: small enough to run in milliseconds, same layer kinds as the model.
_SMOKE_BATCH = 2  # B
_SMOKE_CHANNELS_IN = 3  # RGB
_SMOKE_CHANNELS_OUT = 8  # conv output channels = GRU input size
_SMOKE_SIZE = 16  # H = W of the test image
_SMOKE_HIDDEN = 8  # GRU hidden size per direction
# Largest |device - cpu| difference accepted; loose enough for TF32 convolutions.
_SMOKE_ATOL = 1e-2


@dataclass(frozen=True)
class ProbeResult:
    """What a probe found for one backend (before any smoke test)."""

    available: bool
    """True when the backend is present and the requested index exists."""
    device: torch.device | None = None
    """The device to smoke-test and use; None when unavailable."""
    name: str = ""
    """Readable name (GPU name, CPU brand); empty when unknown."""
    reason: str = ""
    """Why it is unavailable, or a short note when it is."""
    gpu_memory_total: int | None = None
    """Bytes of GPU memory, when the backend can tell (CUDA/ROCm)."""
    gpu_memory_free: int | None = None
    """Free bytes of GPU memory at probe time, when the backend can tell."""


# A probe takes the device index asked for (0 unless e.g. `cuda:1`) and never raises.
Probe = Callable[[int], ProbeResult]
# A smoke test runs a tiny forward on the device and raises when anything is wrong.
SmokeTest = Callable[["torch.device"], None]


@dataclass(frozen=True)
class Candidate:
    """One device that `select_device` considered, in the order it considered them."""

    kind: Kind
    """Backend: cuda, rocm, directml or cpu."""
    index: int
    """Device index within the backend (cuda:1 → 1)."""
    available: bool | None
    """Present on this machine; None when not probed (an earlier one was chosen)."""
    passed_smoke: bool | None
    """Smoke-test outcome; None when the test did not run."""
    chosen: bool
    """True for the one device in use."""
    reason: str
    """Why it was chosen or skipped, in words."""

    @property
    def label(self) -> str:
        """`cuda:1`, `cpu`: how the player would write it."""
        return self.kind if self.kind == "cpu" else f"{self.kind}:{self.index}"


@dataclass(frozen=True)
class DeviceReport:
    """The decision and everything `arcx doctor` shows about it."""

    kind: Kind
    """The backend in use."""
    device: torch.device | str
    """What to pass to `.to()`; `cuda:N` for ROCm too, `privateuseone:N` for DirectML. In a
    lean report (`lean`) the string "cpu": no torch is loaded to make a torch.device."""
    name: str
    """GPU name or CPU brand."""
    candidates: tuple[Candidate, ...]
    """Every device considered, in order, with its reason."""
    override: str | None
    """The device the player asked for (None or "auto": automatic)."""
    override_source: OverrideSource | None
    """Where the override came from: the environment variable or the settings."""
    override_error: str | None
    """Why the override was not used; None when it was used or none was asked."""
    torch_version: str
    """`torch.__version__`."""
    torchvision_version: str | None
    """`torchvision.__version__`, None when it does not import (see `notes`)."""
    num_threads: int
    """`torch.get_num_threads()`: CPU threads torch uses for intra-op work."""
    memory_total: int | None
    """Bytes of system memory."""
    memory_available: int | None
    """Bytes of system memory available now."""
    gpu_memory_total: int | None = None
    """Bytes of GPU memory (CUDA/ROCm only)."""
    gpu_memory_free: int | None = None
    """Free bytes of GPU memory at probe time (CUDA/ROCm only)."""
    notes: tuple[str, ...] = field(default_factory=tuple)
    """Other things worth knowing (a broken torchvision, a failing CPU)."""
    lean: bool = False
    """True: a lean start's report (`lean_device_report`): the CPU, as the record of the
    last torch start says, decided without importing torch or running a smoke test."""

    @property
    def torch_device(self) -> torch.device | None:
        """The device as a torch.device for a torch start; None in a lean report."""
        return None if isinstance(self.device, str) else self.device

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable data (the device as its string)."""
        return {
            "kind": self.kind,
            "device": str(self.device),
            "name": self.name,
            "override": self.override,
            "override_source": self.override_source,
            "override_error": self.override_error,
            "candidates": [
                {
                    "kind": c.kind,
                    "index": c.index,
                    "available": c.available,
                    "passed_smoke": c.passed_smoke,
                    "chosen": c.chosen,
                    "reason": c.reason,
                }
                for c in self.candidates
            ],
            "torch_version": self.torch_version,
            "torchvision_version": self.torchvision_version,
            "num_threads": self.num_threads,
            "memory_total": self.memory_total,
            "memory_available": self.memory_available,
            "gpu_memory_total": self.gpu_memory_total,
            "gpu_memory_free": self.gpu_memory_free,
            "notes": list(self.notes),
            "lean": self.lean,
        }

    def format(self) -> str:
        """Human-readable, several lines, no trailing newline."""
        lines = [f"Device:       {self.kind} ({self.device}), {self.name or 'unknown'}"]
        if self.override and self.override != AUTO:
            where = f"{ENV_VAR}" if self.override_source == "env" else "settings"
            status = f"not used: {self.override_error}" if self.override_error else "used"
            lines.append(f"Requested:    {self.override} (from {where}); {status}")
        else:
            lines.append("Requested:    auto")
        lines.append("Candidates:")
        for c in self.candidates:
            mark = "*" if c.chosen else "-"
            lines.append(f"  {mark} {c.label:<11} {c.reason}")
        tv = self.torchvision_version or "not importable"
        if self.lean:
            lines.append(f"torch:        {self.torch_version} installed, not loaded (lean start: ONNX Runtime)")
            lines.append(f"CPU threads:  {self.num_threads} (the encoder's)")
        else:
            lines.append(f"torch:        {self.torch_version}, torchvision {tv}")
            lines.append(f"CPU threads:  {self.num_threads}")
        if self.memory_total is not None and self.memory_available is not None:
            lines.append(
                f"Memory:       {_gib(self.memory_available)} free of {_gib(self.memory_total)}"
            )
        if self.gpu_memory_total is not None:
            free = _gib(self.gpu_memory_free) if self.gpu_memory_free is not None else "?"
            lines.append(f"GPU memory:   {free} free of {_gib(self.gpu_memory_total)}")
        lines.extend(f"Note:         {n}" for n in self.notes)
        return "\n".join(lines)


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


# ---------------------------------------------------------------------------- parsing


def parse_device_spec(spec: str) -> tuple[Kind, int] | None:
    """`"cuda:1"` → `("cuda", 1)`; `"auto"` or `""` → None (choose automatically).

    Accepts the kinds of `AUTO_ORDER`, optionally with `:N`. The CPU has one device, so
    `cpu:N` is accepted and means `cpu`. Anything else raises `DeviceError`.
    """
    text = spec.strip().lower()
    if text in ("", AUTO):
        return None
    kind, sep, idx = text.partition(":")
    if kind not in AUTO_ORDER:
        choices = ", ".join((AUTO, *AUTO_ORDER))
        raise DeviceError(f"'{spec}' is not a device; choose one of {choices} (or e.g. cuda:1)")
    index = 0
    if sep:
        if not idx.isdigit():
            raise DeviceError(f"'{spec}': the device index must be a number, as in {kind}:1")
        index = int(idx)
    return cast(Kind, kind), (0 if kind == "cpu" else index)


# ----------------------------------------------------------------------------- probes


def _catching_warnings(fn: Callable[[], bool]) -> tuple[bool, str]:
    """Run `fn`, returning its result and the text of any warning it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = fn()
    return value, "; ".join(
        str(w.message).strip().splitlines()[0] for w in caught if str(w.message)
    )


def _probe_torch_cuda(index: int, torch_module: Any, want_hip: bool) -> ProbeResult:
    """Shared by the CUDA and ROCm probes: both live behind `torch.cuda`."""
    label = "ROCm" if want_hip else "CUDA"
    try:
        hip = getattr(torch_module.version, "hip", None)
        cuda_build = getattr(torch_module.version, "cuda", None)
        if want_hip and not hip:
            return ProbeResult(False, reason="this torch is not a ROCm build")
        if not want_hip and hip:
            return ProbeResult(False, reason=f"this torch is a ROCm build (HIP {hip}); see rocm")
        if not want_hip and not cuda_build:
            return ProbeResult(
                False, reason=f"this torch has no CUDA support (torch {torch_module.__version__})"
            )
        ok, warned = _catching_warnings(torch_module.cuda.is_available)
        if not ok:
            why = f": {warned}" if warned else " (no GPU or driver found)"
            return ProbeResult(False, reason=f"torch.cuda.is_available() is False{why}")
        count = int(torch_module.cuda.device_count())
        if index >= count:
            return ProbeResult(
                False, reason=f"{label} device {index} asked for, but there are {count}"
            )
        name = str(torch_module.cuda.get_device_name(index))
        total: int | None = None
        free: int | None = None
        try:
            free, total = (int(v) for v in torch_module.cuda.mem_get_info(index))
        except Exception as exc:  # memory is nice to have, not a reason to skip the GPU
            log.debug("%s mem_get_info(%d) failed: %s", label, index, exc)
        return ProbeResult(
            True,
            device=torch_module.device("cuda", index),
            name=name,
            reason=f"{label} {hip or cuda_build}",
            gpu_memory_total=total,
            gpu_memory_free=free,
        )
    except Exception as exc:
        return ProbeResult(False, reason=f"{label} probe failed: {type(exc).__name__}: {exc}")


def _torch() -> Any:
    import torch

    return torch


def probe_cuda(index: int = 0, *, torch_module: Any = None) -> ProbeResult:
    """An NVIDIA GPU through a CUDA build of torch (not a ROCm one); torch_module: a fake."""
    return _probe_torch_cuda(index, torch_module or _torch(), want_hip=False)


def probe_rocm(index: int = 0, *, torch_module: Any = None) -> ProbeResult:
    """An AMD GPU through a ROCm build of torch (`torch.version.hip` is set)."""
    return _probe_torch_cuda(index, torch_module or _torch(), want_hip=True)


def probe_directml(
    index: int = 0, *, import_module: Callable[[str], Any] = importlib.import_module
) -> ProbeResult:
    """Any DirectX 12 GPU on Windows through `torch_directml`, imported only here."""
    try:
        dml = import_module("torch_directml")
    except ImportError as exc:
        if getattr(exc, "name", None) == "torch_directml":
            hint = ' (pip install "arcx[directml]")' if sys.platform == "win32" else ""
            return ProbeResult(False, reason=f"torch-directml is not installed{hint}")
        return ProbeResult(False, reason=f"torch_directml failed to import: {exc}")
    except Exception as exc:  # a broken install: DLL load errors and the like
        return ProbeResult(False, reason=f"torch_directml failed to import: {exc}")
    try:
        if not dml.is_available():
            return ProbeResult(False, reason="torch_directml.is_available() is False")
        count = int(dml.device_count())
        if index >= count:
            return ProbeResult(
                False, reason=f"DirectML device {index} asked for, but there are {count}"
            )
        device = dml.device(index)
        try:
            name = str(dml.device_name(index))
        except Exception:
            name = ""
        return ProbeResult(True, device=device, name=name, reason="DirectML")
    except Exception as exc:
        return ProbeResult(False, reason=f"DirectML probe failed: {type(exc).__name__}: {exc}")


def cpu_name() -> str:
    """The CPU's brand string where it is cheap to read, else the architecture."""
    try:
        if sys.platform == "win32":
            import winreg

            key = r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"
            with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, key) as k:
                return str(winreg.QueryValueEx(k, "ProcessorNameString")[0]).strip()
        if sys.platform.startswith("linux"):
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.lower().startswith("model name"):
                        return line.split(":", 1)[1].strip()
    except Exception as exc:  # any failure here only costs the pretty name
        log.debug("could not read the CPU name: %s", exc)
    return platform.processor() or platform.machine() or "CPU"


def probe_cpu(index: int = 0) -> ProbeResult:
    """The CPU is always there."""
    import torch

    return ProbeResult(True, device=torch.device("cpu"), name=cpu_name(), reason="CPU")


DEFAULT_PROBES: Mapping[str, Probe] = MappingProxyType(
    {"cuda": probe_cuda, "rocm": probe_rocm, "directml": probe_directml, "cpu": probe_cpu}
)


# ------------------------------------------------------------------------- smoke test


def smoke_test(device: torch.device) -> None:
    """Run a tiny Conv2d + bidirectional GRU forward on `device`; raise if it is wrong.

    Uses `torch.no_grad()`, not `inference_mode()`, which DirectML does not support.
    The result must have the expected shape, be finite, and match the same network
    on the CPU within `_SMOKE_ATOL` (catches backends that return finite garbage).
    """
    import torch
    from torch import nn

    B, C, S, H = _SMOKE_BATCH, _SMOKE_CHANNELS_IN, _SMOKE_SIZE, _SMOKE_HIDDEN
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(B, C, S, S, generator=gen)  # (B, C, S, S), made on the CPU
    conv = nn.Conv2d(C, _SMOKE_CHANNELS_OUT, kernel_size=3, padding=1)
    gru = nn.GRU(_SMOKE_CHANNELS_OUT, H, num_layers=1, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for p in (*conv.parameters(), *gru.parameters()):
            p.copy_(torch.rand(p.shape, generator=gen) * 0.2 - 0.1)

    def forward(dev: torch.device) -> torch.Tensor:
        c, g = conv.to(dev), gru.to(dev)
        with torch.no_grad():
            y = c(x.to(dev))  # (B, C_out, S, S)
            seq = y.mean(dim=2).transpose(1, 2)  # (B, S, C_out): image columns as a sequence
            out, _ = g(seq)  # (B, S, 2H)
        return out.to("cpu")

    expected_shape = (B, S, 2 * H)
    got = forward(device)
    if tuple(got.shape) != expected_shape:
        raise RuntimeError(f"output shape {tuple(got.shape)}, expected {expected_shape}")
    if not bool(torch.isfinite(got).all()):
        raise RuntimeError("output is not finite (NaN or inf)")
    if device.type != "cpu":
        ref = forward(torch.device("cpu"))
        err = float((got - ref).abs().max())
        if not math.isfinite(err) or err > _SMOKE_ATOL:
            raise RuntimeError(f"output differs from the CPU by {err:.3g} (> {_SMOKE_ATOL})")


# -------------------------------------------------------------------------- selection


def _torchvision_version() -> tuple[str | None, str | None]:
    """(version, None) or (None, why it does not import)."""
    try:
        import torchvision

        return str(torchvision.__version__), None
    except Exception as exc:
        return None, f"torchvision does not import: {type(exc).__name__}: {exc}"


def _memory() -> tuple[int | None, int | None]:
    try:
        vm = psutil.virtual_memory()
        return int(vm.total), int(vm.available)
    except Exception as exc:
        log.debug("psutil.virtual_memory() failed: %s", exc)
        return None, None


def _resolve_override(
    preference: str | None, env: Mapping[str, str]
) -> tuple[str | None, OverrideSource | None]:
    """The raw override and its source; the environment variable wins over the setting."""
    from_env = env.get(ENV_VAR, "").strip()
    if from_env:
        return from_env, "env"
    if preference is not None and preference.strip():
        return preference.strip(), "settings"
    return None, None


def select_device(
    preference: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    probes: Mapping[str, Probe] | None = None,
    smoke_test: SmokeTest = smoke_test,
) -> DeviceReport:
    """Choose the device ArcX computes on. Never raises for a missing or broken device.

    preference: the `device` setting ("auto", "cuda", "rocm", "directml", "cpu", or with an
        index such as "cuda:1"); None means auto.
    env: environment to read `ARCX_DEVICE` from (default `os.environ`); it wins over
        `preference`, and `ARCX_DEVICE=auto` forces the automatic order.
    probes: one `Probe` per kind (default `DEFAULT_PROBES`); a missing kind counts as
        unavailable.
    smoke_test: runs on every candidate before it is chosen; raising rejects it.

    An override that is not a device name, not present, or fails its smoke test is
    recorded in `override_error` (and logged) and the automatic order runs. If even the
    CPU fails its smoke test the CPU is still returned, with a note: there is nothing
    else to run on.
    """
    import torch

    env = os.environ if env is None else env
    probes = DEFAULT_PROBES if probes is None else probes
    override, source = _resolve_override(preference, env)
    where = ENV_VAR if source == "env" else "the device setting"

    wanted: tuple[Kind, int] | None = None
    override_error: str | None = None
    if override is not None:
        try:
            wanted = parse_device_spec(override)
        except DeviceError as exc:
            override_error = str(exc)

    plan: list[tuple[Kind, int]] = [wanted] if wanted else []
    plan += [(k, 0) for k in AUTO_ORDER if (k, 0) != wanted]

    candidates: list[Candidate] = []
    chosen: tuple[Kind, ProbeResult] | None = None
    cpu_fallback: ProbeResult | None = None
    for kind, index in plan:
        if chosen is not None:
            candidates.append(
                Candidate(kind, index, None, None, False, f"not checked: {chosen[0]} chosen first")
            )
            continue
        result = _run_probe(probes.get(kind), index)
        ok, passed, reason = _try(kind, result, smoke_test)
        if kind == "cpu" and result.available and cpu_fallback is None:
            cpu_fallback = result
        if ok:
            chosen = (kind, result)
        elif wanted == (kind, index) and override_error is None:
            override_error = f"{_label(kind, index)} {reason}"
        candidates.append(Candidate(kind, index, result.available, passed, ok, reason))
        log.debug("device candidate %s: %s", _label(kind, index), reason)

    notes: list[str] = []
    if chosen is None:
        # Even the CPU failed its smoke test: torch itself is broken. Run on it anyway.
        fallback = cpu_fallback or ProbeResult(True, device=torch.device("cpu"), name=cpu_name())
        cpu: Kind = "cpu"
        chosen = (cpu, fallback)
        notes.append("the CPU failed its smoke test too; torch may be broken (reinstall it)")
        log.error("every device failed its smoke test; using the CPU anyway")
        candidates = [
            Candidate(c.kind, c.index, c.available, c.passed_smoke, c.kind == "cpu", c.reason)
            for c in candidates
        ]

    if override_error is not None:
        log.warning(
            "device %r from %s is not used: %s; choosing automatically",
            override,
            where,
            override_error,
        )
    kind, result = chosen
    assert result.device is not None  # a chosen candidate always has one
    tv_version, tv_error = _torchvision_version()
    if tv_error:
        notes.append(tv_error)
        log.warning("%s", tv_error)
    mem_total, mem_avail = _memory()
    report = DeviceReport(
        kind=kind,
        device=result.device,
        name=result.name,
        candidates=tuple(candidates),
        override=override,
        override_source=source,
        override_error=override_error,
        torch_version=str(torch.__version__),
        torchvision_version=tv_version,
        num_threads=int(torch.get_num_threads()),
        memory_total=mem_total,
        memory_available=mem_avail,
        gpu_memory_total=result.gpu_memory_total if kind in ("cuda", "rocm") else None,
        gpu_memory_free=result.gpu_memory_free if kind in ("cuda", "rocm") else None,
        notes=tuple(notes),
    )
    log.info("compute device: %s (%s) %s", kind, report.device, report.name)
    return report


def _run_probe(probe: Probe | None, index: int) -> ProbeResult:
    """The probe's result; a probe that raises counts as unavailable."""
    if probe is None:
        return ProbeResult(False, reason="no probe for this kind")
    try:
        return probe(index)
    except Exception as exc:
        return ProbeResult(False, reason=f"probe failed: {type(exc).__name__}: {exc}")


def _label(kind: Kind, index: int) -> str:
    return kind if kind == "cpu" else f"{kind}:{index}"


def _try(kind: Kind, result: ProbeResult, test: SmokeTest) -> tuple[bool, bool | None, str]:
    """(usable, smoke-test outcome or None if not run, reason in words)."""
    if not result.available or result.device is None:
        return False, None, f"unavailable: {result.reason or 'not found'}"
    try:
        test(result.device)
    except Exception as exc:
        return False, False, f"failed the smoke test: {type(exc).__name__}: {exc}"
    what = f"{result.name} " if result.name else ""
    return True, True, f"{what}passed the smoke test"


def _selected(report: DeviceReport) -> torch.device:
    """`select_device`'s device (always a torch.device; only a lean report holds a str)."""
    device = report.torch_device
    assert device is not None
    return device


def resolve_device(spec: str | None) -> torch.device:
    """The torch device an explicit spec names (e.g. `TrainConfig.device`), trusted as is.

    None/"auto": `select_device`; "directml": through `select_device` (its device object
    comes from torch-directml); "cuda[:i]" and "rocm[:i]" (ROCm builds expose AMD GPUs as
    torch "cuda"): torch.device("cuda", i); "cpu": the CPU; anything else torch accepts.
    DeviceError for a spec torch does not know.
    """
    import torch

    if spec is None or spec.strip().lower() in ("", "auto"):
        return _selected(select_device())
    try:
        parsed = parse_device_spec(spec)
    except DeviceError:
        parsed = None
    if parsed is not None:
        kind, index = parsed
        if kind == "directml":
            return _selected(select_device(spec, env={}))
        if kind == "rocm":  # ROCm builds expose AMD GPUs as torch "cuda"
            return torch.device("cuda", index)
        if kind == "cuda":
            return torch.device("cuda", index)
        return torch.device("cpu")
    try:
        return torch.device(spec)
    except (RuntimeError, ValueError) as exc:
        raise DeviceError(f"'{spec}' is not a device torch knows ({exc})") from exc


# ------------------------------------------------------------------------- lean start


def _dist_version(name: str) -> str | None:
    """An installed distribution's version from its metadata (nothing is imported)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _file_stamp(path: str) -> str | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}"


def gpu_hints() -> dict[str, str | None]:
    """What could make `select_device("auto")` find a GPU, read without torch or a driver call.

    The torch and torch-directml installs (their versions), the NVIDIA driver (Linux:
    `/proc/driver/nvidia/version`; Windows: `nvcuda.dll`'s size and mtime) and the AMD
    compute driver (`/dev/kfd`). A lean start on `auto` records these with its CPU choice;
    when any of them changes, the next start decides with torch again.
    """
    hints: dict[str, str | None] = {
        "torch": _dist_version("torch"),
        "torch_directml": _dist_version("torch-directml"),
    }
    if sys.platform == "win32":
        system = os.path.join(os.environ.get("SYSTEMROOT", r"C:\Windows"), "System32")
        hints["nvidia"] = _file_stamp(os.path.join(system, "nvcuda.dll"))
    else:
        try:
            with open("/proc/driver/nvidia/version", encoding="utf-8", errors="replace") as f:
                hints["nvidia"] = f.readline().strip() or "present"
        except OSError:
            hints["nvidia"] = None
        hints["amd_kfd"] = "present" if os.path.exists("/dev/kfd") else None
    return hints


def lean_device_report(
    preference: str | None, *, reason: str, threads: int, env: Mapping[str, str] | None = None
) -> DeviceReport:
    """What a lean start computes on, without importing torch: the CPU.

    A lean start happens only when the last torch start chose the CPU for these settings
    (`lean.read_live_record`: on `auto`, with the same `gpu_hints`), so this repeats that
    decision instead of probing again. reason: the record's self-check verdict; threads:
    the encoder's threads.
    """
    override, source = _resolve_override(preference, os.environ if env is None else env)
    auto = override is None or override.strip().lower() == AUTO
    candidates = [Candidate("cpu", 0, True, None, True, f"{cpu_name()}: {reason}; chosen by the last start, torch not loaded")]
    if auto:
        candidates = [
            Candidate(k, 0, None, None, False, "not checked: the last start found no usable one, and nothing changed since")
            for k in AUTO_ORDER
            if k != "cpu"
        ] + candidates
    mem_total, mem_avail = _memory()
    report = DeviceReport(
        kind="cpu",
        device="cpu",
        name=cpu_name(),
        candidates=tuple(candidates),
        override=override,
        override_source=source,
        override_error=None,
        torch_version=_dist_version("torch") or "not installed",
        torchvision_version=_dist_version("torchvision"),
        num_threads=int(threads),
        memory_total=mem_total,
        memory_available=mem_avail,
        lean=True,
    )
    log.info("compute device: cpu %s (lean start, torch not loaded)", report.name)
    return report
