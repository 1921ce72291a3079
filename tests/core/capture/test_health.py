"""Black, frozen and stalled capture alarms."""

from __future__ import annotations

import numpy as np

from app.core.capture.health import FrameHealth, is_black

BLACK = np.zeros((225, 400, 3), dtype=np.uint8)
GAME = np.full((225, 400, 3), 90, dtype=np.uint8)


def test_is_black() -> None:
    assert is_black(BLACK)
    dim = BLACK.copy()
    dim[10, 10] = 20
    assert is_black(dim)
    dim[10, 10] = 200  # a lit pixel (loading spinner): not black
    assert not is_black(dim)


def test_short_black_is_fed_long_black_is_a_problem_reported_once() -> None:
    h = FrameHealth(black_after_s=3.0)
    verdicts = [h.frame(BLACK, t * 0.5, identical=t > 0) for t in range(10)]  # 0 … 4.5 s
    fed = [v.feed for v in verdicts]
    assert fed == [True] * 6 + [False] * 4  # black from t=0; a problem from t=3.0
    changed = [v for v in verdicts if v.changed]
    assert len(changed) == 1 and changed[0].problem == "black" and changed[0].since == 0.0
    back = h.frame(GAME, 5.0, identical=False)
    assert back.problem is None and back.changed and back.feed
    assert "normal" in back.describe()


def test_frozen_frames() -> None:
    h = FrameHealth(frozen_after_s=2.0)
    assert h.frame(GAME, 0.0, identical=False).feed
    assert h.frame(GAME, 1.0, identical=True).feed
    v = h.frame(GAME, 3.0, identical=True)
    assert v.problem == "frozen" and not v.feed and v.changed
    assert "not changed" in v.describe()
    assert h.frame(GAME, 3.5, identical=False).problem is None


def test_black_wins_over_frozen() -> None:
    h = FrameHealth(black_after_s=1.0, frozen_after_s=1.0)
    h.frame(BLACK, 0.0, identical=True)
    assert h.frame(BLACK, 2.0, identical=True).problem == "black"


def test_stalled_when_no_frame_arrives() -> None:
    h = FrameHealth(stalled_after_s=2.0)
    h.frame(GAME, 0.0, identical=False)
    v = h.missing(1.0)
    assert v.problem is None and not v.feed and not v.changed
    v = h.missing(3.0)
    assert v.problem == "stalled" and v.changed and "no frames" in v.describe()
    assert h.frame(GAME, 3.1, identical=False).changed


def test_reset_clears_everything() -> None:
    h = FrameHealth(black_after_s=0.0)
    assert h.frame(BLACK, 0.0, identical=False).problem == "black"
    h.reset()
    assert h.problem is None
