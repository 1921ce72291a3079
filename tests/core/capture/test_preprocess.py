"""Preprocessing: resize to the encoder's size, crop, overlay masking."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.core.capture.base import Rect
from app.core.capture.preprocess import Preprocessor, overlay_in_capture


def _frame(h: int = 720, w: int = 1280, value: int = 200) -> np.ndarray:
    return np.full((h, w, 3), value, dtype=np.uint8)


def test_resizes_any_size_to_400x225_uint8_rgb() -> None:
    pre = Preprocessor()
    for h, w in [(1080, 1920), (1440, 2560), (720, 1280), (225, 400), (300, 500)]:
        out = pre(_frame(h, w))
        assert out.shape == (225, 400, 3) and out.dtype == np.uint8
        assert out.flags.writeable and out.flags.c_contiguous
    # a flat colour stays that colour
    assert (pre(_frame(1080, 1920, 123)) == 123).all()


def test_same_size_input_is_copied_not_aliased() -> None:
    frame = _frame(225, 400)
    out = Preprocessor()(frame)
    out[0, 0] = 0
    assert frame[0, 0, 0] == 200


def test_colour_channels_keep_their_order() -> None:
    frame = np.zeros((450, 800, 3), dtype=np.uint8)
    frame[..., 0] = 255  # pure red
    out = Preprocessor()(frame)
    assert (out[..., 0] == 255).all() and (out[..., 1:] == 0).all()


def test_overlay_rectangle_is_blacked_out_and_nothing_else() -> None:
    pre = Preprocessor()
    # overlay at x 960..1280, y 0..180 of a 1280×720 capture: top-right corner
    pre.set_masks([Rect(960, 0, 320, 180)])
    out = pre(_frame())
    # 1280→400 is ×0.3125: x ≥ 300, y < 56.25 → grown by one pixel
    assert (out[:57, 300:] == 0).all()
    assert (out[58:, :] == 200).all()
    assert (out[:, :298] == 200).all()


def test_mask_hides_the_overlay_content_completely() -> None:
    frame = _frame()
    frame[100:200, 100:300] = 255  # "EV text" where the overlay is
    pre = Preprocessor(masks=[Rect(100, 100, 200, 100)])
    out = pre(frame)
    assert out.max() == 200  # no pixel of the overlay survives, not even blurred


def test_empty_masks_are_dropped_and_masks_can_be_cleared() -> None:
    pre = Preprocessor()
    pre.set_masks([Rect(0, 0, 0, 10)])
    assert pre.masks == ()
    pre.set_masks([Rect(0, 0, 10, 10)])
    pre.set_masks([])
    assert (pre(_frame()) == 200).all()


def test_crop_then_resize() -> None:
    frame = _frame(value=0)
    frame[100:325, 200:600] = 90
    out = Preprocessor(crop=Rect(200, 100, 400, 225))(frame)
    assert (out == 90).all()
    with pytest.raises(ValueError):
        Preprocessor(crop=Rect(5000, 5000, 10, 10))(frame)


def test_rejects_wrong_inputs() -> None:
    pre = Preprocessor()
    with pytest.raises(ValueError):
        pre(np.zeros((10, 10), dtype=np.uint8))
    with pytest.raises(ValueError):
        pre(np.zeros((10, 10, 3), dtype=np.float32))
    with pytest.raises(ValueError):
        Preprocessor(0, 10)


def test_overlay_in_capture_converts_screen_to_capture_pixels() -> None:
    box = Rect(1920, 0, 1920, 1080)  # second monitor
    assert overlay_in_capture(Rect(3600, 20, 200, 100), box) == Rect(1680, 20, 200, 100)
    # partly outside: clipped
    assert overlay_in_capture(Rect(3800, 1000, 200, 200), box) == Rect(1880, 1000, 40, 80)
    assert overlay_in_capture(Rect(0, 0, 100, 100), box) is None


def test_masks_can_change_from_another_thread_while_processing() -> None:
    pre = Preprocessor()
    frame = _frame()
    stop = threading.Event()

    def mover() -> None:
        x = 0
        while not stop.is_set():
            pre.set_masks([Rect(x % 1200, 0, 80, 80)])
            x += 37

    t = threading.Thread(target=mover)
    t.start()
    try:
        for _ in range(50):
            out = pre(frame)
            assert out.shape == (225, 400, 3)
            assert (out == 0).sum() > 0  # some mask always applied
    finally:
        stop.set()
        t.join()
