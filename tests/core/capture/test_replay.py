"""Replay of recorded frames from an .npz or a folder of images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.core.capture.base import CaptureLost
from app.core.capture.replay import ReplaySource
from app.core.errors import CaptureError


def _frames(n: int = 3) -> np.ndarray:
    return np.stack([np.full((20, 30, 3), 10 * (i + 1), dtype=np.uint8) for i in range(n)])


def test_npz_loops_by_default(tmp_path: Path) -> None:
    path = tmp_path / "f.npz"
    np.savez(path, frames=_frames())
    src = ReplaySource(path)
    src.open()
    values = [int(src.grab()[0, 0, 0]) for _ in range(5)]  # type: ignore[index]
    assert values == [10, 20, 30, 10, 20]
    src.close()


def test_end_of_replay_without_loop_is_capture_lost(tmp_path: Path) -> None:
    path = tmp_path / "f.npz"
    np.savez_compressed(path, only=_frames(2))  # a single unnamed array is accepted too
    src = ReplaySource(path, loop=False)
    src.open()
    src.grab()
    src.grab()
    with pytest.raises(CaptureLost, match="ended after 2 frames"):
        src.grab()


def test_folder_of_images_in_name_order(tmp_path: Path) -> None:
    for i, v in enumerate([50, 60]):
        Image.fromarray(np.full((20, 30, 3), v, dtype=np.uint8)).save(tmp_path / f"{i:03d}.png")
    Image.fromarray(np.full((20, 30), 70, dtype=np.uint8)).save(tmp_path / "002.png")  # grey
    (tmp_path / "notes.txt").write_text("ignored")
    src = ReplaySource(tmp_path)
    src.open()
    frames = [src.grab() for _ in range(3)]
    assert [int(f[0, 0, 0]) for f in frames] == [50, 60, 70]  # type: ignore[index]
    assert all(f.shape == (20, 30, 3) for f in frames)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ({"frames": np.zeros((2, 4, 4), dtype=np.uint8)}, "uint8"),
        ({"frames": np.zeros((2, 4, 4, 3), dtype=np.float32)}, "uint8"),
        ({"a": np.zeros((1, 4, 4, 3), np.uint8), "b": np.zeros((1, 4, 4, 3), np.uint8)}, "name"),
    ],
)
def test_bad_npz_files_are_rejected(tmp_path: Path, content: dict, match: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **content)
    with pytest.raises(CaptureError, match=match):
        ReplaySource(path).open()


def test_pickled_arrays_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    np.savez(path, frames=np.array([{"a": 1}], dtype=object))
    with pytest.raises(CaptureError):
        ReplaySource(path).open()


def test_missing_and_unsupported_paths(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="not found"):
        ReplaySource(tmp_path / "nope.npz").open()
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(CaptureError, match="folder of images or an .npz"):
        ReplaySource(tmp_path / "x.txt").open()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CaptureError, match="no images"):
        ReplaySource(empty).open()
