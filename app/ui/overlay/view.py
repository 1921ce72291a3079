"""The overlay's view model: what it shows, as plain data. No Qt here.

`OverlayState` holds what the overlay knows (mode, latest `EVEstimate`, risk, recording,
the reason a capture was lost, the start hotkey); `overlay_view` turns one state into an
`OverlayView`: every text, colour and band the painter draws. The painter decides
nothing about content, so every state is tested here without a QApplication, and a new
figure (say a risk-adjusted Δ, or the chance of losing the haul) is one more field
computed in `overlay_view` and one more thing drawn in `painter.py`.

Colours are hex strings, chosen for contrast on a dark panel over bright or busy game
scenes; the painter's own chrome (panel, shadow, tracks) lives in `painter.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum

from app.core.model.ev import RISK_PROFILES, EVEstimate, risk_eta

STAY_COLOUR = "#3ddc84"
EXTRACT_COLOUR = "#ff8a55"
CLOSE_CALL_COLOUR = "#ffd24d"
WARMING_COLOUR = "#9fb6cf"
NO_MODEL_COLOUR = "#86b4ff"
LEARNING_COLOUR = NO_MODEL_COLOUR
"""the demo's "learning…" panel: no model yet, one is being trained"""
CAPTURE_LOST_COLOUR = "#ff6b78"
SCREEN_PAUSED_COLOUR = "#ffb020"
"""amber: the picture is black or unchanged (a pause, a loading screen), not lost"""
BANNER_COLOUR = "#ffd24d"
"""the short feedback line (extraction marked, run ending, undo)"""
IDLE_COLOUR = "#c9d1dc"
TEXT_COLOUR = "#f4f6f8"
MUTED_COLOUR = "#a3adba"
REC_COLOUR = "#ff6b6b"
UNLOCK_COLOUR = CLOSE_CALL_COLOUR
"""the dashed outline and the hint drawn in unlock (drag) mode"""

DEFAULT_START_KEY = "F8"
DEFAULT_MARK_KEY = "F9"
AXIS_CAPTION = "8 in 10 end here"
"""what the band's axis shows; the bars span each action's 10 % and 90 % values"""

RISK_WORDS: dict[str, str] = {
    "safe": "plays it safe: weighs the bad endings more, so it says leave earlier",
    "neutral": "goes by the average outcome",
    "aggressive": "weighs the good endings more, so it says stay longer",
}
"""each risk profile in words (the settings, the help panel)"""

PANEL_ALPHA = 236
"""the panel's own opacity (0–255) before the window's; the painter's PANEL_COLOUR uses it"""
PANEL_RGB = (11, 14, 19)
MIN_CONTRAST = 4.5
"""WCAG AA for normal text: every text colour keeps this over a white game scene"""


class OverlayMode(Enum):
    """Which kind of message the overlay shows."""

    IDLE = "idle"
    """no run in progress (shown only while positioning the overlay)"""
    NO_MODEL = "no_model"
    """a run is being recorded but there is no trained model yet"""
    WARMING = "warming"
    """a run started; the 4 s history window is filling"""
    LIVE = "live"
    """estimates are coming in"""
    CAPTURE_LOST = "capture_lost"
    """screen capture really stopped (the source failed: monitor changed, device lost)"""
    SCREEN_UNCHANGED = "screen_unchanged"
    """frames come but the picture has not changed for seconds (a pause, alt-tab), or
    the source has sent none for a while: amber, not an alarm"""
    SCREEN_BLACK = "screen_black"
    """the captured picture has been black for seconds (loading screen, wrong monitor)"""


@dataclass(frozen=True)
class SpreadBar:
    """One action's distribution on the band: its 10 %–90 % range and the value the
    advice used (the risk profile's value; the EV itself at neutral)."""

    label: str
    """the action: "stay" or "extract" """
    low: float
    """10 % value"""
    high: float
    """90 % value"""
    value: float
    """the value the advice used (drawn as a tick)"""
    colour: str
    """the action's colour (the painter draws `OverlayView.bar_colour` of it)"""


@dataclass(frozen=True)
class BandAxis:
    """The one axis the spread bars share: both actions' ranges and values fit on it."""

    low: float
    """left end, in loot units"""
    high: float
    """right end, in loot units (== low when every number is the same)"""

    @classmethod
    def spanning(cls, bars: tuple[SpreadBar, ...]) -> BandAxis:
        """The smallest axis holding every bar's range and value."""
        if not bars:
            raise ValueError("an axis needs at least one bar")
        # nothing banked is 0: a model's quantile below it sits at the axis' left end
        low = max(0.0, min(min(b.low, b.value) for b in bars))
        return cls(low, max(low, max(max(b.high, b.value) for b in bars)))

    def fraction(self, v: float) -> float:
        """Where `v` sits on the axis: 0 at `low`, 1 at `high` (a flat axis: v − low),
        clipped to the axis."""
        span = self.high - self.low if self.high > self.low else 1.0
        return min(max((v - self.low) / span, 0.0), 1.0)

    @property
    def low_text(self) -> str:
        return format_value(self.low)

    @property
    def high_text(self) -> str:
        return format_value(self.high)


@dataclass(frozen=True)
class OverlayView:
    """Everything the overlay paints, as plain data."""

    headline: str
    """big line: the advice ("STAY", "EXTRACT") or the state ("WARMING UP")"""
    headline_colour: str
    """the headline and the accent strip on the panel's left edge"""
    detail: str
    """small line under the headline"""
    risk: str
    """risk chip text, e.g. "SAFE", or "CUSTOM η+0.40" """
    recording: bool
    """show the red REC dot"""
    rows: tuple[tuple[str, str], ...] = ()
    """(label, value) lines, one per bar, drawn left of it: EV stay, EV extract"""
    bars: tuple[SpreadBar, ...] = ()
    """the spread band, one bar per action (as many as `rows`)"""
    delta: str = ""
    """the figure right of the headline: the risk-adjusted Δ (stay − extract) that decides
    the advice, e.g. "Δ +310" (at neutral, ΔEV itself); "" when there are no numbers"""
    dimmed: bool = False
    """values are provisional (warming up): numbers, bars and Δ drawn muted"""
    hint: str = ""
    """what the player can do about a state without numbers (drawn where the rows go)"""
    banner: str = ""
    """short feedback that replaces the detail line while it lasts ("extraction marked ·
    F9 again to undo"); "" when none"""
    compact: bool = False
    """the compact panel: header, one big line and one hint line (no rows, bars or hint)"""

    def __post_init__(self) -> None:
        if len(self.rows) != len(self.bars):
            raise ValueError(f"{len(self.rows)} rows but {len(self.bars)} bars: one row per bar")

    # Colours that follow from the fields above; the painter reads them, never decides.
    @property
    def delta_colour(self) -> str:
        return MUTED_COLOUR if self.dimmed else self.headline_colour

    @property
    def detail_colour(self) -> str:
        """muted under numbers (they are what matters), bright on a state message"""
        return MUTED_COLOUR if self.rows else TEXT_COLOUR

    @property
    def detail_line(self) -> tuple[str, str]:
        """(text, colour) of the line under the headline: the banner while there is one"""
        if self.banner:
            return self.banner, BANNER_COLOUR
        return self.detail, self.detail_colour

    @property
    def value_colour(self) -> str:
        """the row values and the bars' ticks"""
        return MUTED_COLOUR if self.dimmed else TEXT_COLOUR

    def bar_colour(self, bar: SpreadBar) -> str:
        return MUTED_COLOUR if self.dimmed else bar.colour

    @property
    def axis(self) -> BandAxis | None:
        """the bars' shared axis; None without bars"""
        return BandAxis.spanning(self.bars) if self.bars else None


def format_value(v: float) -> str:
    """Loot value for a glance: 940, 12,450, 124.5k, 1.25M (U+2212 for minus)."""
    if not math.isfinite(v):
        return "—"
    sign = "−" if v < 0 else ""
    a = abs(v)
    if a < 100_000:
        text = f"{a:,.0f}"
    elif a < 1_000_000:
        text = f"{a / 1000:.1f}k"
    else:
        text = f"{a / 1_000_000:.2f}M"
    return sign + text


def format_delta(v: float) -> str:
    """ΔEV with an explicit sign: +310, −1,240."""
    text = format_value(v)
    return text if text.startswith(("−", "—")) else "+" + text


def format_amount(v: float, unit: str = "", *, sign: bool = False) -> str:
    """A loot amount for the player: never negative, never "−0" (a take-home value below
    zero means nothing); with the player's unit ("400 ₽", "12.5k loot") and an optional
    "+" in front."""
    if not math.isfinite(v):
        return "—"
    text = format_value(max(0.0, v) + 0.0)  # + 0.0: −0.0 becomes 0.0
    text = ("+" if sign else "") + text
    return f"{text} {unit}" if unit else text


def _luminance(rgb: tuple[float, float, float]) -> float:
    def lin(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _rgb(colour: str) -> tuple[float, float, float]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def contrast_over_white(colour: str, opacity: float) -> float:
    """WCAG contrast ratio of text in `colour` on the panel, the window at `opacity`,
    over a white scene (the worst case: snow, a bright sky)."""
    white = (255.0, 255.0, 255.0)

    def over(c: tuple[float, float, float], a: float) -> tuple[float, float, float]:
        return (a * c[0] + (1 - a) * 255.0, a * c[1] + (1 - a) * 255.0, a * c[2] + (1 - a) * 255.0)

    bg = over(tuple(float(c) for c in PANEL_RGB), opacity * PANEL_ALPHA / 255)  # type: ignore[arg-type]
    text = over(_rgb(colour), opacity)
    la, lb = _luminance(text), _luminance(bg if bg != white else white)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


TEXT_COLOURS = (
    TEXT_COLOUR,
    MUTED_COLOUR,
    STAY_COLOUR,
    EXTRACT_COLOUR,
    CLOSE_CALL_COLOUR,
    WARMING_COLOUR,
    NO_MODEL_COLOUR,
    CAPTURE_LOST_COLOUR,
    SCREEN_PAUSED_COLOUR,
    IDLE_COLOUR,
    REC_COLOUR,
)
"""every colour the overlay draws text in"""


def min_readable_opacity(step: float = 0.01) -> float:
    """The lowest window opacity at which every text colour keeps `MIN_CONTRAST` over white
    (the window never goes below it, whatever the setting)."""
    o = 1.0
    while o - step >= 0.2 and all(
        contrast_over_white(c, o - step) >= MIN_CONTRAST for c in TEXT_COLOURS
    ):
        o -= step
    return round(o, 2)


def risk_text(risk: str, eta: float | None = None) -> str:
    """The risk chip: the profile's name ("SAFE"); a custom η shows its value."""
    if risk in RISK_PROFILES or eta is None:
        return risk.upper()
    try:
        return f"{risk.upper()} η{risk_eta(eta):+.2f}"
    except ValueError:
        return risk.upper()


def loss_text(p: float) -> str:
    """The chance that staying ends with nothing (the haul lost), for the detail line
    ("" when none); short, to fit beside the advice's own words."""
    if not p > 0:
        return ""
    return f"{100 * p:.0f}% death risk"


def advantage(estimate: EVEstimate) -> float:
    """How much more the advised action is worth than the other (loot units, ≥ 0): the
    risk-adjusted difference that decides the advice; 0 while the hysteresis still holds
    an answer the newest tick disagrees with."""
    d = estimate.risk_delta if estimate.advice == "stay" else -estimate.risk_delta
    return max(0.0, d)


def advantage_text(estimate: EVEstimate, unit: str = "") -> str:
    """ "+400 loot": the advised action's advantage; "" when it rounds to nothing."""
    a = advantage(estimate)
    return format_amount(a, unit, sign=True) if round(a) >= 1 else ""


def overlay_view(
    mode: OverlayMode,
    estimate: EVEstimate | None = None,
    *,
    risk: str = "neutral",
    recording: bool = False,
    message: str = "",
    start_key: str = DEFAULT_START_KEY,
    compact: bool = False,
    unit: str = "",
    mark_key: str = DEFAULT_MARK_KEY,
    learning: str = "",
    learning_headline: str = "LEARNING…",
) -> OverlayView:
    """The texts and colours for one state of the overlay.

    compact: one big line ("EXTRACT NOW", "STAY +400 loot") and a hotkey hint instead of
        the detailed panel with both choices' values and ranges. unit: what the numbers
        are counted in ("₽", "loot", ""), after the advice's figure. mark_key: the
        mark-extracting hotkey, named in the compact hint.
    estimate: the latest EV tick; used in LIVE (and in WARMING when one is available,
        drawn dimmed). Its own `risk` wins over `risk` when present.
    message: the reason the engine gave for a capture state.
    learning: how far a model being trained for this session has got ("recording raids
        5/13"); while there is no model (IDLE, NO_MODEL) the panel says `learning_headline`
        with it.
    """
    if learning and mode in LEARNING_MODES:
        return OverlayView(
            learning_headline,
            LEARNING_COLOUR,
            learning,
            risk_text(risk),
            recording,
            hint="the advice starts once the model is trained",
            compact=compact,
        )
    view = _full_view(
        mode,
        estimate,
        risk=risk,
        recording=recording,
        message=message,
        start_key=start_key,
        unit=unit,
    )
    if not compact:
        return view
    headline, detail = view.headline, view.detail
    if view.rows and not view.dimmed and estimate is not None:
        if estimate.advice == "extract":
            headline = "EXTRACT NOW"
            detail = f"head out · {mark_key} when you start extracting"
        else:
            headline = f"STAY {view.delta}".strip()
            loss = loss_text(estimate.p_loss_stay)
            detail = (
                f"keep looting · {loss}" if loss else f"keep looting · {mark_key} when you leave"
            )
        if estimate.instant_advice != estimate.advice:
            detail = f"{estimate.instant_advice} soon · {detail.split(' · ', 1)[-1]}"
        elif estimate.close_call:
            detail = "close call: either is fine"
    elif view.hint and mode not in (OverlayMode.WARMING, OverlayMode.LIVE):
        detail = view.hint if mode in PAUSED_MODES else detail
    return replace(
        view,
        headline=headline,
        detail=detail,
        rows=(),
        bars=(),
        delta="",
        hint="",
        compact=True,
    )


def _full_view(
    mode: OverlayMode,
    estimate: EVEstimate | None = None,
    *,
    risk: str = "neutral",
    recording: bool = False,
    message: str = "",
    start_key: str = DEFAULT_START_KEY,
    unit: str = "",
) -> OverlayView:
    """The detailed panel's texts and colours (see `overlay_view`)."""
    chip = risk_text(estimate.risk, estimate.eta) if estimate is not None else risk_text(risk)
    if mode is OverlayMode.IDLE:
        return OverlayView(
            "ARCX READY",
            IDLE_COLOUR,
            f"press {start_key} to start a run",
            chip,
            recording,
            hint="the overlay shows EV stay / extract during runs",
        )
    if mode is OverlayMode.NO_MODEL:
        return OverlayView(
            "NO MODEL YET",
            NO_MODEL_COLOUR,
            "no model yet — recording",
            chip,
            recording,
            hint="label runs as they end, then Train model…",
        )
    if mode is OverlayMode.CAPTURE_LOST:
        return OverlayView(
            "CAPTURE LOST",
            CAPTURE_LOST_COLOUR,
            "screen capture stopped — retrying",
            chip,
            recording,
            hint=message or "check Settings ▸ Capture (monitor, region)",
        )
    if mode is OverlayMode.SCREEN_UNCHANGED:
        return OverlayView(
            "SCREEN UNCHANGED",
            SCREEN_PAUSED_COLOUR,
            "advice paused until the picture moves",
            chip,
            recording,
            hint="paused, in a menu or alt-tabbed? Fine. Otherwise check Settings ▸ Capture",
        )
    if mode is OverlayMode.SCREEN_BLACK:
        return OverlayView(
            "SCREEN BLACK",
            SCREEN_PAUSED_COLOUR,
            "advice paused while the picture is black",
            chip,
            recording,
            hint="a loading screen is fine; otherwise check the monitor in Settings ▸ Capture",
        )
    if estimate is None:  # WARMING, or LIVE before the first tick
        return OverlayView(
            "WARMING UP",
            WARMING_COLOUR,
            "warming up — filling 4 s of history",
            chip,
            recording,
            hint="numbers appear in a few seconds",
        )

    rows = (
        ("If you stay", format_amount(estimate.ev_stay)),
        ("If you leave", format_amount(estimate.ev_extract)),
    )
    bars = (
        SpreadBar("stay", *estimate.spread_stay, estimate.value_stay, STAY_COLOUR),
        SpreadBar("extract", *estimate.spread_extract, estimate.value_extract, EXTRACT_COLOUR),
    )
    delta = advantage_text(estimate, unit)
    if mode is OverlayMode.WARMING or estimate.warming:
        return OverlayView(
            "WARMING UP",
            WARMING_COLOUR,
            f"warming up — leaning {estimate.advice}",
            chip,
            recording,
            rows,
            bars,
            delta,
            dimmed=True,
        )
    if estimate.instant_advice != estimate.advice:
        # the new answer has not held long enough yet (hysteresis): say it is coming
        colour = STAY_COLOUR if estimate.advice == "stay" else EXTRACT_COLOUR
        detail = f"{estimate.instant_advice} pending"
    elif estimate.close_call:
        colour, detail = CLOSE_CALL_COLOUR, "close call — either is fine"
    elif estimate.advice == "stay":
        colour, detail = STAY_COLOUR, "keep looting"
    else:
        colour, detail = EXTRACT_COLOUR, "head for extraction"
    loss = loss_text(estimate.p_loss_stay)
    if loss:
        detail = f"{detail} · {loss}"
    return OverlayView(estimate.advice.upper(), colour, detail, chip, recording, rows, bars, delta)


# Modes whose message is about numbers the overlay already had: the estimate is kept
# (LIVE shows it; CAPTURE_LOST keeps its risk on the chip until numbers come back).
_KEEPS_ESTIMATE = (
    OverlayMode.LIVE,
    OverlayMode.CAPTURE_LOST,
    OverlayMode.SCREEN_UNCHANGED,
    OverlayMode.SCREEN_BLACK,
)
LEARNING_MODES = frozenset({OverlayMode.IDLE, OverlayMode.NO_MODEL})
"""modes without a model in which a `learning` note replaces the panel (capture problems
still show: they need the player)"""
PAUSED_MODES = frozenset(
    {OverlayMode.CAPTURE_LOST, OverlayMode.SCREEN_UNCHANGED, OverlayMode.SCREEN_BLACK}
)
"""modes that say the capture has a problem (the numbers come back when it clears)"""


@dataclass(frozen=True)
class OverlayState:
    """What the overlay knows; `view()` is what it shows. Each change returns a new state."""

    mode: OverlayMode = OverlayMode.IDLE
    estimate: EVEstimate | None = None
    """the latest EV tick, None when the mode has no numbers to show"""
    risk: str = "neutral"
    """the player's risk profile (an estimate's own risk wins on the chip)"""
    recording: bool = False
    message: str = ""
    """why the capture was lost (CAPTURE_LOST)"""
    start_key: str = DEFAULT_START_KEY
    """the start/stop hotkey, named on the idle panel"""
    banner: str = ""
    """short feedback shown instead of the detail line (see `OverlayView.banner`)"""
    compact: bool = False
    """the compact panel (`OverlaySettings.layout`)"""
    unit: str = ""
    """what the numbers are counted in (`OverlaySettings.unit`)"""
    mark_key: str = DEFAULT_MARK_KEY
    """the mark-extracting hotkey, named in the compact hint"""
    learning: str = ""
    """how far the model being trained has got ("" when none is: see `overlay_view`)"""
    learning_headline: str = "LEARNING…"
    """the headline shown with `learning`"""

    def with_estimate(self, estimate: EVEstimate) -> OverlayState:
        """A new EV tick: LIVE, or WARMING while the history window fills."""
        mode = OverlayMode.WARMING if estimate.warming else OverlayMode.LIVE
        return replace(self, estimate=estimate, risk=estimate.risk, mode=mode)

    def with_mode(self, mode: OverlayMode, message: str = "") -> OverlayState:
        """A state without new numbers; drops the estimate unless the mode keeps it."""
        estimate = self.estimate if mode in _KEEPS_ESTIMATE else None
        return replace(self, mode=mode, message=message, estimate=estimate)

    def view(self) -> OverlayView:
        view = overlay_view(
            self.mode,
            self.estimate,
            risk=self.risk,
            recording=self.recording,
            message=self.message,
            start_key=self.start_key,
            compact=self.compact,
            unit=self.unit,
            mark_key=self.mark_key,
            learning=self.learning,
            learning_headline=self.learning_headline,
        )
        return replace(view, banner=self.banner) if self.banner else view
