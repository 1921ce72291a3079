"""Training in a child process: the live app's threads and memory stay its own.

    result = train_in_child(config, runs_dir, out, on_step=..., on_epoch_end=..., cancel=event)

`torch.set_num_threads` is process-wide and training holds hundreds of MB, so the
`Trainer` runs in a process of its own (multiprocessing's *spawn* context on every OS:
no forked copy of the parent's threads or engine). The training dialog's worker and
`arcx train` both call `train_in_child`.

What crosses the boundary is JSON text, one message per `send_bytes` on two one-way
pipes (never pickle: a message is `json.loads`-ed, it cannot run code; multiprocessing
itself only hands the two pipe ends to the child):

    child → parent   {"kind": "log", "level", "name", "msg"}   a log record, re-logged here
                     {"kind": "step" | "epoch", "progress": {…TrainProgress}}
                     {"kind": "result", "result": {…TrainResult}}
                     {"kind": "error", "type", "message"}      fit raised
    parent → child   {"kind": "cancel"}                        sets the trainer's cancel token

A dataset in memory (not a runs folder) is written as an `.npz` (loaded with
`allow_pickle=False`) plus a JSON header in a temporary folder the child reads.
After a fit that installed a model, the child also exports its Q-net to ONNX for lean
starts (`app.core.model.lean.export_qnet_for_lean`, kept only when it passes the fidelity
check), so a desktop app running without torch swaps the new model in with ONNX Runtime.
A failed export is logged and costs only that: the next start loads the model with torch.

A child that dies without a result (a crash, `os._exit`, a segfault, killed) raises
`TrainingCrashed` here; an ArcX error in the child is re-raised as the same class, so the
caller shows the same line as before. Ctrl+C in the terminal reaches the child too, which
ignores it: the parent cancels it and waits (`CANCEL_GRACE_S`), then re-raises.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable
from dataclasses import asdict, fields, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from app.core.atomic import WriteError
from app.core.errors import ArcXError

if TYPE_CHECKING:  # the parent never needs torch for this module
    from app.core.data.dataset import DecisionDataset
    from app.core.training.trainer import CancelToken
    from app.core.training.types import TrainConfig, TrainProgress, TrainResult

log = logging.getLogger(__name__)

__all__ = [
    "CANCEL_GRACE_S",
    "TrainingCrashed",
    "config_from_dict",
    "result_from_dict",
    "result_to_dict",
    "train_in_child",
]

# Seconds the parent waits for a cancelled child to stop before terminating it.
CANCEL_GRACE_S = 30.0
# How often the parent looks at the cancel token and the child's liveness, in seconds.
_POLL_S = 0.1
# Seconds a child that sent its result has to exit before it is terminated.
_EXIT_GRACE_S = 10.0

ProgressFn = Callable[["TrainProgress"], None]


class TrainingCrashed(ArcXError):
    """The training process ended without a result (crashed or killed); the app runs on."""


# ----------------------------------------------------------------------- plain data


def config_from_dict(d: dict[str, Any]) -> TrainConfig:
    """`TrainConfig.to_dict()` back into a TrainConfig (the nested Q-net config included)."""
    from app.core.model.qnet_config import QNetConfig
    from app.core.training.types import TrainConfig

    known = {f.name for f in fields(TrainConfig)}
    kw = {k: v for k, v in d.items() if k in known}
    if kw.get("qnet") is not None:
        kw["qnet"] = QNetConfig.from_dict(kw["qnet"])
    return TrainConfig(**kw)


def result_to_dict(result: TrainResult) -> dict[str, Any]:
    """A TrainResult as JSON-able data (paths as strings)."""
    d = asdict(result)
    for key in ("checkpoint_path", "previous_path"):
        d[key] = str(d[key]) if d[key] is not None else None
    return d


def result_from_dict(d: dict[str, Any]) -> TrainResult:
    from app.core.training.types import EpochStats, TrainResult

    kw = dict(d)
    for key in ("checkpoint_path", "previous_path"):
        kw[key] = Path(kw[key]) if kw[key] is not None else None
    kw["history"] = tuple(EpochStats(**h) for h in kw.get("history", ()))
    if kw.get("verdict") is not None:
        from app.core.training.verdict import Verdict

        kw["verdict"] = Verdict(**{**kw["verdict"], "lines": tuple(kw["verdict"]["lines"])})
    return TrainResult(**kw)


def _progress_from_dict(d: dict[str, Any]) -> TrainProgress:
    from app.core.training.types import TrainProgress

    return TrainProgress(**d)


def _save_dataset(ds: DecisionDataset, folder: Path) -> Path:
    """Every array attribute of `ds` into `folder/dataset.npz`, the rest into a JSON header."""
    arrays = {k: v for k, v in vars(ds).items() if isinstance(v, np.ndarray)}
    header = {k: v for k, v in vars(ds).items() if not isinstance(v, np.ndarray)}
    np.savez(folder / "dataset.npz", **arrays)  # type: ignore[arg-type]
    (folder / "dataset.json").write_text(json.dumps(header), encoding="utf-8")
    return folder / "dataset.npz"


def _load_dataset(path: Path) -> DecisionDataset:
    from app.core.data.dataset import DecisionDataset

    ds = DecisionDataset.__new__(DecisionDataset)
    ds.__dict__.update(json.loads(path.with_suffix(".json").read_text(encoding="utf-8")))
    with np.load(path, allow_pickle=False) as data:
        ds.__dict__.update({k: data[k] for k in data.files})
    return ds


def send_json(conn: Connection, lock: threading.Lock, message: dict[str, Any]) -> None:
    """One message to the other process: JSON text, never pickle."""
    with lock:
        conn.send_bytes(json.dumps(message).encode("utf-8"))


# ---------------------------------------------------------------------------- child


class _PipeLog(logging.Handler):
    """Sends each record to the parent, which logs it under the same name."""

    def __init__(self, conn: Connection, lock: threading.Lock) -> None:
        super().__init__()
        self.conn, self.send_lock = conn, lock  # not `self.lock`: that is the handler's own

    def emit(self, record: logging.LogRecord) -> None:
        try:
            exc = "".join(traceback.format_exception(*record.exc_info)).rstrip() if record.exc_info else None
            message = {"kind": "log", "level": record.levelno, "name": record.name, "msg": record.getMessage()}
            send_json(self.conn, self.send_lock, {**message, "exc_text": exc})
        except (OSError, ValueError):  # the parent is gone: nothing to tell
            pass


def child_side(job: dict[str, Any], to_parent: Connection, from_parent: Connection) -> tuple[threading.Lock, threading.Event]:
    """What every ArcX child process sets up first (this trainer's, the demo's builder):
    Ctrl+C left to the parent, its log records sent to the parent at `job["log_level"]`,
    and a listener that sets the returned event on the parent's cancel (or when the parent
    is gone). The lock serialises `send_json` on `to_parent`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl+C means
    lock = threading.Lock()
    root = logging.getLogger()
    root.handlers[:] = [_PipeLog(to_parent, lock)]
    root.setLevel(job["log_level"])
    cancel = threading.Event()

    def listen() -> None:
        try:
            while True:
                if json.loads(from_parent.recv_bytes()).get("kind") == "cancel":
                    cancel.set()
        except (EOFError, OSError):  # the parent closed its end or died: stop
            cancel.set()

    threading.Thread(target=listen, name="cancel-listener", daemon=True).start()
    return lock, cancel


def _child_main(job_text: str, to_parent: Connection, from_parent: Connection) -> None:
    """Entry of the spawned process: run one fit and report over `to_parent`."""
    job = json.loads(job_text)
    lock, cancel = child_side(job, to_parent, from_parent)
    try:
        import torch

        from app.core.training.trainer import Trainer

        logging.getLogger(__name__).debug(
            "training child %d: torch %s, %d CPU threads", os.getpid(), torch.__version__, torch.get_num_threads()
        )
        config = config_from_dict(job["config"])
        data: Path | DecisionDataset = (
            _load_dataset(Path(job["dataset"])) if job.get("dataset") else Path(job["data"])
        )
        trainer = Trainer(
            config,
            on_step=lambda p: send_json(to_parent, lock, {"kind": "step", "progress": asdict(p)}),
            on_epoch_end=lambda p: send_json(to_parent, lock, {"kind": "epoch", "progress": asdict(p)}),
            cancel=cancel,
            device=torch.device(job["device"]) if job.get("device") else None,
        )
        result = trainer.fit(data, Path(job["out"]) if job.get("out") else None)
        if result.checkpoint_path is not None and result.stopped != "cancelled":
            export_for_lean(result.checkpoint_path)
            if job.get("judge"):
                result = judge_in_child(data, result, config)
        send_json(to_parent, lock, {"kind": "result", "result": result_to_dict(result)})
    except BaseException as exc:  # reported to the parent, which decides
        level = logging.DEBUG if isinstance(exc, ArcXError) else logging.ERROR
        logging.getLogger(__name__).log(level, "training failed in the child process", exc_info=True)
        send_json(to_parent, lock, {
            "kind": "error", "module": type(exc).__module__, "type": type(exc).__qualname__,
            "message": str(exc), "errno": getattr(exc, "errno", None),
        })
    finally:
        to_parent.close()


def export_for_lean(checkpoint: Path) -> Path | None:
    """The installed model's checked ONNX export for lean starts (needs torch: the child's
    side); None when it is not faithful or fails, which only costs the next start torch."""
    try:
        from app.core.model.checkpoint import load_checkpoint
        from app.core.model.lean import export_qnet_for_lean

        model, meta = load_checkpoint(checkpoint, device="cpu")
        out = export_qnet_for_lean(model, meta.content_sha256)
    except Exception:
        log.warning("could not export %s to ONNX for a lean start", checkpoint.name, exc_info=True)
        return None
    if out is not None:
        log.info("exported %s to ONNX for lean starts: %s", checkpoint.name, out)
    return out


def judge_in_child(data: Path | DecisionDataset, result: TrainResult, config: TrainConfig) -> TrainResult:
    """`result` with the new model's verdict on the held-out runs (`verdict.verdict_for`),
    computed here, where torch and the runs are loaded already: the desktop app's process
    never loads either for it. A failure is reported in `verdict_error`, not raised."""
    from app.core.training.verdict import verdict_for

    try:
        return replace(result, verdict=verdict_for(data, result, config))
    except Exception as exc:
        log.warning("the new model could not be scored on the held-out runs", exc_info=True)
        return replace(result, verdict_error=str(exc) or type(exc).__name__)


# --------------------------------------------------------------------------- parent


def _raise_child_error(msg: dict[str, Any]) -> None:
    """Raise what the child's fit raised: its ArcX error class (only app's own modules are
    looked up), else `TrainingCrashed` naming it."""
    module, type_name, message = msg.get("module", ""), msg["type"], msg["message"]
    cls = None
    if module == "app" or module.startswith("app."):
        with contextlib.suppress(ImportError):
            cls = getattr(importlib.import_module(module), type_name, None)
    if isinstance(cls, type) and issubclass(cls, WriteError):
        raise cls(message, errno_=msg.get("errno"))
    if isinstance(cls, type) and issubclass(cls, ArcXError):
        raise cls(message)
    raise TrainingCrashed(f"training failed: {type_name}: {message}")


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def train_in_child(
    config: TrainConfig,
    data: Path | DecisionDataset,
    out_path: Path | None = None,
    *,
    device: str | None = None,
    on_step: ProgressFn | None = None,
    on_epoch_end: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    on_started: Callable[[int], None] | None = None,
    judge: bool = False,
) -> TrainResult:
    """`Trainer(config, ...).fit(data, out_path)` in a spawned process; returns its result.

    device: e.g. "cpu", "cuda:0" (None: the trainer decides from `config.device`);
    on_step / on_epoch_end: called here (on the calling thread) with each TrainProgress;
    cancel: checked every `_POLL_S`, forwarded to the child; on_started: gets the child's
    pid; judge: also score the new model on the held-out runs in the child
    (`TrainResult.verdict`, or `verdict_error`). Raises the child's ArcXError, or `TrainingCrashed` when it died without a result.
    """
    with tempfile.TemporaryDirectory(prefix="arcx-train-") as tmp:
        job: dict[str, Any] = {
            "config": config.to_dict(),
            "out": str(out_path) if out_path is not None else None,
            "device": device,
            "log_level": logging.getLogger().getEffectiveLevel(),
            "judge": judge,
        }
        if isinstance(data, (str, Path)):
            job["data"] = str(data)
        else:
            job["dataset"] = str(_save_dataset(data, Path(tmp)))
        ctx = multiprocessing.get_context("spawn")
        from_child, child_out = ctx.Pipe(duplex=False)
        child_in, to_child = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_child_main, args=(json.dumps(job), child_out, child_in), name="arcx-train", daemon=True
        )
        proc.start()
        child_out.close()
        child_in.close()
        log.debug("training in child process %d", proc.pid)
        if on_started is not None and proc.pid is not None:
            on_started(proc.pid)
        try:
            return _wait(proc, from_child, to_child, on_step, on_epoch_end, cancel)
        except KeyboardInterrupt:
            _cancel(to_child)
            proc.join(CANCEL_GRACE_S)
            raise
        finally:
            if proc.is_alive():
                proc.terminate()
                proc.join(_EXIT_GRACE_S)
            from_child.close()
            to_child.close()


def _cancel(to_child: Connection) -> None:
    with contextlib.suppress(OSError):  # already gone
        to_child.send_bytes(json.dumps({"kind": "cancel"}).encode("utf-8"))


def relog(msg: dict[str, Any], process_name: str = "arcx-train") -> None:
    """A child's record, logged here: the console shows its line, the log file its traceback."""
    logger = logging.getLogger(msg["name"])
    if logger.isEnabledFor(msg["level"]):
        logger.handle(logging.makeLogRecord({
            "name": msg["name"], "levelno": msg["level"], "levelname": logging.getLevelName(msg["level"]),
            "msg": msg["msg"], "args": None, "exc_text": msg.get("exc_text"), "processName": process_name,
        }))


def _wait(
    proc: Any,
    from_child: Connection,
    to_child: Connection,
    on_step: ProgressFn | None,
    on_epoch_end: ProgressFn | None,
    cancel: CancelToken | None,
) -> TrainResult:
    cancel_sent = False
    while True:
        if cancel is not None and cancel.is_set() and not cancel_sent:
            _cancel(to_child)
            cancel_sent = True
        try:
            ready = from_child.poll(_POLL_S)
            raw = from_child.recv_bytes() if ready else None
        except (EOFError, OSError):  # the child closed its end: it ended (or crashed)
            proc.join(_EXIT_GRACE_S)
            raise TrainingCrashed(
                f"training stopped unexpectedly ({_describe_exit(proc.exitcode)}); the installed model is unchanged"
            ) from None
        if raw is None:
            continue
        msg = json.loads(raw)
        kind = msg.get("kind")
        if kind == "log":
            relog(msg)
        elif kind == "step" and on_step is not None:
            on_step(_progress_from_dict(msg["progress"]))
        elif kind == "epoch" and on_epoch_end is not None:
            on_epoch_end(_progress_from_dict(msg["progress"]))
        elif kind == "result":
            proc.join(_EXIT_GRACE_S)
            return result_from_dict(msg["result"])
        elif kind == "error":
            proc.join(_EXIT_GRACE_S)
            _raise_child_error(msg)


if __name__ == "__main__":  # pragma: no cover (spawned children enter through _child_main)
    sys.exit("run by train_in_child, not directly")
