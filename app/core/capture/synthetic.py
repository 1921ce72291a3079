"""A synthetic game-like screen: a drifting textured scene under a HUD.

`HudScene.render(step)` draws one frame: a background of 1/f ("fractal") noise, which
has the spectrum of natural images, scrolling slowly; a few moving "enemy" boxes; and a
HUD with a health bar, a loot counter, a raid timer, a minimap and a crosshair. It is
cheap (one crop and a few small drawings per frame) and deterministic for a seed.

`SyntheticSource` is the demo/benchmark FrameSource built on it; `hud_frames` makes
batches of such frames at the encoder's size, which the fast-encoder paths use as
real-looking calibration and self-check images when the simulated game's renderer is
not available.
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from app.core.capture.base import Frame

log = logging.getLogger(__name__)

# Spectral exponent of the background: power ∝ 1/f^β; β≈2 is typical of photographs.
_SPECTRAL_BETA = 2.0
# Background drift per frame, in pixels (x, y).
_DRIFT_PER_STEP = (3, 1)
# Moving boxes drawn over the scene.
_N_ENEMIES = 4


def fractal_texture(height: int, width: int, rng: np.random.Generator) -> NDArray[np.uint8]:
    """Colour 1/f noise, uint8 [height, width, 3], stretched to roughly 10..245."""
    fy = np.fft.fftfreq(height)[:, None]  # (H, 1) cycles per pixel
    fx = np.fft.rfftfreq(width)[None, :]  # (1, W//2+1)
    f = np.sqrt(fy**2 + fx**2)
    f[0, 0] = 1.0  # the DC term: avoid dividing by zero
    amplitude = f ** (-_SPECTRAL_BETA / 2.0)
    channels = []
    for _ in range(3):
        phase = rng.uniform(0.0, 2.0 * np.pi, size=amplitude.shape)
        spectrum = amplitude * np.exp(1j * phase)
        channels.append(np.fft.irfft2(spectrum, s=(height, width)))
    grey = np.stack(channels, axis=-1)  # (H, W, 3): three independent fields
    mix = rng.uniform(0.2, 1.0, size=(3, 3))  # correlate the channels like real colours
    img = grey @ mix.T
    lo, hi = np.percentile(img, [1, 99])
    img = (img - lo) / max(hi - lo, 1e-9) * 235.0 + 10.0
    return np.clip(img, 0, 255).astype(np.uint8)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's built-in font at `size` px where FreeType is there, else its bitmap font."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow < 10.1 or no FreeType
        return ImageFont.load_default()


class HudScene:
    """Deterministic game-like frames of one size. `render(step)` → uint8 [H, W, 3]."""

    def __init__(self, width: int = 1280, height: int = 720, seed: int = 0) -> None:
        if width < 32 or height < 32:
            raise ValueError(f"scene must be at least 32×32, got {width}×{height}")
        self.width, self.height = width, height
        rng = np.random.default_rng(seed)
        # Twice the frame in each direction, so any crop origin below (H, W) fits; made at
        # frame size and upscaled (a quarter of the FFT work, the same look).
        small = fractal_texture(height, width, rng)
        self._texture = np.asarray(
            Image.fromarray(small).resize((2 * width, 2 * height), Image.Resampling.BILINEAR)
        )
        self._font = _font(max(10, height // 40))
        self._enemy_pos = rng.uniform(0.1, 0.9, size=(_N_ENEMIES, 2))  # (x, y) fractions
        self._enemy_vel = rng.uniform(-0.01, 0.01, size=(_N_ENEMIES, 2))
        self._enemy_color = rng.integers(0, 256, size=(_N_ENEMIES, 3))
        self._loot_rate = float(rng.uniform(5.0, 40.0))

    def render(self, step: int) -> Frame:
        H, W = self.height, self.width
        oy = (step * _DRIFT_PER_STEP[1]) % H
        ox = (step * _DRIFT_PER_STEP[0]) % W
        img = Image.fromarray(self._texture[oy : oy + H, ox : ox + W])
        draw = ImageDraw.Draw(img)
        s = max(1, W // 400)  # HUD scale: 1 at 400 px wide
        # Enemies: boxes bouncing around the scene.
        for i in range(_N_ENEMIES):
            p = (self._enemy_pos[i] + step * self._enemy_vel[i]) % 2.0
            p = np.where(p > 1.0, 2.0 - p, p)  # reflect at the edges
            x, y = int(p[0] * (W - 30 * s)), int(p[1] * (H - 50 * s))
            color = tuple(int(c) for c in self._enemy_color[i])
            draw.rectangle([x, y, x + 12 * s, y + 30 * s], fill=color)
        # Health bar, loot counter, raid timer.
        health = 0.5 + 0.5 * np.sin(step / 40.0)
        draw.rectangle([8 * s, 8 * s, 8 * s + 100 * s, 16 * s], fill=(40, 40, 40))
        draw.rectangle([8 * s, 8 * s, 8 * s + int(100 * s * health), 16 * s], fill=(200, 40, 40))
        loot = f"LOOT {int(step * self._loot_rate) % 100000}"
        draw.text((8 * s, 20 * s), loot, fill=(255, 220, 80), font=self._font)
        remaining = max(0, 1800 - step // 8)
        clock = f"{remaining // 60:02d}:{remaining % 60:02d}"
        draw.text((W - 50 * s, 8 * s), clock, fill=(240, 240, 240), font=self._font)
        # Minimap with the player's dot.
        mx, my, ms = W - 70 * s, H - 70 * s, 60 * s
        draw.rectangle([mx, my, mx + ms, my + ms], fill=(20, 30, 20), outline=(120, 160, 120))
        dx = int(ms / 2 + ms / 3 * np.cos(step / 50.0))
        dy = int(ms / 2 + ms / 3 * np.sin(step / 50.0))
        draw.ellipse([mx + dx - 2 * s, my + dy - 2 * s, mx + dx + 2 * s, my + dy + 2 * s], fill=(80, 220, 255))
        # Crosshair.
        cx, cy = W // 2, H // 2
        draw.line([cx - 6 * s, cy, cx + 6 * s, cy], fill=(255, 255, 255), width=s)
        draw.line([cx, cy - 6 * s, cx, cy + 6 * s], fill=(255, 255, 255), width=s)
        return np.asarray(img)


def hud_frames(n: int, *, width: int = 400, height: int = 225, seed: int = 0) -> NDArray[np.uint8]:
    """n varied game-like frames, uint8 [n, height, width, 3].

    Every 4 frames come from a new scene (seed + i // 4) at spread-out steps, so the
    batch covers several textures, HUD states and enemy placements.
    """
    if n < 1:
        raise ValueError(f"need at least one frame, got n={n}")
    out = np.empty((n, height, width, 3), dtype=np.uint8)
    scene: HudScene | None = None
    for i in range(n):
        if i % 4 == 0:
            scene = HudScene(width, height, seed=seed * 1000 + i // 4)
        assert scene is not None
        out[i] = scene.render(37 * i + 11 * seed)
    return out


class SyntheticSource:
    """FrameSource: a `HudScene` advanced one step per grab (a moving pattern).

    `static=True` keeps returning the same frame (to exercise the identical-frame skip
    and the frozen-frame alarm); `black=True` returns black frames.
    """

    name = "synthetic"

    def __init__(
        self,
        width: int = 1280,
        height: int = 720,
        seed: int = 0,
        *,
        static: bool = False,
        black: bool = False,
    ) -> None:
        self.width, self.height, self.seed = width, height, seed
        self.static, self.black = static, black
        self._scene: HudScene | None = None
        self._step = 0

    def open(self) -> None:
        if self._scene is None:
            self._scene = HudScene(self.width, self.height, self.seed)
        self._step = 0

    def grab(self) -> Frame | None:
        if self._scene is None:
            self.open()
        assert self._scene is not None
        if self.black:
            return np.zeros((self.height, self.width, 3), dtype=np.uint8)
        frame = self._scene.render(self._step)
        if not self.static:
            self._step += 1
        return frame

    def close(self) -> None:
        self._scene = None
