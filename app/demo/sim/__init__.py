"""A simulated extraction raid: the demo game, its frames and its ground truth.

- `game`: `SimConfig`, `GameState`, `Game` (seeded, stepped at 8 FPS), array dynamics.
- `autopilot`: the noisy policy that plays recorded demo runs.
- `render`: frames like a top-down game with a large-shape HUD.
- `truth`: Monte-Carlo value distributions of "stay" and "extract" from any state.
- `SimRaidSource` (here): one raid as a frame source (open / grab / close), so the real
  engine, the recorder and the demo command consume it like a screen capture.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from app.demo.sim.autopilot import Autopilot, AutopilotConfig, AutopilotParams
from app.demo.sim.game import (
    ACTIONS,
    Action,
    Game,
    GameState,
    Outcome,
    Phase,
    SimConfig,
)
from app.demo.sim.render import DEFAULT_SIZE, Renderer, render
from app.demo.sim.truth import TAUS, Truth, evaluate, evaluate_many

__all__ = [
    "ACTIONS",
    "DEFAULT_SIZE",
    "TAUS",
    "Action",
    "Autopilot",
    "AutopilotConfig",
    "AutopilotParams",
    "Game",
    "GameState",
    "Outcome",
    "Phase",
    "Policy",
    "Renderer",
    "SimConfig",
    "SimRaidSource",
    "Truth",
    "evaluate",
    "evaluate_many",
    "render",
]

log = logging.getLogger(__name__)

Policy = Callable[[GameState], Action]


class SimRaidSource:
    """Plays one simulated raid and serves its frames, like a screen capture.

    Implements the capture `FrameSource` protocol (`name`, `open`, `grab`, `close`).
    `open()` starts the raid (the same raid for the same `seed`), each `grab()` returns the
    next frame (uint8 RGB, (height, width, 3), C-contiguous) and `None` once the
    end-of-raid frame has been served (`finished` then turns True); `close()` stops it and
    is safe to call twice. The first frame shows the raid's start; every later grab first
    advances the game by one step (1/fps s) with the policy's action.

    The player is the autopilot (its per-run behaviour drawn from `seed`) unless `policy`
    is given; `request_extract()` starts the walk out at the next step whatever the policy
    says (a hotkey). Frames are not paced: the caller grabs at the frame rate it wants.
    """

    def __init__(
        self,
        seed: int = 0,
        config: SimConfig | None = None,
        autopilot: AutopilotConfig | None = None,
        size: tuple[int, int] = DEFAULT_SIZE,
        policy: Policy | None = None,
    ) -> None:
        self.seed = int(seed)
        self.config = config if config is not None else SimConfig()
        self.autopilot_config = autopilot if autopilot is not None else AutopilotConfig()
        self.size = size
        self._policy = policy
        self._renderer = Renderer(size, seed=self.seed % (2**31))
        self._game: Game | None = None
        self._autopilot: Autopilot | None = None
        self._closed = False
        self._extract_requested = False
        self.frames_served = 0  # frames returned by grab() since open()

    @property
    def name(self) -> str:
        """Label for logs and run metadata (the FrameSource protocol)."""
        return "sim"

    @property
    def fps(self) -> int:
        """Game frames per second (the rate the raid is meant to be grabbed at)."""
        return self.config.fps

    def open(self) -> None:
        """Start (or restart) the raid."""
        game_seq, pilot_seq = np.random.SeedSequence(self.seed).spawn(2)
        self._game = Game(self.config, seed=np.random.default_rng(game_seq))
        self._autopilot = Autopilot(self.autopilot_config, seed=np.random.default_rng(pilot_seq))
        self._closed = False
        self._extract_requested = False
        self.frames_served = 0
        log.debug("sim raid %d opened (autopilot %s)", self.seed, self._autopilot.params)

    def grab(self) -> NDArray[np.uint8] | None:
        """The next frame, or None when the raid is over and its last frame was served
        (or the source is closed)."""
        game = self._require_open()
        if self._closed:
            return None
        if self.frames_served > 0:
            if game.done:
                return None
            game.step(self._next_action(game.state))
            if game.done:
                log.debug("sim raid %d: %s, value %.0f at %.1f s", self.seed,
                          game.state.outcome, game.state.final_value, game.state.time_s)
        self.frames_served += 1
        return self._renderer.render(game.state)

    def close(self) -> None:
        """Stop serving frames (the state stays readable; `open()` starts the raid again)."""
        self._closed = True

    def request_extract(self) -> None:
        """Start the walk out at the next step (like the player's extract hotkey)."""
        self._extract_requested = True

    def _next_action(self, state: GameState) -> Action:
        assert self._autopilot is not None
        if self._extract_requested:
            return "extract"
        if self._policy is not None:
            return self._policy(state)
        return self._autopilot(state)

    def _require_open(self) -> Game:
        if self._game is None:
            raise RuntimeError("SimRaidSource.grab() before open()")
        return self._game

    # -- what the raid is doing -----------------------------------------------------------

    @property
    def state(self) -> GameState:
        """The state shown by the last frame."""
        return self._require_open().state

    @property
    def game(self) -> Game:
        """The raid itself (its state and random generator: the closed loop forks it)."""
        return self._require_open()

    @property
    def autopilot(self) -> Autopilot:
        """This raid's autopilot (its `params` are the run's hidden behaviour)."""
        if self._autopilot is None:
            raise RuntimeError("SimRaidSource not opened")
        return self._autopilot

    @property
    def finished(self) -> bool:
        """True once the end-of-raid frame has been served (grab() now returns None)."""
        return self._game is not None and self._game.done and self.frames_served > 0

    @property
    def done(self) -> bool:
        """True once the raid has ended (its last frame may still be unserved)."""
        return self._game is not None and self._game.done

    @property
    def outcome(self) -> Outcome | None:
        """"extracted" or "died" once the raid has ended, else None."""
        return self._game.state.outcome if self._game is not None else None

    @property
    def final_value(self) -> float | None:
        """The banked loot (0 if died) once the raid has ended, else None."""
        return self._game.state.final_value if self._game is not None else None

    @property
    def extract_step(self) -> int | None:
        """The step at which the walk out started, or None."""
        return self._game.state.extract_step if self._game is not None else None

    @property
    def extract_time_s(self) -> float | None:
        """Game time (s) of the extract decision, or None if the player never extracted."""
        step = self.extract_step
        return None if step is None else step / self.config.fps

    def truth(self, n: int = 512, seed: int | None = None, own_policy: bool = False) -> Truth:
        """Monte-Carlo ground truth of the current state (see `truth.evaluate`).

        `own_policy` rolls "stay" out with this run's autopilot parameters instead of the
        autopilot prior. The default seed is derived from the raid's seed and the step, so
        the same raid gives the same truth.
        """
        state = self.state
        if seed is None:
            seed = int(np.random.SeedSequence([self.seed, state.step]).generate_state(1)[0])
        policy = self.autopilot.params if own_policy else None
        return evaluate(state, n=n, seed=seed, autopilot=self.autopilot_config, policy=policy)
