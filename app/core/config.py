"""User settings: validated, saved as readable JSON in the user config dir.

`pydantic` does the validation (types, ranges, clear messages) so no hand-written
checks drift from the field definitions. A bad settings file never crashes the app:
`load_settings` backs it up next to itself, returns the defaults and a message that the
caller shows to the player. Where the config folder is read-only the bad file stays as it
is (the message says so) and the defaults are used all the same; a file nested too deep
for the JSON parser (RecursionError) or too large is a bad file like any other.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.core import paths
from app.core.atomic import atomic_path, describe_os_error
from app.core.model.ev import risk_eta

log = logging.getLogger(__name__)

RiskName = Literal["safe", "neutral", "aggressive"]
Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right", "custom"]
DEVICE_CHOICES = ("auto", "cuda", "rocm", "directml", "cpu")
MAX_SETTINGS_BYTES = 1 << 20
"""A settings file is a few KB; a larger one is not read (it is treated as invalid)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Region(_Strict):
    """A rectangle in physical pixels, relative to the monitor's top-left corner."""

    left: int = Field(ge=0, description="x of the left edge")
    top: int = Field(ge=0, description="y of the top edge")
    width: int = Field(ge=16, description="width in pixels")
    height: int = Field(ge=16, description="height in pixels")


class CaptureSettings(_Strict):
    monitor: int = Field(default=0, ge=0, description="index of the monitor to capture (0 = primary)")
    region: Region | None = Field(default=None, description="part of the monitor; None = whole monitor")
    fps: float = Field(default=8.0, gt=0, le=30, description="frames captured and encoded per second")
    backend: Literal["auto", "dxcam", "mss"] = Field(
        default="auto", description="screen grabber; auto = dxcam on Windows, mss elsewhere"
    )


class InferenceSettings(_Strict):
    interval_s: float = Field(default=0.5, ge=0.1, le=5.0, description="seconds between EV updates")
    risk: RiskName | float = Field(
        default="neutral",
        description="risk profile at start-up: safe, neutral, aggressive, or a custom η of "
        "Wang's transform (> 0 more cautious, < 0 bolder; safe 0.25, aggressive -0.25)",
    )
    hold_s: float = Field(
        default=1.0, ge=0.0, le=10.0,
        description="seconds a new advice must hold before the overlay switches to it",
    )
    margin: float = Field(
        default=0.15, ge=0.0, le=1.0,
        description="a new advice that wins by this fraction of the values is shown at once",
    )

    @field_validator("risk")
    @classmethod
    def _risk_in_range(cls, v: RiskName | float) -> RiskName | float:
        risk_eta(v)  # ValueError with the allowed range
        return v
    encoder_path: str = Field(
        default="auto", description="encoder implementation: auto picks the fastest faithful one"
    )


class HotkeySettings(_Strict):
    start_stop: str = Field(default="f8", description="start or stop a run")
    mark_extract: str = Field(default="f9", description="mark that you are extracting now")
    cycle_risk: str = Field(default="f10", description="cycle safe → neutral → aggressive")
    toggle_overlay: str = Field(default="f11", description="show or hide the overlay")

    @field_validator("start_stop", "mark_extract", "cycle_risk", "toggle_overlay")
    @classmethod
    def _normalise(cls, v: str) -> str:
        v = v.strip().lower()
        if not v:
            raise ValueError("a hotkey cannot be empty")
        return v

    @model_validator(mode="after")
    def _no_duplicates(self) -> HotkeySettings:
        seen: dict[str, str] = {}
        for name, key in self.bindings().items():
            if key in seen:
                raise ValueError(f"hotkey '{key}' is bound to both {seen[key]} and {name}")
            seen[key] = name
        return self

    def bindings(self) -> dict[str, str]:
        """Action name → key, in a stable order."""
        return {
            "start_stop": self.start_stop,
            "mark_extract": self.mark_extract,
            "cycle_risk": self.cycle_risk,
            "toggle_overlay": self.toggle_overlay,
        }


class OverlayPlacement(_Strict):
    """Where the overlay sits on one monitor."""

    corner: Corner = Field(default="top-right", description="snap corner, or custom for x/y")
    x: int = Field(default=0, description="left edge when corner is custom (logical pixels)")
    y: int = Field(default=0, description="top edge when corner is custom (logical pixels)")


class OverlaySettings(_Strict):
    visible: bool = Field(default=True, description="show the overlay during runs")
    opacity: float = Field(
        default=0.92,
        ge=0.2,
        le=1.0,
        description="window opacity (the overlay never draws below the floor that keeps its "
        "text at 4.5:1 contrast over a white scene, about 0.88)",
    )
    scale: float = Field(default=1.0, ge=0.5, le=3.0, description="size multiplier")
    margin: int = Field(default=24, ge=0, le=500, description="distance from the snap corner")
    placements: dict[str, OverlayPlacement] = Field(
        default_factory=dict, description="placement per monitor, keyed by monitor name"
    )
    layout: Literal["compact", "detailed"] = Field(
        default="compact",
        description="compact: one big line (EXTRACT NOW / STAY +400) and a hotkey hint; "
        "detailed: both choices' values and ranges",
    )
    unit: str = Field(
        default="loot",
        max_length=8,
        description='what the numbers are counted in, shown after them (e.g. "₽", "loot", "" for none)',
    )


class Settings(_Strict):
    """Everything the player can set. Saved as `settings.json` in the config dir."""

    version: int = Field(default=1, description="settings file format version")
    capture: CaptureSettings = Field(default_factory=CaptureSettings)
    inference: InferenceSettings = Field(default_factory=InferenceSettings)
    hotkeys: HotkeySettings = Field(default_factory=HotkeySettings)
    overlay: OverlaySettings = Field(default_factory=OverlaySettings)
    device: str = Field(default="auto", description="auto, cuda, rocm, directml, cpu (or cuda:1)")
    game_profile: str = Field(default="default", description="free-text map/game name stored with runs")
    welcomed: bool = Field(default=False, description="the first-run welcome has been shown")

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        v = v.strip().lower()
        if v.split(":")[0] not in DEVICE_CHOICES:
            raise ValueError(f"device must be one of {', '.join(DEVICE_CHOICES)}, not '{v}'")
        return v


@dataclass(frozen=True)
class LoadResult:
    """What `load_settings` found: the settings, and a message when it had to repair."""

    settings: Settings
    message: str | None = None
    backup: Path | None = None


def describe_validation_error(err: ValidationError) -> str:
    """One readable line per problem: `capture.fps: Input should be greater than 0`."""
    parts = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "settings"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts)


def load_settings(path: Path | None = None) -> LoadResult:
    """Read settings; a missing file gives defaults, a bad one is backed up and replaced."""
    path = path or paths.settings_file()
    if not path.exists():
        return LoadResult(Settings())
    try:
        if path.stat().st_size > MAX_SETTINGS_BYTES:
            raise ValueError(f"it is {path.stat().st_size:,} bytes, settings are a few KB")
        raw = path.read_text(encoding="utf-8")
        settings = Settings.model_validate(json.loads(raw))
        return LoadResult(settings)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError covers json.JSONDecodeError and pydantic's ValidationError
        if isinstance(exc, ValidationError):
            reason = describe_validation_error(exc)
        elif isinstance(exc, RecursionError):
            reason = "it is nested too deeply to read"
        else:
            reason = str(exc)
        return _repair(path, reason)


def _repair(path: Path, reason: str) -> LoadResult:
    """Back up a bad settings file and write the defaults; where the folder is
    read-only, leave it and use the defaults anyway."""
    backup: Path | None = path.with_name(
        f"{path.stem}.bad-{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}"
    )
    try:
        os.replace(path, backup)  # type: ignore[arg-type]
    except OSError:
        backup = None
    settings = Settings()
    try:
        save_settings(settings, path)
        where = f" The old file was kept as {backup.name}." if backup else ""
    except OSError as exc:
        where = f" It cannot be replaced ({describe_os_error(exc)}), so it is left as it is."
    msg = f"Settings file {path} was invalid ({reason}); defaults are in use.{where}"
    log.warning(msg)
    return LoadResult(settings, msg, backup)


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves half a file."""
    path = path or paths.settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(settings.model_dump(mode="json"), indent=2, sort_keys=False) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
