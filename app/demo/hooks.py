"""What the demo bench plugs into the live app; core takes these as arguments.

- `SOURCES`: extra capture source kinds for `capture.factory.source_from_spec(spec,
  settings, extra=SOURCES)`; today `sim`, one simulated raid played by the autopilot.
- `sim_frames`: a `runtime.FrameMaker` of simulated-raid frames for the encoder
  self-check and INT8 calibration (`select_encoder(..., game_frames=sim_frames)`,
  `Engine(..., game_frames=sim_frames)`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from app.core.capture.base import FrameSource
from app.demo.sim import SimRaidSource

SIM_MOMENTS = (0, 40, 160, 400)
"""Steps into a raid at which `sim_frames` takes a frame: start, early, mid, late."""


def make_sim_source() -> FrameSource:
    """The `sim` capture source: one simulated raid (seed 0) at the default frame size."""
    return SimRaidSource()


SOURCES: Mapping[str, Callable[[], FrameSource]] = MappingProxyType({"sim": make_sim_source})
"""Source kinds the demo adds to `source_from_spec` (read-only)."""


def sim_frames(n: int, *, height: int, width: int, seed: int) -> list[NDArray[np.uint8]]:
    """Up to n frames (uint8, (height, width, 3)) of simulated raids at spread-out moments.

    Raid r is seeded `seed * 1000 + r`; each gives a frame at every step of `SIM_MOMENTS`
    it lives to. Raises what the renderer raises for a size its layout cannot draw.
    """
    out: list[NDArray[np.uint8]] = []
    for raid in range(4 * n):
        if len(out) >= n:
            break
        src = SimRaidSource(seed=seed * 1000 + raid, size=(height, width))
        src.open()
        step = 0
        for target in SIM_MOMENTS:
            frame = None
            while step <= target:
                frame = src.grab()
                step += 1
                if frame is None:
                    break
            if frame is None or len(out) >= n:
                break
            out.append(np.array(frame, dtype=np.uint8))
        src.close()
    return out
