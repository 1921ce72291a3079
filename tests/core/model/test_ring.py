import threading

import numpy as np
import pytest

from app.core.model.ring import LatentRing


def lat(v: float, d: int = 4) -> np.ndarray:
    return np.full(d, v, dtype=np.float32)


def test_empty_ring_gives_zeros():
    snap = LatentRing(3, 4).snapshot()
    assert snap.filled == 0 and snap.newest_stamp is None
    assert np.all(snap.window == 0)


def test_padding_repeats_oldest_before_full():
    ring = LatentRing(4, 4)
    ring.push(lat(1), stamp=0.1)
    ring.push(lat(2), stamp=0.2)
    snap = ring.snapshot()
    assert snap.filled == 2 and not snap.full and snap.newest_stamp == 0.2
    assert snap.window[:, 0].tolist() == [1, 1, 1, 2]


def test_chronological_after_wrap():
    ring = LatentRing(3, 4)
    for v in range(1, 8):  # 1..7; keeps 5, 6, 7
        ring.push(lat(v))
    snap = ring.snapshot()
    assert snap.full and snap.pushed == 7
    assert snap.window[:, 0].tolist() == [5, 6, 7]


def test_window_is_a_copy():
    ring = LatentRing(2, 4)
    ring.push(lat(1))
    w = ring.window()
    w[:] = 99
    assert ring.window()[0, 0] == 1


def test_clear_and_shape_check():
    ring = LatentRing(2, 4)
    ring.push(lat(1))
    ring.clear()
    assert len(ring) == 0
    with pytest.raises(ValueError, match=r"shape \[4\]"):
        ring.push(np.zeros(5, dtype=np.float32))
    with pytest.raises(ValueError):
        LatentRing(0, 4)


def test_concurrent_push_and_snapshot_never_tear():
    # every latent is constant across D; a torn copy would mix values within a row
    ring = LatentRing(32, 512)
    stop = threading.Event()

    def writer() -> None:
        v = 0
        while not stop.is_set():
            ring.push(np.full(512, v, dtype=np.float32))
            v += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        for _ in range(300):
            w = ring.window()
            assert np.all(w == w[:, :1])  # rows uniform
            col = w[:, 0]
            assert np.all(np.diff(col) >= 0)  # chronological
    finally:
        stop.set()
        t.join()


def _pushed(ring: LatentRing, n: int, dt: float) -> np.ndarray:
    for i in range(n):
        ring.push(lat(i), stamp=100.0 + i * dt)
    return ring.snapshot().window[:, 0]


def test_a_window_spans_the_same_time_whatever_the_frame_rate():
    # 8 slots of 0.125 s = 1 s of play
    assert _pushed(LatentRing(8, 4), 20, 0.125).tolist() == list(range(12, 20))  # 8 FPS: the last 8 frames
    assert _pushed(LatentRing(8, 4), 20, 0.25).tolist() == [15, 16, 16, 17, 17, 18, 18, 19]  # 4 FPS: each twice
    assert _pushed(LatentRing(8, 4), 40, 0.0625).tolist() == list(range(25, 40, 2))  # 16 FPS: every other
    # jittered capture at 8 FPS still gives each frame once
    ring = LatentRing(8, 4)
    rng = np.random.default_rng(0)
    for i in range(20):
        ring.push(lat(i), stamp=100.0 + i * 0.125 + rng.uniform(-0.03, 0.03))
    assert ring.snapshot().window[:, 0].tolist() == list(range(12, 20))


def test_filled_counts_the_time_covered_not_the_frames():
    ring = LatentRing(8, 4)
    for i in range(3):
        ring.push(lat(i), stamp=100.0 + i * 0.25)  # 0.5 s at 4 FPS covers 5 of the 8 slots
    assert ring.snapshot().filled == 5 and not ring.full
    for i in range(3, 5):
        ring.push(lat(i), stamp=100.0 + i * 0.25)  # 1 s: full with 5 frames
    assert ring.full


def test_the_training_windows_are_the_live_windows():
    from app.core.model.ring import time_window_rows

    rng = np.random.default_rng(1)
    t = np.cumsum(rng.choice([0.125, 0.25, 0.5], size=60))  # the engine changes its rate
    ring = LatentRing(8, 4)
    for i, ti in enumerate(t):
        ring.push(lat(i), stamp=float(ti))
        rows = time_window_rows(t[: i + 1], np.array([i]), 0, 8)[0]
        assert ring.snapshot().window[:, 0].tolist() == rows.tolist()
