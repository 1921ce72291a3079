"""`arcx demo` step (c): the real desktop app on a live simulated raid, learning behind it.

The app runs exactly as for a player (tray, overlay, engine, hotkeys) with two
differences, both set before it starts: its home is the demo folder's `app/`
(`ARCX_HOME`), so its runs, settings and model never mix with the player's, and its
capture source is the simulated raid (`LiveRaids`, the demo's `sim` source).

On top of the app, a game window (`app.ui.game_window`) shows the raid the engine is
capturing, with the overlay in its corner; raid after raid, each a new seed, and the runs
are started and labelled automatically, so the demo plays on its own. Both are on screen
at once. `DemoSession` then gets the model:

* **reused** (`app.demo.builder.reuse_plan` found the folder's raids and model made with
  the same settings): once the engine is warm and its encoder is the one the raids were
  recorded with, the saved model is swapped in through the app's `ModelSlot`;
* **learned**: otherwise a `DemoBuildWorker` records the training raids and trains the
  model in a lower-priority child process (`builder.build_in_child`) while the overlay
  says LEARNING… and how far it is (raids recorded, training epoch); the trained model is
  hot-swapped in the same way the training dialog's is (`AppController.swap_model`) and
  the overlay starts advising. The held-out scoring runs after that and is printed to
  the terminal when it is done.

Closing the game window ends the demo: the build is cancelled (its child stopped), then
the app quits as with Quit (an active run is ended unlabelled, the engine stops), and
`arcx demo` exits 0. The session prints when the overlay is first on screen, when the
model is swapped in and when the first advice shows (`MARKER` lines on stderr, also
logged), which `scripts/demo_first_overlay.py` times.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from PyQt6.QtCore import QEvent, QObject, QTimer, pyqtSignal

from app.core import paths
from app.core.atomic import atomic_path
from app.demo import builder
from app.workers.base import StoppableWorker, describe_error

if TYPE_CHECKING:
    from app.core.training.trainer import TrainProgress, TrainResult
    from app.demo.pipeline import DemoConfig
    from app.ui.overlay import OverlayWindow

log = logging.getLogger(__name__)

HOME_ENV = "ARCX_HOME"
SOURCE_ENV = "ARCX_SOURCE"
MARKER = "arcx demo:"
"""prefix of the session's progress lines on stderr (the timing script reads them)"""
WARM_POLL_MS = 200
"""how often the session looks whether the engine has warmed up"""
LOADING_HEADLINE = "GETTING READY"
"""the overlay's headline while a reused demo's model waits for the engine"""
STOP_WAIT_MS = int((builder.CANCEL_GRACE_S + 5.0) * 1000)
"""how long closing the demo waits for the build's worker (it terminates its child)"""


def process_age_s() -> float:
    """Seconds since this process started (psutil's create time; 0 when unknown)."""
    try:
        import psutil

        return max(0.0, time.time() - psutil.Process().create_time())
    except Exception:  # best effort: only for the terminal's timings
        return 0.0


def learning_text(stage: str, done: int, total: int, eta_s: float | None = None) -> str:
    """The overlay's LEARNING… line for a build stage (`builder.STAGES`, or "waiting")."""
    left = f" · ~{max(1, round(eta_s / 60))} min left" if eta_s is not None and done < total else ""
    if stage == "waiting":
        return "getting the live game ready"
    if stage == "encoder":
        return "preparing the encoder"
    if stage == "generate":
        return f"recording raids {done}/{total}{left}"
    if stage == "train":
        return f"training: epoch {done}/{total}" if done else "training the model"
    if stage == "loading":
        return "loading the demo's model"
    return ""


# ---------------------------------------------------------------------------- worker


class DemoBuildWorker(StoppableWorker):
    """Runs `builder.build_in_child` (record, train, score) and reports as it goes.

    Signals:
        started(): inherited from QThread.
        progress(str, int, int, object): a build stage, done, total, ETA in s (or None).
        epochEnded(object): a `TrainProgress` after each training epoch.
        modelReady(object, str): the trained `TrainResult` and the encoder id; the model is
            in the demo folder.
        report(str): the held-out scores, as the headless demo prints them.
        errored(str): the build failed; the reason in words (not after a cancel).
        finished(): inherited from QThread; always last.
    """

    progress = pyqtSignal(str, int, int, object)
    epochEnded = pyqtSignal(object)
    modelReady = pyqtSignal(object, str)
    report = pyqtSignal(str)

    def __init__(
        self, root: Path, config: DemoConfig, *, plot: Path | None = None, encoder: str | None = None,
        parent: QObject | None = None,
    ) -> None:
        """encoder: a "module:function" encoder factory for the build (tests;
        `builder.resolve_encoder_factory`), None for the demo's own."""
        super().__init__(parent)
        self.root = Path(root)
        self.config = config
        self.plot = plot
        self.encoder = encoder
        self.child_pid: int | None = None
        """the build process's id once it started"""

    def run(self) -> None:
        events = builder.BuildEvents(
            stage=lambda s, d, t, eta: self.progress.emit(s, d, t, eta),
            epoch=self.epochEnded.emit,
            model=self.modelReady.emit,
            report=self.report.emit,
        )
        try:
            builder.build_in_child(
                self.root, self.config, events=events, cancel=self._stop, plot=self.plot,
                on_started=lambda pid: setattr(self, "child_pid", pid), encoder=self.encoder,
            )
        except builder.BuildCancelled:
            log.info("demo build cancelled")
        except BaseException as exc:  # the worker reports, it never dies silently
            log.exception("the demo build failed")
            self.errored.emit(describe_error(exc))


BuildFactory = Callable[[], Any]
"""() → a started-later worker with `DemoBuildWorker`'s signals (tests pass fakes)"""


# ---------------------------------------------------------------------------- session


class DemoSession(QObject):
    """Gets the running demo app its model: reused at once, or learned behind the game.

    Signals:
        modelSwapped(): a model is in use; the overlay advises.
        ended(): the build finished or failed, or the session stopped.
    """

    modelSwapped = pyqtSignal()
    ended = pyqtSignal()

    def __init__(
        self,
        running: Any,
        root: Path,
        config: DemoConfig | None = None,
        plan: builder.ReusePlan | None = None,
        *,
        window: Any | None = None,
        build_factory: BuildFactory | None = None,
        plot: Path | None = None,
        progress: bool = True,
        out: TextIO | None = None,
        err: TextIO | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.running = running
        self.controller = running.controller
        self.overlay: OverlayWindow = running.controller.overlay
        self.engine = running.parts.engine
        self.window = window
        """the game window (its caption says what ArcX is doing), or None"""
        self.root = Path(root)
        self.config = config
        self.plan = plan or builder.ReusePlan(None, "")
        self.plot = plot
        self.show_progress = progress
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._factory: BuildFactory = build_factory or (
            lambda: DemoBuildWorker(self.root, self._config(), plot=self.plot)
        )
        self.worker: Any | None = None
        self.swapped = False
        self.stopped = False
        self._painted = False
        self._advised = False
        self._bars: dict[str, Any] = {}
        self._warm_timer = QTimer(self)
        self._warm_timer.setInterval(WARM_POLL_MS)
        self._warm_timer.timeout.connect(self._check_warm)
        self.overlay.installEventFilter(self)
        self.controller.bridge.estimate.connect(self._on_estimate)

    def _config(self) -> DemoConfig:
        if self.config is None:
            from app.demo.pipeline import DemoConfig

            self.config = DemoConfig()
        return self.config

    # ------------------------------------------------------------------ terminal
    def say(self, text: str) -> None:
        """A progress line on stderr (the log file gets it too, the console only once)."""
        log.debug("%s", text)
        print(f"{MARKER} {text}", file=self.err, flush=True)

    def _learning(self, text: str, headline: str = "LEARNING…") -> None:
        """The overlay's note (and the game window's caption) while there is no model."""
        self.overlay.set_learning(text, headline=headline)
        if self.window is not None and hasattr(self.window, "set_activity"):
            activity = "ArcX advising" if not text else (
                "ArcX learning: " + text if headline == "LEARNING…" else "ArcX " + text)
            self.window.set_activity(activity)

    # ------------------------------------------------------------------ start
    def start(self) -> None:
        """Show the overlay (learning, or loading the reused model) and wait for the engine."""
        if self.plan.reuse:
            self._learning(learning_text("loading", 0, 0), headline=LOADING_HEADLINE)
        else:
            self._learning(learning_text("waiting", 0, 0))
        if self.controller.settings.overlay.visible:  # F11 in an earlier demo hid it: kept
            self.overlay.show()
            self.overlay.raise_()
        self._warm_timer.start()
        self._check_warm()

    def _check_warm(self) -> None:
        if self.stopped or not self.engine.is_warm:
            return
        self._warm_timer.stop()
        saved = self.plan.saved
        if saved is not None:
            live = self.engine.encoder_id
            if saved.encoder_id and live and live != saved.encoder_id:
                self.say(f"the encoder changed since the demo was made ({saved.encoder_id} → {live}): "
                         "recording new raids and training again")
            else:
                self.swap_in(saved.model_path, builder_result(saved.result))
                self.ended.emit()
                return
        self.start_build()

    def start_build(self) -> None:
        """Record and train in the background (the engine is warm: its encoder cache is built)."""
        self._learning(learning_text("encoder", 0, 1))
        worker = self._factory()
        worker.progress.connect(self._on_progress)
        worker.epochEnded.connect(self._on_epoch)
        worker.modelReady.connect(self._on_model)
        worker.report.connect(self._on_report)
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        worker.start()

    # ------------------------------------------------------------------ build events
    def _on_progress(self, stage: str, done: int, total: int, eta_s: object) -> None:
        eta = float(eta_s) if isinstance(eta_s, (int, float)) else None
        text = learning_text(stage, done, total, eta)
        if text and not self.swapped:
            self._learning(text)
        if stage in ("generate", "heldout") and total:
            self._bar(stage, done, total)

    def _bar(self, stage: str, done: int, total: int) -> None:
        if not self.show_progress:
            return
        from tqdm import tqdm

        bar = self._bars.get(stage)
        if bar is None:
            desc = "recording raids" if stage == "generate" else "held-out raids + truth"
            bar = self._bars[stage] = tqdm(total=total, desc=desc, unit="raid", file=self.err, dynamic_ncols=True)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    def _on_epoch(self, p: TrainProgress) -> None:
        if not self.swapped:
            self._learning(learning_text("train", p.epoch, p.epochs))
        if self.show_progress:
            from app.commands.demo import epoch_line

            print(epoch_line(p), file=self.err, flush=True)

    def _on_model(self, result: TrainResult, encoder_id: str) -> None:
        path = result.checkpoint_path
        if path is None:
            self._on_error("the training finished without a model")
            return
        self.swap_in(path, result)

    def _on_report(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def _on_error(self, message: str) -> None:
        self._learning("" if self.swapped else "learning stopped: see the terminal")
        self.say(f"the demo could not learn: {message}")

    def _on_finished(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self.ended.emit()

    # ------------------------------------------------------------------ the model
    def swap_in(self, model: Path, result: TrainResult | None) -> bool:
        """Install `model` as the demo app's model and hot-swap it into the engine."""
        from app.core.model.slot import model_path

        if result is None:
            self._on_error("the saved demo has no training record")
            return False
        target = model_path()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(target) as tmp:
                shutil.copyfile(model, tmp)
        except OSError as exc:
            self._on_error(f"could not install the model: {exc}")
            return False
        started = time.perf_counter()
        ok = bool(self.controller.swap_model(replace(result, checkpoint_path=target, previous_path=None)))
        if not ok:
            self._learning("the model was refused: see the terminal")
            self.say("the trained model was not used (see the log)")
            return False
        self.swapped = True
        self._learning("")
        self.say(f"model swapped in after {process_age_s():.1f} s "
                 f"({(time.perf_counter() - started) * 1000:.0f} ms on the GUI thread); the overlay advises")
        self.modelSwapped.emit()
        return True

    # ------------------------------------------------------------------ markers
    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:  # noqa: N802 (Qt override)
        overlay = self.overlay
        if (
            not self._painted and obj is overlay and event is not None
            and event.type() == QEvent.Type.Paint and overlay.isVisible()
        ):
            self._painted = True
            self.say(f"overlay on screen after {process_age_s():.1f} s: {overlay.view().headline}")
        return False

    def _on_estimate(self, est: Any) -> None:
        if self._advised or not self.swapped or getattr(est, "warming", True):
            return
        self._advised = True
        self.say(f"first advice after {process_age_s():.1f} s: {str(est.advice).upper()}")

    # ------------------------------------------------------------------ stop
    def stop(self) -> None:
        """Cancel the build (its child process stops) and wait for its worker. Once."""
        if self.stopped:
            return
        self.stopped = True
        self._warm_timer.stop()
        worker = self.worker
        if worker is not None and worker.isRunning():
            self.say("ending: stopping the background learning")
            worker.request_stop()
            if not worker.wait(STOP_WAIT_MS):
                log.warning("the demo build's worker did not stop in time")
        for bar in self._bars.values():
            bar.close()


def builder_result(data: dict[str, Any]) -> TrainResult | None:
    """A saved `TrainResult` (`child.result_to_dict`) back, or None when it is unreadable."""
    from app.core.training.child import result_from_dict

    try:
        return result_from_dict(data)
    except (TypeError, KeyError, ValueError) as exc:
        log.warning("the saved demo's training record is unreadable: %s", exc)
        return None


# ---------------------------------------------------------------------------- the app


def prepare_home() -> Path:
    """Point the app at the demo's own home and source. Returns the home."""
    home = paths.demo_dir() / "app"
    home.mkdir(parents=True, exist_ok=True)
    os.environ[HOME_ENV] = str(home)
    os.environ[SOURCE_ENV] = "sim"
    return home


def start_without_model(parts: Any) -> None:
    """The demo app starts with no model, whatever its models folder holds from an earlier
    demo: the session swaps the right one in. (Done in the engine factory, so a second
    `arcx demo` that finds one running changes nothing of it.)"""
    unload = getattr(parts.engine, "unload_model", None)
    if callable(unload):
        unload()  # also forgets a model queued until warm-up
    models = parts.models
    if hasattr(models, "current"):
        models.current = None
        models.previous = None


def run_gui(
    root: Path,
    config: DemoConfig | None = None,
    plan: builder.ReusePlan | None = None,
    seed: int = 0,
    *,
    plot: Path | None = None,
    progress: bool = True,
) -> int:
    """Start the desktop app on live simulated raids, get it a model (`DemoSession`) and
    run until the game window or the app is closed; returns the exit status. seed: the
    first live raid's seed (then seed + 1, …): pick one the model was not trained on."""
    root = Path(root)
    home = prepare_home()
    log.info("demo app: home %s, demo folder %s, source: simulated raid", home, root)
    running = start_gui(seed)
    if running is None:
        print(f"{MARKER} ArcX is already running (its settings were brought forward); "
              "quit it to start the demo", file=sys.stderr)
        return 0
    app, window = running
    session = DemoSession(app, root, config, plan, window=window, plot=plot, progress=progress)
    connect_session(session, app, window)
    session.start()
    code = app.app.exec()
    session.stop()
    window.close()
    app.reporter.uninstall()
    return int(code)


def connect_session(session: DemoSession, running: Any, window: Any) -> None:
    """Closing the game window (or quitting the app) stops the session first: no build
    keeps running behind a closed demo."""
    window.closed.disconnect()
    window.closed.connect(session.stop)
    window.closed.connect(running.controller.quitRequested.emit)
    running.app.aboutToQuit.connect(session.stop)


def start_gui(seed: int = 0, **start_kwargs: Any) -> tuple[Any, Any] | None:
    """The app (`app.ui.app.start`) on `LiveRaids` from `seed`, plus its game window shown;
    None when another ArcX instance runs. Keyword arguments go to `start` (tests)."""
    from app.demo.sim.live import LiveRaids
    from app.ui.app import start
    from app.ui.game_window import DemoRuns, GameWindow

    live = LiveRaids(seed)
    factory = start_kwargs.pop("engine_factory", None)
    if factory is None:
        from app.ui import wiring

        def factory(s: Any, r: Any, b: Any) -> Any:
            parts = wiring.build(s, r, b, source=live)
            start_without_model(parts)
            return parts

    start_kwargs.setdefault("welcome", False)  # the demo explains itself
    running = start([], engine_factory=factory, **start_kwargs)
    if running is None:
        return None
    controller = running.controller
    window = GameWindow(live, DemoRuns(controller), controller.overlay)
    # Closing the game window ends the demo: the app quits the way Quit does (an active
    # run is ended unlabelled, the engine stops), so no overlay advises on a hidden raid.
    window.closed.connect(controller.quitRequested.emit)
    window.show()
    window.raise_()
    return running, window


__all__ = [
    "DemoBuildWorker",
    "DemoSession",
    "learning_text",
    "run_gui",
    "start_gui",
]
