"""The engine with fake clocks, a tiny fake encoder and the real recorder."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from app.core.capture.base import CaptureLost, Rect
from app.core.capture.dxgi import DxcamSource
from app.core.capture.replay import ReplaySource
from app.core.capture.synthetic import SyntheticSource
from app.core.config import Settings
from app.core.data.recorder import RunRecorder
from app.core.data.schema import ACTIONS
from app.core.data.store import DECISIONS_FILE, FRAMES_FILE, read_table
from app.core.engine import Engine, EngineConfig, EngineThreads, EVTick, Notice
from app.core.errors import ArcXError, CheckpointMismatchError
from app.core.model.checkpoint import save_checkpoint
from app.core.model.qnet import QNetConfig, TemporalQNet

D = 16  # latent size of the fake encoder
ENC_ID = "fake-encoder-0001"
QCFG = QNetConfig(latent_dim=D, hidden=8, num_layers=1, attn_dim=8, head_dim=8, num_quantiles=4, dropout=0.0)


class Clock:
    """Fake time for frame stamps and stage timers."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class FakeEncoder:
    """Latent = per-channel means of a 4×4 grid (+ 1): cheap, deterministic, frame-dependent."""

    name = "fake-path"

    def __init__(self, timer: Clock | None = None, cost_s: float = 0.0) -> None:
        self.seen: list[np.ndarray] = []
        self.timer, self.cost_s = timer, cost_s

    def encode(self, frames: np.ndarray) -> np.ndarray:
        self.seen.append(frames[0].copy())
        if self.timer is not None:
            self.timer.t += self.cost_s  # encoding "takes" cost_s of fake time
        B, H, W, _ = frames.shape
        grid = frames[:, : H // 4 * 4, : W // 4 * 4].reshape(B, 4, H // 4, 4, W // 4, 3).mean(axis=(2, 4))
        return (grid[..., 0].reshape(B, D) / 255.0 + 1.0).astype(np.float32)


def make_engine(source=None, *, recorder=None, clock=None, timer=None, encoder=None, **cfg) -> Engine:
    clock = clock or Clock()
    engine = Engine(
        source if source is not None else SyntheticSource(320, 180),
        config=EngineConfig(**cfg),
        recorder=recorder,
        encoder=encoder or FakeEncoder(),
        encoder_id=ENC_ID,
        clock=clock,
        timer=timer or Clock(),
    )
    engine.warm_up(progress=lambda msg: None)
    engine.open_source()
    return engine


def constant_model(path: Path, value: float, encoder_id: str = ENC_ID) -> Path:
    """A Q-net whose every quantile is `value` (zero last layer, constant bias)."""
    torch.manual_seed(0)
    net = TemporalQNet(QCFG)
    with torch.no_grad():
        last = net.head[-1]
        last.weight.zero_()
        last.bias.fill_(value)
    return save_checkpoint(path, net, encoder_id=encoder_id, value_scale=100.0, epoch=3, val_loss=0.5)


# ------------------------------------------------------------------------ basics


def test_config_from_settings_and_validation() -> None:
    s = Settings()
    s.capture.fps = 6.0
    s.inference.risk = "safe"
    cfg = EngineConfig.from_settings(s, threads=1)
    assert (cfg.fps, cfg.risk, cfg.threads, cfg.interval_s) == (6.0, "safe", 1, 0.5)
    with pytest.raises(ValueError):
        Engine(SyntheticSource(), config=EngineConfig(risk="reckless"), encoder=FakeEncoder(), encoder_id=ENC_ID)
    with pytest.raises(ValueError):
        Engine(SyntheticSource(), encoder=FakeEncoder())  # encoder without its id


def test_steps_need_warm_up() -> None:
    engine = Engine(SyntheticSource(), encoder=FakeEncoder(), encoder_id=ENC_ID)
    with pytest.raises(ArcXError, match="warmed up"):
        engine.capture_once()


def test_capture_feeds_the_ring_and_skips_identical_frames() -> None:
    enc = FakeEncoder()
    engine = make_engine(SyntheticSource(320, 180, static=True), encoder=enc)
    warm_calls = len(enc.seen)
    first = engine.capture_once()
    assert first.fed and first.encoded and first.encode_ms is not None
    second = engine.capture_once()
    assert second.fed and not second.encoded and second.encode_ms is None  # reused latent
    assert len(enc.seen) == warm_calls + 1
    st = engine.status()
    assert (st.frames_seen, st.frames_encoded, st.frames_reused) == (2, 1, 1)
    assert engine._ring is not None and len(engine._ring) == 2
    window = engine._ring.window()
    np.testing.assert_array_equal(window[-1], window[-2])


def test_moving_frames_are_all_encoded_at_the_encoder_size() -> None:
    enc = FakeEncoder()
    engine = make_engine(encoder=enc)
    for _ in range(3):
        assert engine.capture_once().encoded
    assert all(f.shape == (225, 400, 3) for f in enc.seen)


def test_overlay_mask_reaches_the_encoder_as_black() -> None:
    enc = FakeEncoder()
    engine = make_engine(SyntheticSource(320, 180), encoder=enc)
    engine.set_masks([Rect(240, 0, 80, 45)])  # top-right quarter-width band of the capture
    engine.capture_once()
    seen = enc.seen[-1]
    assert (seen[:56, 300:] == 0).all()  # 320→400 is ×1.25
    assert seen[100:, :250].max() > 0


# ---------------------------------------------------------------- inference / EV


def test_no_model_means_no_invented_ev() -> None:
    engine = make_engine()
    tick = engine.inference_once()
    assert tick.ev is None and tick.reason == "no_frames" and tick.frame_age_ms is None
    engine.capture_once()
    tick = engine.inference_once()
    assert tick.ev is None and tick.reason == "no_model" and tick.filled == 1
    d = tick.to_dict()
    assert d["ev_stay"] is None and d["advice"] is None and d["reason"] == "no_model"


def test_ev_with_a_model_warming_and_frame_age(tmp_path: Path) -> None:
    clock = Clock()
    engine = make_engine(clock=clock, window=4)
    meta = engine.load_model(constant_model(tmp_path / "m.safetensors", 1.5))
    assert meta is not None and meta.epoch == 3
    ticks: list[EVTick] = []
    engine.subscribe(on_tick=ticks.append)
    engine.capture_once()  # grabbed at t = 1000.0
    clock.t += 0.2
    tick = engine.inference_once()
    assert tick.ev is not None and tick.reason is None and ticks == [tick]
    assert tick.ev.ev_stay == pytest.approx(150.0) and tick.ev.ev_extract == pytest.approx(150.0)
    assert tick.ev.warming and tick.filled == 1
    assert tick.frame_age_ms == pytest.approx(200.0)
    assert tick.qnet_ms is not None
    for _ in range(3):  # a window is 4 slots 0.125 s apart: 4 frames at 8 FPS fill it
        clock.t += 0.125
        engine.capture_once()
    assert not engine.inference_once().ev.warming  # type: ignore[union-attr]
    engine.set_risk("aggressive")
    assert engine.inference_once().ev.risk == "aggressive"  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        engine.set_risk("yolo")
    st = engine.status()
    assert st.model is not None and st.model.epoch == 3 and st.latency_ms["age"] is not None


def test_model_for_another_encoder_is_refused_and_the_old_one_stays(tmp_path: Path) -> None:
    engine = make_engine()
    engine.load_model(constant_model(tmp_path / "a.safetensors", 1.0))
    with pytest.raises(CheckpointMismatchError, match="encoder"):
        engine.load_model(constant_model(tmp_path / "b.safetensors", 2.0, encoder_id="someone-else"))
    engine.capture_once()
    assert engine.inference_once().ev.ev_stay == pytest.approx(100.0)  # type: ignore[union-attr]


def test_model_given_before_warm_up_is_loaded_by_it(tmp_path: Path) -> None:
    engine = Engine(SyntheticSource(64, 36), encoder=FakeEncoder(), encoder_id=ENC_ID)
    assert engine.load_model(constant_model(tmp_path / "m.safetensors", 1.0)) is None
    engine.warm_up(progress=lambda m: None)
    assert engine.status().model is not None


# ------------------------------------------------------------------- capture health


class FakeCamera:
    """dxcam stand-in: plays a script of frames / None / exceptions."""

    def __init__(self, script: list[object]) -> None:
        self.script = script
        self.is_capturing = False

    def start(self, *, target_fps: int, video_mode: bool) -> None:
        self.is_capturing = True

    def get_latest_frame(self) -> object:
        item = self.script.pop(0) if self.script else np.zeros((90, 160, 3), np.uint8)
        if isinstance(item, BaseException):
            raise item
        return item

    def stop(self) -> None:
        self.is_capturing = False

    def release(self) -> None:
        self.is_capturing = False


def test_black_frames_from_dxcam_raise_the_alarm_and_stop_feeding(tmp_path: Path) -> None:
    clock = Clock()
    black = np.zeros((90, 160, 3), np.uint8)
    game = np.full((90, 160, 3), 120, np.uint8)
    script: list[object] = [black] * 12 + [game]
    src = DxcamSource(0, factory=lambda i, r, n: FakeCamera(script), clock=clock)
    notices: list[Notice] = []
    engine = make_engine(src, clock=clock, black_after_s=1.0)
    engine.subscribe(on_notice=notices.append)
    engine.load_model(constant_model(tmp_path / "m.safetensors", 1.0))
    fed = []
    for _ in range(12):
        fed.append(engine.capture_once().fed)
        clock.t += 0.125
    assert fed[:8] == [True] * 8 and fed[8:] == [False] * 4  # a problem from 1.0 s of black on
    problems = [n for n in notices if n.kind == "capture_problem"]
    assert len(problems) == 1 and "black" in problems[0].message
    tick = engine.inference_once()
    assert tick.ev is None and tick.reason == "capture_black"
    assert engine.capture_once().fed  # a real frame clears it
    assert notices[-1].kind == "capture_ok"
    assert engine.inference_once().ev is not None


def test_frozen_screen_alarm() -> None:
    clock = Clock()
    engine = make_engine(SyntheticSource(160, 90, static=True), clock=clock, frozen_after_s=2.0)
    results = []
    for _ in range(20):
        results.append(engine.capture_once())
        clock.t += 0.125
    assert results[0].fed and results[-1].problem == "frozen" and not results[-1].fed
    assert engine.status().capture_problem == "frozen"


def test_dxcam_none_frames_then_access_lost_recovery_through_the_engine() -> None:
    clock = Clock()
    game = np.full((90, 160, 3), 100, np.uint8)
    cameras: list[FakeCamera] = []
    scripts: list[list[object]] = [[game, None, OSError("DXGI_ERROR_ACCESS_LOST")], [game + 1]]

    def factory(i: int, r: object, n: int) -> FakeCamera:
        cameras.append(FakeCamera(scripts.pop(0)))
        return cameras[-1]

    engine = make_engine(DxcamSource(0, factory=factory, clock=clock), clock=clock, stalled_after_s=2.0)
    assert engine.capture_once().fed
    assert not engine.capture_once().got_frame  # None: nothing new
    assert not engine.capture_once().got_frame  # access lost → camera released
    clock.t += 1.0
    result = engine.capture_once()  # rebuilt after the back-off
    assert result.fed and len(cameras) == 2
    assert engine.status().capture_problem is None


def test_stalled_then_lost_capture() -> None:
    clock = Clock()

    def factory(i: int, r: object, n: int) -> FakeCamera:
        return FakeCamera([OSError("lost")] * 1000)

    notices: list[Notice] = []
    src = DxcamSource(0, factory=factory, clock=clock, give_up_after_s=6.0)
    engine = make_engine(src, clock=clock, stalled_after_s=2.0)
    engine.subscribe(on_notice=notices.append)
    with pytest.raises(CaptureLost):
        for _ in range(200):
            engine.capture_once()
            clock.t += 0.25
    kinds = [n.kind for n in notices]
    assert kinds == ["capture_problem", "capture_lost"]
    assert "no frames" in notices[0].message
    assert engine.status().capture_problem == "lost"


# ---------------------------------------------------------------- frame rate


def test_warm_up_lowers_fps_on_a_slow_machine() -> None:
    timer = Clock()
    engine = make_engine(timer=timer, encoder=FakeEncoder(timer, cost_s=0.3), fps=8.0, min_fps=2.0)
    timer2 = Clock()
    slower = make_engine(timer=timer2, encoder=FakeEncoder(timer2, cost_s=0.32), fps=8.0)
    assert slower.fps == 2.5  # 0.9 × 1000 / 320 = 2.8 → rounded down to a half step
    assert engine.fps == 3.0  # 0.9 × 1000 / 300 ms
    assert any(n.kind == "fps_lowered" and "3 FPS" in n.message for n in engine.notices)


def test_fps_is_lowered_when_encoding_falls_behind_at_run_time() -> None:
    timer = Clock()
    enc = FakeEncoder(timer, cost_s=0.01)
    engine = make_engine(timer=timer, encoder=enc, fps=8.0, slow_frames=4)
    assert engine.fps == 8.0
    enc.cost_s = 0.2  # the game started: encoding now takes 200 ms
    for _ in range(4):
        engine.capture_once()
    assert engine.fps == 4.5  # 0.9 × 1000 / 200
    assert engine.notices[-1].kind == "fps_lowered"


# ------------------------------------------------------------------- recording


def test_a_mark_held_back_by_the_undo_window_is_dated_to_the_key_press(tmp_path: Path) -> None:
    clock = Clock()
    recorder = RunRecorder(tmp_path / "runs")
    engine = make_engine(recorder=recorder, clock=clock)
    engine.start_run()
    for _ in range(40):
        engine.capture_once()
        clock.t += 0.125
    engine.mark_extract(ago_s=4.0)  # pressed 4 s ago, committed now (5 s into the run)
    info = engine.end_run("extracted", 10.0)
    recorder.close()
    assert info.extract_mark_t == pytest.approx(1.0)


def test_a_recorded_run_has_frames_decisions_and_the_extract_mark(tmp_path: Path) -> None:
    clock = Clock()
    recorder = RunRecorder(tmp_path / "runs")
    engine = make_engine(recorder=recorder, clock=clock)
    engine.capture_once()  # before the run: not recorded
    run_id = engine.start_run()
    assert engine.status().run_id == run_id
    for i in range(8):
        engine.capture_once()
        clock.t += 0.125
        if i % 4 == 3:
            tick = engine.inference_once()
            assert tick.run_id == run_id and tick.decision_idx is not None and tick.ev is None
    clock.t += 0.01
    engine.mark_extract()
    assert engine.status().extract_marked
    for _ in range(4):
        engine.capture_once()
        clock.t += 0.125
    engine.inference_once()
    info = engine.end_run("extracted", 1234.0)
    recorder.close()
    assert info.run_id == run_id and info.n_frames == 12 and info.n_decisions == 3
    assert info.encoder_path == "fake-path" and info.encoder_id == ENC_ID and info.fps == 8.0
    assert info.extract_mark_t == pytest.approx(1.01)
    frames = read_table(tmp_path / "runs" / run_id / FRAMES_FILE, "frames")
    assert frames.num_rows == 12
    t = frames.column("t_sec").to_pylist()
    assert t[0] == pytest.approx(0.0) and t[-1] == pytest.approx(11 * 0.125 + 0.01)
    decisions = read_table(tmp_path / "runs" / run_id / DECISIONS_FILE, "decisions")
    actions = decisions.column("action").to_pylist()
    assert [ACTIONS.index(a) if isinstance(a, str) else a for a in actions] == [0, 0, 1]
    with pytest.raises(ArcXError):
        engine.end_run(None)


def test_runs_need_a_recorder_and_one_at_a_time(tmp_path: Path) -> None:
    with pytest.raises(ArcXError, match="no recorder"):
        make_engine().start_run()
    recorder = RunRecorder(tmp_path)
    engine = make_engine(recorder=recorder)
    engine.start_run()
    with pytest.raises(ArcXError, match="still being recorded"):
        engine.start_run()
    engine.end_run(None)
    recorder.close()


def test_between_runs_frames_are_checked_but_not_encoded(tmp_path: Path) -> None:
    """`idle_fps` (the desktop app): outside a run nothing reads a latent, so none is made;
    a run encodes every frame again, and the idle rate comes back when it ends."""
    enc = FakeEncoder()
    recorder = RunRecorder(tmp_path)
    engine = make_engine(recorder=recorder, encoder=enc, idle_fps=1.0)
    warm_calls = len(enc.seen)
    assert engine.idle and engine.capture_fps == 1.0
    idle = [engine.capture_once() for _ in range(3)]
    assert all(r.got_frame and not r.encoded and not r.fed for r in idle)
    assert len(enc.seen) == warm_calls and engine._ring is not None and len(engine._ring) == 0
    engine.start_run()
    assert not engine.idle and engine.capture_fps == 8.0
    assert all(engine.capture_once().encoded for _ in range(2))
    assert len(enc.seen) == warm_calls + 2
    assert engine.inference_once().reason != "no_frames"
    engine.end_run(None)
    recorder.close()
    assert engine.idle and engine.capture_fps == 1.0 and not engine.capture_once().encoded
    # the ended run's window is gone: no tick runs the Q-net on ever older frames
    assert engine.inference_once().reason == "no_frames"
    st = engine.status()
    assert (st.frames_seen, st.frames_encoded, st.frames_idle) == (6, 2, 4)
    # without idle_fps (arcx run, benchmarks) every frame is encoded, run or not
    plain = make_engine(encoder=FakeEncoder())
    assert not plain.idle and plain.capture_fps == 8.0 and plain.capture_once().encoded


class Slides:
    """A frame source showing picture `shown` (0 or 1) until told otherwise."""

    name = "slides"

    def __init__(self) -> None:
        self.pictures = [np.full((180, 320, 3), v, np.uint8) for v in (40, 200)]
        self.shown = 0

    def open(self) -> None: ...

    def close(self) -> None: ...

    def grab(self) -> np.ndarray:
        return self.pictures[self.shown].copy()


def test_a_screen_that_changed_between_runs_is_encoded_not_given_a_stale_latent(tmp_path: Path) -> None:
    """Run 1 ends on picture 0; between runs the screen shows picture 1 (grabbed, not
    encoded); run 2's first frame is picture 1 again, "identical" to the last grab, and
    must get picture 1's latent, not the one left from picture 0."""
    enc = FakeEncoder()
    recorder = RunRecorder(tmp_path)
    source = Slides()
    engine = make_engine(source, recorder=recorder, encoder=enc, idle_fps=1.0)
    engine.start_run()
    engine.capture_once()
    engine.end_run(None)
    source.shown = 1
    engine.capture_once()  # idle
    engine.start_run()
    assert engine.capture_once().encoded
    assert engine._ring is not None
    expected = enc.encode(engine.preprocessor(source.grab())[None])[0]
    np.testing.assert_array_equal(engine._ring.window()[-1], expected)
    engine.end_run(None)
    recorder.close()


def test_a_frozen_screen_is_still_noticed_between_runs() -> None:
    clock = Clock()
    engine = make_engine(SyntheticSource(160, 90, static=True), clock=clock, frozen_after_s=2.0,
                         idle_fps=1.0)
    for _ in range(4):
        engine.capture_once()
        clock.t += 1.0
    assert engine.status().capture_problem == "frozen" and engine.status().frames_encoded == 0


def test_the_capture_loop_slows_down_between_runs(tmp_path: Path) -> None:
    recorder = RunRecorder(tmp_path)
    engine = make_engine(recorder=recorder, idle_fps=1.0)
    stop = threading.Event()
    thread = threading.Thread(target=engine.run_capture, args=(stop,), daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if engine._capture_pacer is not None:
                break
            stop.wait(0.01)
        pacer = engine._capture_pacer
        assert pacer is not None and pacer.period == 1.0
        engine.start_run()
        assert pacer.period == 0.125
        engine.end_run(None)
        assert pacer.period == 1.0
    finally:
        stop.set()
        thread.join(10)
        recorder.close()


def test_idle_fps_must_not_exceed_the_run_rate() -> None:
    with pytest.raises(ValueError, match="idle_fps"):
        EngineConfig(fps=2.0, idle_fps=4.0)
    with pytest.raises(ValueError, match="idle_fps"):
        EngineConfig(idle_fps=0.0)


# -------------------------------------------------------------- threads, hot-swap


def test_threads_hand_off_and_hot_swap_mid_run_without_stopping_capture(tmp_path: Path) -> None:
    a = constant_model(tmp_path / "a.safetensors", 1.0)
    b = constant_model(tmp_path / "b.safetensors", 2.0)
    recorder = RunRecorder(tmp_path / "runs", flush_interval_s=0.2)
    engine = Engine(
        SyntheticSource(160, 90),
        config=EngineConfig(fps=50.0, interval_s=0.02, window=8),
        recorder=recorder, encoder=FakeEncoder(), encoder_id=ENC_ID,
    )
    engine.warm_up(progress=lambda m: None)
    engine.load_model(a)
    values: list[float] = []
    swapped = threading.Event()
    enough = threading.Event()
    frames_at_swap: list[int] = []

    def on_tick(tick: EVTick) -> None:
        if tick.ev is None:
            return
        values.append(tick.ev.ev_stay)
        if len(values) == 5:
            frames_at_swap.append(engine.status().frames_seen)
            engine.load_model(b)  # from the inference thread here; any thread works
            swapped.set()
        if swapped.is_set() and values.count(200.0) >= 5:
            enough.set()

    threads = EngineThreads(engine, on_tick=on_tick)
    engine.start_run()
    threads.start()
    try:
        assert enough.wait(60), f"ticks so far: {values}"
    finally:
        threads.stop()
    info = engine.end_run("died")
    recorder.close()
    assert threads.error is None
    assert set(values) == {100.0, 200.0}
    first_b = values.index(200.0)
    assert all(v == 100.0 for v in values[:first_b]) and all(v == 200.0 for v in values[first_b:])
    assert engine.status().frames_seen > frames_at_swap[0]  # capture went on across the swap
    assert info.n_frames > 0 and info.n_decisions >= 10


def test_engine_threads_report_a_loop_error() -> None:
    engine = Engine(ReplaySource(Path("/nonexistent.npz")), encoder=FakeEncoder(), encoder_id=ENC_ID)
    engine.warm_up(progress=lambda m: None)
    threads = EngineThreads(engine)
    threads.start()
    assert threads.wait(60)
    threads.stop()
    assert threads.error is not None and "not found" in str(threads.error)


def test_capture_back_after_a_lost_source_is_reported(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "two.npz"
    np.savez(path, frames=np.stack([np.full((90, 160, 3), v, np.uint8) for v in (50, 90)]))
    notices: list[Notice] = []
    engine = make_engine(ReplaySource(path, loop=False), clock=clock)
    engine.subscribe(on_notice=notices.append)
    engine.capture_once()
    engine.capture_once()
    with pytest.raises(CaptureLost):
        engine.capture_once()
    assert engine.status().capture_problem == "lost"
    engine.open_source()  # what a restarted capture worker does
    assert engine.capture_once().fed
    assert [n.kind for n in notices] == ["capture_lost", "capture_ok"]
    assert engine.status().capture_problem is None


@pytest.mark.parametrize("given", [True, False])
def test_warm_up_detects_the_device_only_when_none_was_given(monkeypatch, given) -> None:
    import app.core.device as device_mod
    import app.core.model.encoder as encoder_mod

    class Stop(Exception):
        pass

    detected: list[str] = []
    loaded_on: list[torch.device] = []

    def fake_select(*args, **kwargs):
        detected.append("select_device")
        return _Report()

    class _Report:
        device = torch.device("cpu")

    def fake_load(*args, device, **kwargs):
        loaded_on.append(device)
        raise Stop  # the rest of warm-up is not what this test is about

    monkeypatch.setattr(device_mod, "select_device", fake_select)
    monkeypatch.setattr(encoder_mod, "load_encoder", fake_load)
    engine = Engine(SyntheticSource(), device=torch.device("cpu") if given else None)
    with pytest.raises(Stop):
        engine.warm_up(progress=lambda m: None)
    assert detected == ([] if given else ["select_device"])
    assert loaded_on == [torch.device("cpu")]


def test_engine_advice_comes_from_the_adviser_with_hysteresis(tmp_path: Path, monkeypatch) -> None:
    """The engine turns quantiles into advice with `ev.Adviser.tick` (the function the
    evaluation scores), and the hysteresis holds a new answer back."""
    from app.core.model import ev as ev_mod

    calls: list[float] = []
    real_tick = ev_mod.Adviser.tick

    def spy(self, quantiles, t_sec, **kw):  # type: ignore[no-untyped-def]
        calls.append(t_sec)
        return real_tick(self, quantiles, t_sec, **kw)

    monkeypatch.setattr(ev_mod.Adviser, "tick", spy)
    engine = make_engine(window=2, hysteresis=ev_mod.Hysteresis(hold_s=100.0, margin=1.0))
    engine.load_model(constant_model(tmp_path / "m.safetensors", 1.0))
    est = engine.inference_once().ev if engine.capture_once() else None
    assert est is not None and len(calls) == 1
    # equal values: stay (ties stay); the adviser shows "stay" and keeps it
    assert est.advice == est.instant_advice == "stay"
    with pytest.raises(ValueError):
        make_engine(risk=99.0)
