"""The project's exception types.

Every error a user can cause (a bad file, a wrong shape, a missing device) is one of
these, so the CLI and the GUI can show one clear line instead of a traceback.
"""

from __future__ import annotations


class ArcXError(Exception):
    """Base of every error ArcX reports to the user in words."""


class ConfigError(ArcXError):
    """A settings file or a settings value is invalid."""


class DeviceError(ArcXError):
    """A requested compute device is not available or fails its smoke test."""


class CheckpointError(ArcXError):
    """A checkpoint cannot be used; the subclass says why."""


class CheckpointCorruptError(CheckpointError):
    """The file is truncated, not safetensors, or its content hash does not match."""


class CheckpointMismatchError(CheckpointError):
    """The file is intact but does not fit: other architecture, shapes or encoder."""


class DataError(ArcXError):
    """Recorded data is unusable (corrupt, foreign, or mixed encoders)."""


class CaptureError(ArcXError):
    """The screen cannot be captured (device lost, black or frozen frames)."""
