"""Replay: frames from a folder of images or an `.npz`, for tests and benchmarks.

- A folder: every `.png`, `.jpg`, `.jpeg`, `.bmp` file in name order, read with Pillow
  and converted to RGB.
- An `.npz`: the array named `frames` (or the only array), uint8 [N, H, W, 3]. Read with
  `allow_pickle=False`, so a file cannot run code.

The source loops by default; with `loop=False` it raises `CaptureLost` after the last
frame, which ends a headless run cleanly.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from app.core.capture.base import CaptureLost, Frame, check_frame
from app.core.errors import CaptureError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def _load_npz(path: Path) -> NDArray[np.uint8]:
    try:
        with np.load(path, allow_pickle=False) as data:
            names = list(data.keys())
            if "frames" in names:
                arr = data["frames"]
            elif len(names) == 1:
                arr = data[names[0]]
            else:
                raise CaptureError(f"{path.name} holds {names}; name the frame array 'frames'")
    except (OSError, ValueError) as exc:
        raise CaptureError(f"cannot read {path}: {exc}") from exc
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3 or len(arr) == 0:
        raise CaptureError(
            f"{path.name}: frames must be uint8 [N, H, W, 3] with N ≥ 1, "
            f"got {arr.dtype} {list(arr.shape)}"
        )
    return arr


def _image_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise CaptureError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return files


class ReplaySource:
    """FrameSource over recorded images. Folders are read lazily, one image per grab."""

    name = "replay"

    def __init__(self, path: Path | str, *, loop: bool = True) -> None:
        self.path = Path(path)
        self.loop = loop
        self._frames: NDArray[np.uint8] | None = None
        self._files: list[Path] | None = None
        self._index = 0

    @property
    def count(self) -> int:
        """Frames available (0 before `open`). Not `__len__`: a source is never falsy."""
        if self._frames is not None:
            return len(self._frames)
        return len(self._files or [])

    def open(self) -> None:
        if not self.path.exists():
            raise CaptureError(f"replay source not found: {self.path}")
        if self.path.is_dir():
            self._files = _image_files(self.path)
        elif self.path.suffix.lower() == ".npz":
            self._frames = _load_npz(self.path)
        else:
            raise CaptureError(f"replay needs a folder of images or an .npz, not {self.path.name}")
        self._index = 0
        log.info("replaying %d frames from %s", self.count, self.path)

    def grab(self) -> Frame | None:
        n = self.count
        if n == 0:
            self.open()
            n = self.count
        if self._index >= n:
            if not self.loop:
                raise CaptureLost(f"replay of {self.path.name} ended after {n} frames")
            self._index = 0
        i = self._index
        self._index += 1
        if self._frames is not None:
            return self._frames[i]
        assert self._files is not None
        try:
            with Image.open(self._files[i]) as img:
                frame = np.asarray(img.convert("RGB"))
        except OSError as exc:
            raise CaptureError(f"cannot read {self._files[i]}: {exc}") from exc
        return check_frame(frame, self.name)

    def close(self) -> None:
        self._frames = None
        self._files = None
        self._index = 0
