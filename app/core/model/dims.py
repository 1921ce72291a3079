"""The model's fixed sizes, defined once and imported everywhere else.

Kept free of torch so that the ring, the dataset and the simulator can use them without
loading it. The quantile levels are not a constant here: they are
`app.core.model.ev.quantile_midpoints(NUM_QUANTILES)`.
"""

from __future__ import annotations

WINDOW = 32
"""L: frame latents in one decision window (4 s of history at 8 FPS)"""
FRAME_STEP_S = 0.125
"""seconds between two slots of a window (1 / 8 FPS): a window spans WINDOW × this of play
whatever the capture rate (`ring.time_window_rows`)"""
NUM_QUANTILES = 16
"""K: quantiles the Q-net predicts per action, at the midpoints τ_i = (2i+1)/2K"""
