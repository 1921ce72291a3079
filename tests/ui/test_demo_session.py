"""The windowed demo's session: the overlay says LEARNING… and how far (raids recorded,
training epoch) while the build runs behind the game; the trained model is hot-swapped
in through the app's real ModelSlot; a reused demo swaps its saved model in as soon as
the engine is warm (unless the encoder changed); closing the game window stops the build
and quits the app. The build itself is a fake worker here (tests/demo/test_builder.py
runs the real one)."""

from __future__ import annotations

import io
import uuid
from types import SimpleNamespace

import pytest
from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtWidgets import QApplication

from app.core.model.slot import ModelSlot, model_path
from app.core.training.child import result_to_dict
from app.demo import builder
from app.ui import demo
from app.ui.hotkeys import FakeHotkeyBackend
from app.ui.parts import Parts
from app.ui.tray import TrayIcon
from tests.coretypes import train_progress, train_result
from tests.ui.test_app import FakeEngine

pytestmark = pytest.mark.gui


class WarmingEngine(FakeEngine):
    """The app's engine: cold until the test says, then with this encoder id."""

    def __init__(self, encoder_id: str = "enc-x") -> None:
        super().__init__()
        self.is_warm = False
        self.encoder_id = encoder_id


class Loader:
    """What the ModelSlot loads into: records each checkpoint (which must exist)."""

    def __init__(self) -> None:
        self.loaded: list[bytes] = []

    def load_model(self, path):
        self.loaded.append(path.read_bytes())
        return SimpleNamespace(epoch=2, val_loss=0.5)

    def status(self):
        return SimpleNamespace(model=None)


class FakeBuild(QObject):
    """A `DemoBuildWorker` stand-in: the test emits its signals."""

    progress = pyqtSignal(str, int, int, object)
    epochEnded = pyqtSignal(object)
    modelReady = pyqtSignal(object, str)
    report = pyqtSignal(str)
    errored = pyqtSignal(str)
    finished = pyqtSignal()

    def __init__(self) -> None:
        super().__init__()
        self.running = False
        self.stop_requested = False

    def start(self) -> None:
        self.running = True

    def isRunning(self) -> bool:  # noqa: N802 (QThread's name)
        return self.running

    def request_stop(self) -> None:
        self.stop_requested = True
        self.running = False
        self.finished.emit()

    def wait(self, ms: int) -> bool:
        return True


@pytest.fixture
def demo_app(qtbot, monkeypatch, tmp_path):
    """The demo app (real start-up, controller, overlay, game window and ModelSlot) on a
    fake engine, and a session factory."""
    notes = []
    monkeypatch.setattr(TrayIcon, "notify", lambda self, title, msg: notes.append((title, msg)))
    engine = WarmingEngine()
    loader = Loader()
    slot = ModelSlot(loader)
    shutdowns = []

    def factory(settings, report, bridge):
        return Parts(engine, slot, bridge, "enc-x", shutdown=lambda: shutdowns.append(1))

    running = demo.start_gui(
        engine_factory=factory, hotkey_backend=FakeHotkeyBackend(), use_pystray=False,
        instance_key=f"arcx-test-{uuid.uuid4().hex[:8]}", show_dialogs=False,
    )
    assert running is not None
    app, window = running
    qtbot.addWidget(window)
    builds: list[FakeBuild] = []

    def make_build():
        builds.append(FakeBuild())
        return builds[-1]

    def session(plan=None):
        s = demo.DemoSession(app, tmp_path / "demo", None, plan, window=window, build_factory=make_build,
                             progress=False,
                             out=io.StringIO(), err=io.StringIO())
        demo.connect_session(s, app, window)
        return s

    env = SimpleNamespace(app=app, window=window, engine=engine, loader=loader, slot=slot, builds=builds,
                          notes=notes, shutdowns=shutdowns, session=session, root=tmp_path / "demo")
    yield env
    app.clean_up()
    app.reporter.uninstall()
    for w in QApplication.topLevelWidgets():
        w.close()


def test_learning_overlay_follows_the_build_and_the_model_is_hot_swapped(demo_app, qtbot):
    env = demo_app
    s = env.session()
    s.start()
    overlay = env.app.controller.overlay
    assert overlay.isVisible()  # on screen at once, before the engine is warm
    view = overlay.view()
    assert (view.headline, view.detail) == ("LEARNING…", "getting the live game ready")
    assert env.builds == []  # the build waits for the engine (its encoder cache)

    env.engine.is_warm = True
    qtbot.waitUntil(lambda: bool(env.builds), timeout=5000)
    build = env.builds[0]
    assert build.running
    assert overlay.view().detail == "preparing the encoder"
    build.progress.emit("generate", 5, 13, 150.0)
    assert overlay.view().detail == "recording raids 5/13 · ~2 min left"
    assert "autopilot playing, ArcX learning: recording raids 5/13" in env.window.caption()
    build.progress.emit("train", 0, 12, None)
    assert overlay.view().detail == "training the model"
    build.epochEnded.emit(train_progress(3, 12, 10, 10, 1.0, 1.1, 100.0, 40.0))
    assert overlay.view().headline == "LEARNING…" and overlay.view().detail == "training: epoch 3/12"
    assert not env.slot.has_model

    env.root.mkdir(parents=True)
    trained = env.root / "qnet.safetensors"
    trained.write_bytes(b"trained weights")
    with qtbot.waitSignal(s.modelSwapped):
        build.modelReady.emit(train_result(checkpoint_path=trained, encoder_id="enc-x"), "enc-x")
    target = model_path()
    assert env.slot.current == target and target.read_bytes() == b"trained weights"
    assert env.loader.loaded == [b"trained weights"]  # through the ModelSlot into the engine
    assert overlay.view().headline != "LEARNING…"  # the overlay advises from now on
    assert env.window.caption().endswith("autopilot playing, ArcX advising")
    assert any("New model in use" in msg for _, msg in env.notes)
    build.progress.emit("heldout", 1, 5, 10.0)  # the scoring after the swap leaves it alone
    assert overlay.state.learning == ""
    build.report.emit("the held-out scores")
    assert "the held-out scores" in s.out.getvalue()
    assert "model swapped in" in s.err.getvalue()


def test_no_model_run_shows_learning_and_a_run_after_the_swap_advises(demo_app, qtbot):
    """During a demo run before the model exists the panel is LEARNING… (not "no model
    yet — recording"); after the swap a run warms up to advice."""
    env = demo_app
    env.engine.is_warm = True
    s = env.session()
    s.start()
    qtbot.waitUntil(lambda: bool(env.builds), timeout=5000)
    controller = env.app.controller
    controller.start_run()
    assert controller.overlay.view().headline == "LEARNING…"
    trained = env.root / "qnet.safetensors"
    env.root.mkdir(parents=True)
    trained.write_bytes(b"w")
    env.builds[0].modelReady.emit(train_result(checkpoint_path=trained), "enc-x")
    assert controller.overlay.view().headline == "WARMING UP"


def test_reused_demo_swaps_its_model_in_once_the_engine_is_warm(demo_app, qtbot):
    env = demo_app
    env.root.mkdir(parents=True)
    saved_model = env.root / "qnet.safetensors"
    saved_model.write_bytes(b"saved weights")
    saved = builder.SavedDemo(env.root, saved_model, "enc-x", result_to_dict(train_result(checkpoint_path=saved_model)),
                              "old scores", "2026-12-01 10:00 UTC")
    s = env.session(builder.ReusePlan(saved, "reuse"))
    s.start()
    overlay = env.app.controller.overlay
    assert overlay.view().headline == demo.LOADING_HEADLINE and not env.slot.has_model
    with qtbot.waitSignal(s.modelSwapped, timeout=5000):
        env.engine.is_warm = True
    assert env.builds == []  # nothing is recorded or trained again
    assert env.loader.loaded == [b"saved weights"] and env.slot.current == model_path()


def test_reused_demo_with_another_encoder_learns_again(demo_app, qtbot):
    env = demo_app
    env.root.mkdir(parents=True)
    saved_model = env.root / "qnet.safetensors"
    saved_model.write_bytes(b"old")
    saved = builder.SavedDemo(env.root, saved_model, "enc-old", result_to_dict(train_result()), "", "")
    s = env.session(builder.ReusePlan(saved, "reuse"))
    env.engine.is_warm = True
    s.start()
    assert len(env.builds) == 1 and env.loader.loaded == []
    assert "the encoder changed" in s.err.getvalue()


def test_a_failed_build_says_so_and_the_demo_runs_on(demo_app):
    env = demo_app
    env.engine.is_warm = True
    s = env.session()
    s.start()
    env.builds[0].errored.emit("no labelled runs under …")
    assert env.app.controller.overlay.view().detail == "learning stopped: see the terminal"
    assert "the demo could not learn: no labelled runs" in s.err.getvalue()
    assert env.shutdowns == []


def test_closing_the_game_window_stops_the_build_then_quits(demo_app, qtbot):
    env = demo_app
    env.engine.is_warm = True
    s = env.session()
    s.start()
    build = env.builds[0]
    with qtbot.waitSignal(env.app.controller.quitRequested):
        env.window.close()
    assert build.stop_requested and s.stopped
    assert env.shutdowns == [1]  # Quit's clean-up ran: the engine stopped


def test_learning_text():
    assert demo.learning_text("generate", 0, 13) == "recording raids 0/13"
    assert demo.learning_text("generate", 13, 13, 0.0) == "recording raids 13/13"
    assert demo.learning_text("generate", 2, 13, 20.0) == "recording raids 2/13 · ~1 min left"
    assert demo.learning_text("train", 4, 12) == "training: epoch 4/12"
    assert demo.learning_text("heldout", 1, 5) == ""  # after the swap: nothing to say


def test_the_demo_app_starts_without_an_earlier_demos_model(tmp_path):
    """The engine factory forgets a model the app loaded at start (an earlier demo's):
    the session swaps the right one in; the file itself is left alone."""
    old = tmp_path / "qnet.safetensors"
    old.write_bytes(b"earlier demo")

    class Engine(Loader):
        unloaded = 0

        def unload_model(self):
            self.unloaded += 1

    engine = Engine()
    slot = ModelSlot(engine)
    assert slot.load_startup(old) and slot.has_model
    demo.start_without_model(SimpleNamespace(engine=engine, models=slot))
    assert not slot.has_model and not slot.can_roll_back and engine.unloaded == 1
    assert old.read_bytes() == b"earlier demo"
