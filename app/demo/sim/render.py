"""Drawing frames of the simulated raid, like a top-down game with a HUD.

Everything that decides the raid is shown twice: as large, high-contrast shapes that
random convolution features can pick up (filled bars of different colours, a red border
that thickens with threat, enemies as solid red blobs whose number and size grow, loot
caches as gold crates, a green phase banner) and as text for people. The map scrolls under the player as they move.

Frames are drawn natively at the requested size (layout in fractions of the frame):
numpy for the map, Pillow's `ImageDraw` for shapes and text. About 1 ms at 400×225.
The same state, size and seed always give the same frame.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from app.demo.sim.game import GameState, Phase

DEFAULT_SIZE: tuple[int, int] = (225, 400)  # (height, width) of the encoder's input
MIN_SIZE: tuple[int, int] = (48, 64)  # smallest (height, width) the layout works at

Color = tuple[int, int, int]

_VIEW_M = 75.0  # metres of map shown from top to bottom of the frame
_TILE_M = 8.0  # size of one map tile in metres
_LOOT_FULL = 1500.0  # loot that fills the loot bar
# Map tile palette: grass, dry grass, dirt, concrete, rooftop.
_PALETTE = np.array(
    [[62, 94, 52], [92, 104, 60], [104, 88, 64], [112, 112, 108], [70, 66, 72]], dtype=np.int16
)
_ROAD: Color = (52, 52, 56)
_PANEL: Color = (16, 18, 24)
_LOOT: Color = (255, 196, 0)
_LOOT_BG: Color = (70, 54, 10)
_CRATE_EDGE: Color = (110, 70, 0)
_DIST: Color = (0, 170, 255)
_DIST_BG: Color = (10, 40, 70)
_TIME: Color = (235, 235, 235)
_TIME_LOW: Color = (255, 120, 0)
_BAR_BG: Color = (50, 50, 56)
_ENEMY: Color = (230, 20, 30)
_ENEMY_EDGE: Color = (60, 0, 0)
_PLAYER: Color = (80, 255, 255)
_EXTRACT: Color = (40, 230, 90)
_WHITE: Color = (255, 255, 255)
_BLACK: Color = (0, 0, 0)


def threat_color(threat: float) -> Color:
    """Green (0) → yellow (0.5) → red (1)."""
    t = min(max(threat, 0.0), 1.0)
    if t < 0.5:
        return (int(510 * t), 220, 40)
    return (255, int(220 * (2.0 - 2.0 * t)), 40)


def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=px)
    except (TypeError, OSError, ImportError):  # Pillow without FreeType: fixed bitmap font
        return ImageFont.load_default()


def _map_texture(tile_px: int, tiles: int, seed: int) -> NDArray[np.uint8]:
    """A periodic map, (T, T, 3) with T = tile_px · tiles, repeated 2×2 for window slicing."""
    rng = np.random.default_rng(seed)
    kinds = rng.choice(len(_PALETTE), size=(tiles, tiles), p=[0.35, 0.2, 0.15, 0.2, 0.1])
    grid = _PALETTE[kinds] + rng.integers(-10, 11, size=(tiles, tiles, 1), dtype=np.int16)
    tex = np.repeat(np.repeat(grid, tile_px, axis=0), tile_px, axis=1)  # (T, T, 3)
    road = tile_px // 3
    for k in range(0, tiles, 4):  # a road every fourth tile, both ways
        tex[k * tile_px : k * tile_px + road, :] = _ROAD
        tex[:, k * tile_px : k * tile_px + road] = _ROAD
    tex[::tile_px, :] -= 18  # tile seams
    tex[:, ::tile_px] -= 18
    tex += rng.integers(-7, 8, size=tex.shape[:2] + (1,), dtype=np.int16)  # grain: motion shows
    tex = np.clip(tex, 0, 255).astype(np.uint8)
    return np.tile(tex, (2, 2, 1))


class Renderer:
    """Draws `GameState`s at one frame size; holds the map texture and fonts for it.

    `size` is (height, width). `seed` picks the map layout.
    """

    def __init__(self, size: tuple[int, int] = DEFAULT_SIZE, seed: int = 0) -> None:
        h, w = size
        if h < MIN_SIZE[0] or w < MIN_SIZE[1]:
            raise ValueError(f"size must be at least {MIN_SIZE} (height, width), got {size}")
        self.size = (int(h), int(w))
        self.seed = seed
        self.px_per_m = h / _VIEW_M
        tile_px = max(4, round(_TILE_M * self.px_per_m))
        tiles = 4 * math.ceil((max(h, w) / tile_px + 1) / 4)  # multiple of 4: roads wrap cleanly
        self._period = tile_px * tiles
        self._texture = _map_texture(tile_px, tiles, seed)  # (2T, 2T, 3)
        # Layout, in pixels.
        u = h / 100.0  # one hundredth of the frame height
        self.u = u
        self.panel_w = round(0.36 * w)
        self.pad = max(2, round(1.5 * u))
        self.text_h = max(7, round(6 * u))
        self.bar_h = max(4, round(6.5 * u))
        self.row_h = self.text_h + self.bar_h + 2 * self.pad
        self.panel_h = min(h, 4 * self.row_h + self.pad)
        self.scene_cx = (self.panel_w + w) / 2.0
        self.scene_cy = 0.45 * h
        self.banner_h = max(8, round(13 * u))
        self.font = _font(self.text_h)
        self.font_big = _font(max(9, round(10 * u)))

    def render(self, state: GameState) -> NDArray[np.uint8]:
        """The frame for `state`: uint8 RGB, shape (height, width, 3)."""
        h, w = self.size
        frame = self._background(state)
        if state.phase == Phase.DEAD:
            frame >>= 2  # darken the world
            frame[..., 0] += 60  # dark red
        elif state.phase == Phase.EXTRACTED:
            frame >>= 1
            frame[..., 1] += 70  # dark green
        img = Image.fromarray(frame)
        draw = ImageDraw.Draw(img)
        self._extraction_zone(draw, state)
        self._caches(draw, state)
        self._enemies(draw, state)
        self._player(draw, state)
        self._threat_border(draw, state)
        self._hud(draw, state)
        self._compass(draw, state)
        self._banner(draw, state)
        return np.asarray(img, dtype=np.uint8).copy()

    # -- world --------------------------------------------------------------------------

    def _background(self, state: GameState) -> NDArray[np.uint8]:
        h, w = self.size
        ox = int(math.floor(state.x * self.px_per_m)) % self._period
        oy = int(math.floor(-state.y * self.px_per_m)) % self._period
        return self._texture[oy : oy + h, ox : ox + w].copy()

    def _to_screen(self, state: GameState, x: float, y: float) -> tuple[float, float]:
        return (
            self.scene_cx + (x - state.x) * self.px_per_m,
            self.scene_cy - (y - state.y) * self.px_per_m,
        )

    def _extraction_zone(self, draw: ImageDraw.ImageDraw, state: GameState) -> None:
        sx, sy = self._to_screen(state, state.extract_x, state.extract_y)
        r = 5.0 * self.px_per_m  # a 5 m pad
        h, w = self.size
        if -r < sx < w + r and -r < sy < h + r:
            draw.ellipse((sx - r, sy - r, sx + r, sy + r), fill=(20, 120, 50), outline=_EXTRACT,
                         width=max(1, round(self.u)))

    def _caches(self, draw: ImageDraw.ImageDraw, state: GameState) -> None:
        """Loot caches in view: big gold crates on fixed slots near the player."""
        s = 6.0 * self.u  # half the side of a crate
        edge = max(1, round(0.8 * self.u))
        for i in range(state.caches):
            ang = 0.9 + 2.1 * i  # slots around the player (radians)
            cx = self.scene_cx + 20.0 * self.u * math.cos(ang)
            cy = self.scene_cy - 17.0 * self.u * math.sin(ang)
            draw.rectangle((cx - s, cy - s, cx + s, cy + s), fill=_LOOT, outline=_CRATE_EDGE,
                           width=edge)
            draw.line((cx - s, cy, cx + s, cy), fill=_CRATE_EDGE, width=edge)

    def _enemies(self, draw: ImageDraw.ImageDraw, state: GameState) -> None:
        """Solid red blobs around the player: one per enemy, bigger and closer with threat."""
        h, w = self.size
        scene_r = min(w - self.panel_w, h) / 2.0
        r = (3.5 + 5.0 * state.threat) * self.u
        t = state.time_s
        for i in range(state.enemies):
            # Each enemy slot has its own bearing (golden angle) and drifts slowly.
            ang = 2.39996 * i + 0.7 * self.seed + 0.25 * t + 0.4 * math.sin(0.9 * t + i)
            dist = scene_r * (0.95 - 0.4 * state.threat + 0.08 * math.sin(1.3 * t + 2.0 * i))
            ex = self.scene_cx + dist * math.cos(ang)
            ey = self.scene_cy + 0.9 * dist * math.sin(ang)
            ex = min(max(ex, self.panel_w + r), w - r)
            ey = min(max(ey, r), h - self.banner_h - r)
            draw.ellipse((ex - r, ey - r, ex + r, ey + r), fill=_ENEMY, outline=_ENEMY_EDGE,
                         width=max(1, round(0.6 * self.u)))

    def _player(self, draw: ImageDraw.ImageDraw, state: GameState) -> None:
        if state.phase == Phase.DEAD:
            return
        cx, cy, s = self.scene_cx, self.scene_cy, 4.0 * self.u
        a = state.heading  # world angle; screen y points down
        pts = [
            (cx + 1.6 * s * math.cos(a), cy - 1.6 * s * math.sin(a)),
            (cx + s * math.cos(a + 2.5), cy - s * math.sin(a + 2.5)),
            (cx + s * math.cos(a - 2.5), cy - s * math.sin(a - 2.5)),
        ]
        draw.polygon(pts, fill=_PLAYER, outline=_BLACK)

    # -- HUD ----------------------------------------------------------------------------

    def _threat_border(self, draw: ImageDraw.ImageDraw, state: GameState) -> None:
        """A red frame around the whole picture, thicker as threat rises."""
        h, w = self.size
        k = round(state.threat * 6.0 * self.u)
        if k <= 0:
            return
        c = threat_color(state.threat)
        draw.rectangle((0, 0, w - 1, k - 1), fill=c)
        draw.rectangle((0, h - k, w - 1, h - 1), fill=c)
        draw.rectangle((0, 0, k - 1, h - 1), fill=c)
        draw.rectangle((w - k, 0, w - 1, h - 1), fill=c)

    def _bar(
        self, draw: ImageDraw.ImageDraw, row: int, label: str, frac: float, color: Color, bg: Color
    ) -> None:
        x0 = self.pad + round(6 * self.u)  # clear of the threat border
        x1 = self.panel_w - self.pad
        y = self.pad + round(6 * self.u) + row * self.row_h
        draw.text((x0, y), label, fill=_WHITE, font=self.font)
        yb = y + self.text_h + self.pad
        draw.rectangle((x0, yb, x1, yb + self.bar_h - 1), fill=bg)
        fill_w = round((x1 - x0) * min(max(frac, 0.0), 1.0))
        if fill_w > 0:
            draw.rectangle((x0, yb, x0 + fill_w - 1, yb + self.bar_h - 1), fill=color)

    def _hud(self, draw: ImageDraw.ImageDraw, state: GameState) -> None:
        cfg = state.config
        top = round(6 * self.u) - self.pad
        draw.rectangle((0, 0, self.panel_w, top + self.panel_h + self.pad), fill=_PANEL)
        self._bar(draw, 0, f"LOOT {state.loot:,.0f}", state.loot / _LOOT_FULL, _LOOT, _LOOT_BG)
        tc = threat_color(state.threat)
        self._bar(draw, 1, f"THREAT {100 * state.threat:.0f}%  x{state.enemies}", state.threat, tc,
                  _BAR_BG)
        self._bar(draw, 2, f"EXFIL {state.distance:.0f} m", state.distance / cfg.max_distance,
                  _DIST, _DIST_BG)
        left = state.time_left_s
        mm, ss = divmod(int(math.ceil(left)), 60)
        self._bar(draw, 3, f"TIME {mm:02d}:{ss:02d}", left / cfg.max_raid_s,
                  _TIME if left > 30 else _TIME_LOW, _BAR_BG)

    def _compass(self, draw: ImageDraw.ImageDraw, state: GameState) -> None:
        """Top right: a dial whose green needle points at the extraction."""
        h, w = self.size
        r = 9.0 * self.u
        cx, cy = w - r - 8.0 * self.u, r + 8.0 * self.u
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=_PANEL, outline=_WHITE,
                     width=max(1, round(0.6 * self.u)))
        ang = math.atan2(state.extract_y - state.y, state.extract_x - state.x)
        tip = (cx + 0.85 * r * math.cos(ang), cy - 0.85 * r * math.sin(ang))
        left = (cx + 0.3 * r * math.cos(ang + 2.3), cy - 0.3 * r * math.sin(ang + 2.3))
        right = (cx + 0.3 * r * math.cos(ang - 2.3), cy - 0.3 * r * math.sin(ang - 2.3))
        draw.polygon([tip, left, right], fill=_EXTRACT)

    def _banner(self, draw: ImageDraw.ImageDraw, state: GameState) -> None:
        """Bottom strip for the phase: green EXTRACTING, big end-of-raid banners."""
        h, w = self.size
        x0 = self.panel_w
        if state.phase == Phase.EXTRACTING:
            y0 = h - self.banner_h - round(6 * self.u)
            draw.rectangle((x0, y0, w - round(6 * self.u), y0 + self.banner_h), fill=(0, 200, 70))
            text = f"EXTRACTING  {state.walk_time_s:.0f}s"
            draw.text((x0 + 2 * self.pad, y0 + self.pad), text, fill=_BLACK, font=self.font_big)
        elif state.done:
            y0 = round(0.62 * h)
            color = (0, 200, 70) if state.phase == Phase.EXTRACTED else (150, 0, 0)
            draw.rectangle((x0, y0, w - 1, y0 + 2 * self.banner_h), fill=color)
            if state.phase == Phase.EXTRACTED:
                text = f"EXTRACTED +{state.loot:,.0f}"
            else:
                text = "M.I.A." if state.time_left_s <= 0 else "K.I.A."
            draw.text((x0 + 2 * self.pad, y0 + self.banner_h // 2), text, fill=_WHITE,
                      font=self.font_big)


@functools.lru_cache(maxsize=8)
def _renderer(size: tuple[int, int], seed: int) -> Renderer:
    return Renderer(size, seed)


def render(
    state: GameState, size: tuple[int, int] = DEFAULT_SIZE, seed: int = 0
) -> NDArray[np.uint8]:
    """Draw `state` as a uint8 RGB frame of shape (height, width, 3); `size` is (height, width).

    Renderers (map texture, fonts) are cached per (size, seed).
    """
    return _renderer((int(size[0]), int(size[1])), int(seed)).render(state)
