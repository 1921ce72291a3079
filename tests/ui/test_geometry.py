"""Region picker and overlay placement maths (pure, no Qt)."""

import pytest

from app.ui.geometry import (
    MIN_REGION_PX,
    Rect,
    clamp_into,
    intersect,
    nearest_corner,
    overlay_position,
    rect_from_points,
    selection_to_region,
    to_logical,
    to_physical,
)


def test_rect_from_points_any_drag_direction():
    expected = Rect(10, 20, 90, 60)
    assert rect_from_points((10, 20), (100, 80)) == expected
    assert rect_from_points((100, 80), (10, 20)) == expected
    assert rect_from_points((100, 20), (10, 80)) == expected
    assert rect_from_points((10, 80), (100, 20)) == expected


def test_intersect_and_empty():
    assert intersect(Rect(0, 0, 100, 100), Rect(50, 60, 100, 100)) == Rect(50, 60, 50, 40)
    assert intersect(Rect(0, 0, 10, 10), Rect(20, 20, 5, 5)).empty
    # touching edges do not overlap (half-open rectangles)
    assert intersect(Rect(0, 0, 10, 10), Rect(10, 0, 5, 5)).empty


def test_to_physical_known_values():
    assert to_physical(Rect(10, 20, 30, 40), 1.0) == Rect(10, 20, 30, 40)
    assert to_physical(Rect(10, 20, 30, 40), 2.0) == Rect(20, 40, 60, 80)
    # 150 %: 11 * 1.5 = 16.5 → floor 16; right = 21 * 1.5 = 31.5 → ceil 32
    assert to_physical(Rect(11, 11, 10, 10), 1.5) == Rect(16, 16, 16, 16)
    # 125 %
    assert to_physical(Rect(0, 0, 1920, 1080), 1.25) == Rect(0, 0, 2400, 1350)


def test_to_logical_round_trips_integral_ratios():
    r = Rect(20, 40, 60, 80)
    assert to_logical(to_physical(r, 2.0), 2.0) == r


@pytest.mark.parametrize("dpr", [0, -1.0, float("nan")])
def test_bad_dpr_is_rejected(dpr):
    with pytest.raises(ValueError):
        to_physical(Rect(0, 0, 1, 1), dpr)
    with pytest.raises(ValueError):
        to_logical(Rect(0, 0, 1, 1), dpr)


def test_selection_to_region_clips_to_screen_and_scales():
    # Drag from inside to beyond the bottom-right of a 1280x720 logical screen at 150 %.
    region = selection_to_region((1000, 500), (1500, 900), (1280, 720), 1.5)
    assert region == Rect(1500, 750, 420, 330)  # 1920x1080 physical screen
    assert region.right == 1920 and region.bottom == 1080


def test_selection_to_region_refuses_a_click():
    assert selection_to_region((100, 100), (100, 100), (1920, 1080), 1.0) is None
    assert selection_to_region((100, 100), (110, 300), (1920, 1080), 1.0) is None  # 10 px wide
    ok = selection_to_region((100, 100), (100 + MIN_REGION_PX, 300), (1920, 1080), 1.0)
    assert ok is not None and ok.width == MIN_REGION_PX


def test_selection_entirely_off_screen():
    assert selection_to_region((-50, -50), (-10, -10), (1920, 1080), 1.0) is None


def test_clamp_into():
    bounds = Rect(0, 0, 100, 100)
    assert clamp_into(Rect(90, 95, 20, 20), bounds) == Rect(80, 80, 20, 20)
    assert clamp_into(Rect(-5, -5, 20, 20), bounds) == Rect(0, 0, 20, 20)
    assert clamp_into(Rect(0, 0, 200, 50), bounds) == Rect(0, 0, 200, 50)


SCREEN = Rect(1920, 0, 2560, 1400)  # a second monitor right of the primary


@pytest.mark.parametrize(
    ("corner", "expected"),
    [
        ("top-left", (1920 + 24, 24)),
        ("top-right", (1920 + 2560 - 270 - 24, 24)),
        ("bottom-left", (1920 + 24, 1400 - 140 - 24)),
        ("bottom-right", (1920 + 2560 - 270 - 24, 1400 - 140 - 24)),
    ],
)
def test_overlay_position_corners(corner, expected):
    assert overlay_position(corner, SCREEN, (270, 140), 24) == expected


def test_overlay_position_custom_is_relative_and_clamped():
    assert overlay_position("custom", SCREEN, (270, 140), 24, (100, 200)) == (2020, 200)
    # saved on a bigger monitor: pulled back inside this one
    assert overlay_position("custom", SCREEN, (270, 140), 24, (5000, 5000)) == (
        1920 + 2560 - 270,
        1400 - 140,
    )


def test_overlay_position_rejects_unknown_corner():
    with pytest.raises(ValueError):
        overlay_position("middle", SCREEN, (10, 10), 0)  # type: ignore[arg-type]


def test_nearest_corner():
    size = (200, 100)
    assert nearest_corner((1930, 10), size, SCREEN) == "top-left"
    assert nearest_corner((1920 + 2300, 10), size, SCREEN) == "top-right"
    assert nearest_corner((1930, 1250), size, SCREEN) == "bottom-left"
    assert nearest_corner((1920 + 2300, 1250), size, SCREEN) == "bottom-right"


def test_overlay_capture_mask_whole_monitor_at_150_percent():
    from app.ui.geometry import overlay_capture_mask

    screen = Rect(1280, 0, 1280, 720)  # second monitor, logical; 1920×1080 physical
    overlay = Rect(1280 + 1000, 20, 270, 142)
    assert overlay_capture_mask(overlay, screen, 1.5) == Rect(1500, 30, 405, 213)


def test_overlay_capture_mask_relative_to_the_region_and_clipped():
    from app.ui.geometry import overlay_capture_mask

    screen = Rect(0, 0, 1920, 1080)
    region = Rect(1600, 0, 320, 200)  # the overlay's corner of the screen only
    overlay = Rect(1700, 24, 270, 142)
    assert overlay_capture_mask(overlay, screen, 1.0, region) == Rect(100, 24, 220, 142)
    assert overlay_capture_mask(Rect(0, 900, 100, 100), screen, 1.0, region) is None
    assert overlay_capture_mask(Rect(5000, 0, 10, 10), screen, 1.0) is None  # other monitor
