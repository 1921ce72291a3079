"""The demo bench: a simulated extraction game with known truth, built on core.

- `sim`: the simulated raid (dynamics, autopilot, frames, Monte-Carlo truth) and
  `SimRaidSource`, one raid as a capture `FrameSource`.
- `pipeline`: simulated raids → recorded runs (+ truth) → a trained Q-net → its score.
- `evaluation`: scores a Q-net against the truth of held-out demo runs.
- `hooks`: what the demo plugs into the live app (the `sim` capture source, simulated
  frames for the encoder self-check); the app's entry points pass them to core.

Core never imports this package (an import-linter contract checks it): anything here
reaches the engine as an argument.
"""
