"""The demo's learning half in the background: record raids, train, score, in a child process.

    plan = reuse_plan(root, config, fresh=False)      # reuse the folder's raids and model?
    result = build_in_child(root, config, on_stage=..., on_epoch=..., on_model=..., on_report=...)

`arcx demo` with a window opens the live game at once and learns behind it: this module
records the training raids (`pipeline.generate_runs`), trains the Q-net with the real
`Trainer`, hands the trained model over (the app hot-swaps it in), then records the
held-out raids with their Monte-Carlo truth and scores the model, in that order, so the
scoring never delays the advice. It all runs in one spawned process (`build_in_child`),
at a lower CPU priority than the live app: the encoder and the trainer then take what the
live engine at 8 FPS leaves, and the GUI never waits on them.

What crosses the boundary is JSON text on two one-way pipes, as in
`app.core.training.child` (never pickle):

    child → parent   {"kind": "log", "level", "name", "msg"}           re-logged here
                     {"kind": "stage", "stage", "done", "total", "eta_s"}
                         stage: encoder | generate | train | heldout | score
                     {"kind": "epoch", "progress": {…TrainProgress}}
                     {"kind": "model", "result": {…TrainResult}, "encoder_id"}
                     {"kind": "report", "text"}                           the scores, as printed
                     {"kind": "done"} | {"kind": "error", "message"}
    parent → child   {"kind": "cancel"}

**Reuse.** A finished build writes `demo.json` (`DEMO_INFO`): the whole `DemoConfig` as
data, the encoder id the raids were recorded with, the model's SHA-256, the trainer's
result and the printed report. `reuse_plan` says a later `arcx demo` may reuse the folder
only when all of that matches: the same settings, the model file unchanged, every run
folder there; the encoder is checked by the caller against the live engine's (it knows
its id once warm). `--fresh` never reuses. A build that did not finish leaves no
`"complete"` record, so it is never reused.

Nothing here imports torch or Qt at module level: the desktop app's process imports this,
the child does the heavy work.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import multiprocessing
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, is_dataclass
from dataclasses import replace as dc_replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.atomic import atomic_path, sha256_file
from app.core.errors import ArcXError

if TYPE_CHECKING:
    from app.core.training.trainer import TrainProgress, TrainResult
    from app.demo.pipeline import DemoConfig

log = logging.getLogger(__name__)

DEMO_INFO = "demo.json"
"""the demo folder's record (the same file `pipeline.write_demo_info` writes)"""
INFO_VERSION = 2
"""`demo.json` layout this module writes and reuses (1: seeds and counts only)"""
NICENESS = 10
"""how much lower the child's CPU priority is (POSIX nice; below normal on Windows)"""
CANCEL_GRACE_S = 3.0
"""seconds a cancelled child gets to stop before it is terminated (its work is discarded)"""
_POLL_S = 0.1
_EXIT_GRACE_S = 10.0
STAGES = ("encoder", "generate", "train", "heldout", "score")
"""the build's stages, in order"""

StageFn = Callable[[str, int, int, float | None], None]
"""(stage, done, total, eta_s or None)"""


class BuildCancelled(ArcXError):
    """The build was cancelled (the demo ended); nothing it made is reused."""


class BuildCrashed(ArcXError):
    """The build process ended without finishing (crashed or killed)."""


# ---------------------------------------------------------------------- config as data


def _plain(value: Any) -> Any:
    """Dataclasses, tuples and paths as JSON data (dicts, lists, strings)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def config_to_dict(cfg: DemoConfig) -> dict[str, Any]:
    """The whole `DemoConfig` as JSON data (`config_from_dict` rebuilds it)."""
    d = _plain(cfg)
    d["train"] = json.loads(json.dumps(cfg.train.to_dict()))
    return json.loads(json.dumps(d))  # exactly what a JSON round trip gives


def config_from_dict(d: dict[str, Any]) -> DemoConfig:
    """`config_to_dict`'s data back into a `DemoConfig`."""
    from app.core.model.ev import Hysteresis
    from app.core.training.child import config_from_dict as train_from_dict
    from app.demo.pipeline import DemoConfig, GenConfig
    from app.demo.sim import AutopilotConfig, SimConfig

    def build(cls: Any, data: dict[str, Any], **nested: Any) -> Any:
        kw = {}
        for f in fields(cls):
            if f.name in nested:
                kw[f.name] = nested[f.name]
            elif f.name in data:
                v = data[f.name]
                kw[f.name] = tuple(v) if isinstance(v, list) else v
        return cls(**kw)

    train = train_from_dict(d["train"])
    lists: dict[str, Any] = {f.name: tuple(v) for f in fields(train) if isinstance(v := getattr(train, f.name), list)}
    g = d["gen"]
    gen = build(GenConfig, g, sim=build(SimConfig, g["sim"]), autopilot=build(AutopilotConfig, g["autopilot"]))
    return build(
        DemoConfig, d, gen=gen, train=dc_replace(train, **lists), hysteresis=build(Hysteresis, d["hysteresis"])
    )


def fingerprint(cfg: DemoConfig) -> dict[str, Any]:
    """What a reused folder must have been made with: the config, less what only changes
    the speed (the encoder's thread count)."""
    d = config_to_dict(cfg)
    d.pop("threads", None)
    d["train"].pop("num_threads", None)
    return d


# ------------------------------------------------------------------------------ reuse


@dataclass(frozen=True)
class SavedDemo:
    """A finished build's record (`demo.json`), as `reuse_plan` found it."""

    root: Path
    model_path: Path
    """the trained checkpoint in the demo folder"""
    encoder_id: str
    """the encoder the raids were recorded (and the model trained) with"""
    result: dict[str, Any]
    """the trainer's result (`child.result_to_dict`)"""
    report: str
    """the scores as the build printed them"""
    made: str
    """when it finished (UTC, ISO 8601)"""


@dataclass(frozen=True)
class ReusePlan:
    """Whether `arcx demo` may reuse the demo folder, and why (for the terminal)."""

    saved: SavedDemo | None
    """the build to reuse; None: make a new one"""
    reason: str
    """one line: why it reuses, or why not"""

    @property
    def reuse(self) -> bool:
        return self.saved is not None


def read_info(root: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((Path(root) / DEMO_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def reuse_plan(root: Path, cfg: DemoConfig, *, fresh: bool = False) -> ReusePlan:
    """May the demo folder's raids and model be reused for `cfg`? (The encoder id is for
    the caller to compare with the live engine's.)"""
    root = Path(root)
    if fresh:
        return ReusePlan(None, "--fresh: making new raids and a new model")
    info = read_info(root)
    if info is None:
        return ReusePlan(None, "no demo made here yet")
    if info.get("version") != INFO_VERSION or not info.get("complete"):
        return ReusePlan(None, "the demo folder holds an unfinished or older demo")
    if info.get("config") != fingerprint(cfg):
        return ReusePlan(None, "the demo folder was made with other settings (seed, raids, training)")
    model = root / str(info.get("model", ""))
    if not model.is_file() or sha256_file(model) != info.get("model_sha256"):
        return ReusePlan(None, "the demo's model file is missing or changed")
    runs = info.get("runs", {})
    for sub in ("train", "heldout"):
        listed = runs.get(sub, [])
        if len(listed) == 0 or not all((root / sub / r).is_dir() for r in listed):
            return ReusePlan(None, f"the demo's {sub} raids are missing")
    saved = SavedDemo(
        root, model, str(info.get("encoder_id", "")), dict(info.get("result", {})),
        str(info.get("report", "")), str(info.get("made", "")),
    )
    n_train, n_held = len(runs["train"]), len(runs["heldout"])
    return ReusePlan(saved, f"{n_train} training + {n_held} held-out raids and their model, made {saved.made}")


def write_info(
    root: Path, cfg: DemoConfig, *, complete: bool, encoder_id: str = "", model: Path | None = None,
    result: dict[str, Any] | None = None, report: str = "", runs: dict[str, list[str]] | None = None,
) -> None:
    """`demo.json`: the seeds and counts `pipeline.training_seeds` reads, plus the reuse record."""
    info: dict[str, Any] = {
        "seed": cfg.seed, "train_raids": cfg.n_train_runs, "heldout_raids": cfg.n_heldout_runs,
        "version": INFO_VERSION, "complete": complete, "config": fingerprint(cfg),
    }
    if complete:
        assert model is not None
        info.update(
            encoder_id=encoder_id, model=model.name, model_sha256=sha256_file(model), result=result or {},
            report=report, runs=runs or {}, made=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        )
    with atomic_path(Path(root) / DEMO_INFO) as tmp:
        tmp.write_text(json.dumps(info, indent=1), encoding="utf-8")


# ------------------------------------------------------------------------------ build


@dataclass
class BuildEvents:
    """What `build` reports, as it happens (all optional)."""

    stage: StageFn | None = None
    epoch: Callable[[TrainProgress], None] | None = None
    model: Callable[[TrainResult, str], None] | None = None
    """the trained model is installed in the demo folder: (result, encoder id)"""
    report: Callable[[str], None] | None = None
    """the held-out scores, as `arcx demo --headless` prints them"""


def _eta(started: float, done: int, total: int) -> float | None:
    if done <= 0:
        return None
    return (time.monotonic() - started) / done * (total - done)


EncoderFactory = Callable[[tuple[int, int], str, "int | None"], tuple[Any, str, str]]
"""(frame size, encoder preference, threads) → (backend, encoder id, why): `prepare_encoder`"""


def resolve_encoder_factory(spec: str | None) -> EncoderFactory:
    """"module:function" → that function; None → `pipeline.prepare_encoder` (a test names
    a small fake encoder here, which then reaches the child process by name)."""
    if not spec:
        from app.demo.pipeline import prepare_encoder

        return prepare_encoder
    module, _, name = spec.partition(":")
    factory = getattr(importlib.import_module(module), name)
    if not callable(factory):
        raise TypeError(f"{spec} is not callable")
    return factory  # type: ignore[no-any-return]


def build(
    root: Path, cfg: DemoConfig, events: BuildEvents | None = None, *, cancel: threading.Event | None = None,
    plot: Path | None = None, encoder: str | None = None,
) -> None:
    """Record the training raids, train, hand the model over, then record the held-out
    raids with truth and score them (`pipeline.run_headless`'s work, the model first).
    Replaces `root`'s train/ and heldout/. Raises `BuildCancelled` once `cancel` is set
    (checked between raids and, by the trainer, after every step). encoder: a
    "module:function" encoder factory (`resolve_encoder_factory`; tests)."""
    from app.commands.demo import report_text
    from app.core.model.ev import Hysteresis
    from app.core.training.trainer import Trainer
    from app.demo.evaluation import calibration_plot, evaluate_all
    from app.demo.pipeline import (
        MODEL_FILE,
        DemoResult,
        fixed_rule,
        generate_runs,
        training_set,
    )

    ev = events or BuildEvents()
    root = Path(root)
    stop = cancel or threading.Event()

    def say(stage: str, done: int, total: int, eta: float | None = None) -> None:
        if stop.is_set():
            raise BuildCancelled("the demo build was cancelled")
        if ev.stage is not None:
            ev.stage(stage, done, total, eta)

    started = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    write_info(root, cfg, complete=False)  # an unfinished folder is never reused
    say("encoder", 0, 1)
    t0 = time.perf_counter()
    backend, encoder_id, reason = resolve_encoder_factory(encoder)(cfg.gen.size, cfg.encoder_preference, cfg.threads)
    t_enc = time.perf_counter() - t0
    log.info("demo encoder: %s", reason)
    for sub in ("train", "heldout"):
        if (root / sub).exists():
            shutil.rmtree(root / sub)
    t0 = time.perf_counter()
    gen_started = time.monotonic()
    say("generate", 0, cfg.n_train_runs)
    train_gen = generate_runs(
        root / "train", cfg.n_train_runs, seed=cfg.seed, encoder=backend, encoder_id=encoder_id,
        truth=False, config=cfg.gen,
        progress=lambda _p, d, t: say("generate", d, t, _eta(gen_started, d, t)),
    )
    t_gen = time.perf_counter() - t0

    say("train", 0, cfg.train.epochs)
    t0 = time.perf_counter()
    ds = training_set(root / "train", window=cfg.train.window, branches=False)
    model_path = root / MODEL_FILE
    trainer = Trainer(cfg.train, on_epoch_end=ev.epoch, cancel=stop)
    training = trainer.fit(ds, model_path)
    if training.stopped == "cancelled" or stop.is_set():
        raise BuildCancelled("the demo build was cancelled")
    assisted = None
    if cfg.branches:
        assisted = model_path.with_name("qnet.assisted.safetensors")
        Trainer(cfg.train, cancel=stop).fit(
            training_set(root / "train", window=cfg.train.window, branches=True), assisted
        )
    _export_for_lean(model_path)
    t_train = time.perf_counter() - t0
    if ev.model is not None:
        ev.model(training, encoder_id)

    t0 = time.perf_counter()
    held_started = time.monotonic()
    say("heldout", 0, cfg.n_heldout_runs)
    heldout_gen = generate_runs(
        root / "heldout", cfg.n_heldout_runs, seed=cfg.seed + cfg.n_train_runs, encoder=backend,
        encoder_id=encoder_id, truth=True, config=cfg.gen,
        progress=lambda _p, d, t: say("heldout", d, t, _eta(held_started, d, t)),
    )
    t_gen += time.perf_counter() - t0
    say("score", 0, 1)
    t0 = time.perf_counter()
    write_info(root, cfg, complete=False)  # the fixed rule reads the training seeds from it
    metrics, table = evaluate_all(
        root / "heldout", model_path, hysteresis=cfg.hysteresis or Hysteresis(),
        loot_threshold=fixed_rule(root), assisted_model=assisted,
    )
    seconds = {"encoder": t_enc, "generate": t_gen, "train": t_train, "eval": time.perf_counter() - t0,
               "total": time.perf_counter() - started}
    result = DemoResult(train_gen, heldout_gen, training, metrics, table, model_path, reason, seconds)
    text = report_text(result)
    if plot is not None:
        text += f"\ncalibration plot: {calibration_plot(metrics, plot)}"
    from app.core.training.child import result_to_dict

    write_info(
        root, cfg, complete=True, encoder_id=encoder_id, model=model_path, result=result_to_dict(training),
        report=text, runs={"train": [r.path.name for r in train_gen.runs], "heldout": [r.path.name for r in heldout_gen.runs]},
    )
    say("score", 1, 1)
    if ev.report is not None:
        ev.report(text)


def _export_for_lean(model: Path) -> None:
    """The model's checked ONNX export, so a lean (torch-free) demo app swaps it in
    without torch, as the training child does for the training dialog (best effort)."""
    try:
        from app.core.training.child import export_for_lean
    except ImportError:  # an older core without lean starts
        return
    export_for_lean(model)


# ------------------------------------------------------------------------- the child


def lower_priority(niceness: int = NICENESS) -> None:
    """Run this process below the live app's priority (best effort)."""
    try:
        if hasattr(os, "nice"):
            os.nice(niceness)
        else:  # Windows
            import psutil

            psutil.Process().nice(psutil.BELOW_NORMAL_PRIORITY_CLASS)  # type: ignore[attr-defined]
    except (OSError, ImportError, AttributeError) as exc:
        log.debug("could not lower the demo build's priority: %s", exc)


def _child_main(job_text: str, to_parent: Connection, from_parent: Connection) -> None:
    """Entry of the spawned process: one `build`, reported over `to_parent`."""
    from app.core.training.child import child_side, send_json

    job = json.loads(job_text)
    lock, cancel = child_side(job, to_parent, from_parent)
    lower_priority(job.get("niceness", NICENESS))

    def send(msg: dict[str, Any]) -> None:
        send_json(to_parent, lock, msg)

    try:
        from app.core.training.child import result_to_dict

        cfg = config_from_dict(job["config"])
        events = BuildEvents(
            stage=lambda s, d, t, eta: send({"kind": "stage", "stage": s, "done": d, "total": t, "eta_s": eta}),
            epoch=lambda p: send({"kind": "epoch", "progress": asdict(p)}),
            model=lambda r, enc: send({"kind": "model", "result": result_to_dict(r), "encoder_id": enc}),
            report=lambda text: send({"kind": "report", "text": text}),
        )
        plot = Path(job["plot"]) if job.get("plot") else None
        build(Path(job["root"]), cfg, events, cancel=cancel, plot=plot, encoder=job.get("encoder"))
        send({"kind": "done"})
    except BuildCancelled:
        send({"kind": "error", "cancelled": True, "message": "cancelled"})
    except BaseException as exc:
        level = logging.INFO if isinstance(exc, ArcXError) else logging.ERROR
        logging.getLogger(__name__).log(level, "the demo build failed", exc_info=True)
        message = str(exc) if isinstance(exc, ArcXError) else f"{type(exc).__name__}: {exc}"
        send({"kind": "error", "message": message})
    finally:
        to_parent.close()


def build_in_child(
    root: Path,
    cfg: DemoConfig,
    *,
    events: BuildEvents | None = None,
    cancel: threading.Event | None = None,
    plot: Path | None = None,
    niceness: int = NICENESS,
    on_started: Callable[[int], None] | None = None,
    encoder: str | None = None,
) -> None:
    """`build(root, cfg)` in a spawned, lower-priority process; its events are called here
    (on the calling thread). Returns when the build is done; raises `BuildCancelled` after
    `cancel` (the child is terminated if it does not stop within `CANCEL_GRACE_S`), the
    build's ArcX error as `ArcXError`, or `BuildCrashed`."""
    from app.core.training.child import relog, result_from_dict
    from app.core.training.types import TrainProgress

    ev = events or BuildEvents()
    job = {
        "root": str(root), "config": config_to_dict(cfg), "plot": str(plot) if plot else None,
        "log_level": logging.getLogger().getEffectiveLevel(), "niceness": niceness, "encoder": encoder,
    }
    ctx = multiprocessing.get_context("spawn")
    from_child, child_out = ctx.Pipe(duplex=False)
    child_in, to_child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, args=(json.dumps(job), child_out, child_in), name="arcx-demo-build",
                       daemon=True)
    proc.start()
    child_out.close()
    child_in.close()
    log.info("demo build in child process %d", proc.pid)
    if on_started is not None and proc.pid is not None:
        on_started(proc.pid)
    cancelled_at: float | None = None
    try:
        while True:
            if cancel is not None and cancel.is_set() and cancelled_at is None:
                cancelled_at = time.monotonic()
                with contextlib.suppress(OSError):
                    to_child.send_bytes(json.dumps({"kind": "cancel"}).encode("utf-8"))
            if cancelled_at is not None and time.monotonic() - cancelled_at > CANCEL_GRACE_S:
                raise BuildCancelled("the demo build was cancelled")
            try:
                raw = from_child.recv_bytes() if from_child.poll(_POLL_S) else None
            except (EOFError, OSError):
                if cancelled_at is not None:
                    raise BuildCancelled("the demo build was cancelled") from None
                proc.join(_EXIT_GRACE_S)
                raise BuildCrashed(f"the demo build stopped unexpectedly (exit code {proc.exitcode})") from None
            if raw is None:
                continue
            msg = json.loads(raw)
            kind = msg.get("kind")
            if kind == "log":
                relog(msg, "arcx-demo-build")
            elif cancelled_at is not None:
                if kind in ("done", "error"):
                    raise BuildCancelled("the demo build was cancelled")
            elif kind == "stage" and ev.stage is not None:
                ev.stage(msg["stage"], int(msg["done"]), int(msg["total"]), msg.get("eta_s"))
            elif kind == "epoch" and ev.epoch is not None:
                ev.epoch(TrainProgress(**msg["progress"]))
            elif kind == "model" and ev.model is not None:
                ev.model(result_from_dict(msg["result"]), str(msg["encoder_id"]))
            elif kind == "report" and ev.report is not None:
                ev.report(str(msg["text"]))
            elif kind == "done":
                proc.join(_EXIT_GRACE_S)
                return
            elif kind == "error":
                proc.join(_EXIT_GRACE_S)
                if msg.get("cancelled"):
                    raise BuildCancelled("the demo build was cancelled")
                raise ArcXError(str(msg["message"]))
    finally:
        if proc.is_alive():
            proc.terminate()
            proc.join(_EXIT_GRACE_S)
        from_child.close()
        to_child.close()


if __name__ == "__main__":  # pragma: no cover (spawned children enter through _child_main)
    sys.exit("run by build_in_child, not directly")
