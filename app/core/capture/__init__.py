"""Screen capture: the FrameSource protocol, its backends, preprocessing and pacing.

    base.py        FrameSource, Rect, CaptureLost
    screen.py      mss (any OS)            dxgi.py       dxcam (Windows), with recovery
    synthetic.py   moving HUD-like scene   replay.py     folder of images / .npz
    factory.py     spec string or settings → source (dxcam → mss fallback)
    preprocess.py  crop → 400×225 → overlay mask
    health.py      black / frozen / stalled alarms
    pacing.py      drift-free fixed-rate loops
"""

from app.core.capture.base import CaptureLost, Frame, FrameSource, Rect
from app.core.capture.factory import source_from_spec
from app.core.capture.preprocess import Preprocessor, overlay_in_capture

__all__ = [
    "CaptureLost",
    "Frame",
    "FrameSource",
    "Preprocessor",
    "Rect",
    "overlay_in_capture",
    "source_from_spec",
]
