"""The README's demo screenshot: the overlay at an EXTRACT moment that the truth agrees with.

    python scripts/demo_shot.py --model DEMO_ROOT/qnet.safetensors [--seed 5000] [--out docs/screenshots/demo.png]

Plays simulated raids (seeds from --seed on) at the demo's frame size, encodes every frame
with the demo's encoder, and runs the trained model through the engine's own `Adviser`
(neutral, hysteresis as shipped) at every decision. At the first moment the shown advice
turns to EXTRACT it asks the simulator's Monte-Carlo truth (2,048 rollouts per action,
playing on as that raid's own player would): if extracting there really is better, that
frame, drawn at 1280×720, gets the overlay the player saw (the compact panel and the
detailed one); otherwise it tries the next raid. It prints the model's and the truth's
numbers, which the README's caption quotes. Renders offscreen: no X server needed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--seed", type=int, default=5000)
    p.add_argument("--raids", type=int, default=12, help="raids to try")
    p.add_argument("--encoder", default="ort-int8", help="encoder path (the demo's choice; auto may pick another)")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "demo.png")
    args = p.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


    from app.core.model.checkpoint import load_checkpoint
    from app.core.model.ev import Adviser, Hysteresis
    from app.demo.evaluation import predict
    from app.demo.pipeline import GenConfig, play_live_raids, prepare_encoder
    from app.demo.sim import evaluate_many
    from app.demo.sim.render import DEFAULT_SIZE

    model, meta = load_checkpoint(args.model)
    backend, encoder_id, why = prepare_encoder(DEFAULT_SIZE, args.encoder)
    print(f"encoder: {why}")
    if encoder_id != meta.encoder_id:
        print(f"the model was trained on encoder {meta.encoder_id}, this encoder is {encoder_id}")
        return 2
    gen = GenConfig(size=DEFAULT_SIZE, branch_samples=0)
    adviser = Adviser("neutral", Hysteresis())
    for seed in range(args.seed, args.seed + args.raids):
        windows, raids = play_live_raids(1, seed=seed, encoder=backend, config=gen)
        if not raids:
            continue
        raid, q = raids[0], predict(model, windows[0], meta.value_scale).q
        adviser.reset()
        for i in range(len(raid.t_sec)):
            est = adviser.tick(q[i], float(raid.t_sec[i]))
            if est.advice != "extract":
                continue
            truth = evaluate_many([raid.states[i]], n=2048, seed=seed, autopilot=gen.autopilot, policy=raid.player)[0]
            s = raid.states[i]
            print(f"raid {seed} at {raid.t_sec[i]:.1f} s (loot {s.loot:.0f}, threat {s.threat:.2f}, "
                  f"{s.enemies} enemies): model EV stay {est.ev_stay:.0f} / extract {est.ev_extract:.0f}; "
                  f"truth (own habit, 2,048 rollouts) stay {truth.ev_stay:.0f} / extract {truth.ev_extract:.0f}")
            if truth.ev_extract > truth.ev_stay:
                shoot(args.out, s, est, seed)
                print(f"wrote {args.out}")
                return 0
            break  # the truth disagrees: next raid
    print("no raid where the advice said EXTRACT and the truth agreed")
    return 1


def shoot(out: Path, state, est, seed: int) -> None:  # noqa: ANN001
    import numpy as np
    from PyQt6.QtGui import QImage, QPainter
    from PyQt6.QtWidgets import QApplication

    from app.core.config import Settings
    from app.demo.sim.render import Renderer
    from app.ui import overlay as ov
    from app.ui.overlay.window import READABLE_OPACITY

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setStyle("Fusion")
    frame = np.ascontiguousarray(Renderer((720, 1280), seed=seed % (2**31)).render(state))
    img = QImage(frame.data, 1280, 720, 3 * 1280, QImage.Format.Format_RGB888).copy()
    opacity = max(Settings().overlay.opacity, READABLE_OPACITY)
    p = QPainter(img)
    p.setOpacity(opacity)
    y = 24
    for compact in (True, False):
        panel = ov.render_view_image(
            ov.overlay_view(ov.OverlayMode.LIVE, est, recording=True, compact=compact, unit="loot"), 1.0
        )
        p.drawImage(1280 - panel.width() - 24, y, panel)
        y += panel.height() + 16
    p.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(str(out))


if __name__ == "__main__":
    sys.exit(main())
