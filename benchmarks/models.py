"""Encoder and Q-net latency on this machine, batch 1, eager fp32.

    python benchmarks/models.py [--runs 30] [--threads N]

Prints the median (and p90) of `--runs` timed calls after warm-up.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, summary, time_calls  # noqa: E402

from app.core.model.encoder import EncoderConfig, load_encoder
from app.core.model.qnet import QNetConfig, TemporalQNet


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    print(machine_line())
    cfg = EncoderConfig()
    encoder, info = load_encoder(config=cfg)
    print(f"encoder weights: {info.source} (id {info.encoder_id})")
    frame = torch.randint(0, 256, (1, cfg.height, cfg.width, 3), dtype=torch.uint8)
    qcfg = QNetConfig()
    qnet = TemporalQNet(qcfg).eval()
    window = torch.randn(1, qcfg.seq_len, qcfg.latent_dim)  # (1, L, D)

    with torch.no_grad():
        enc = time_calls(lambda: encoder(frame), args.runs)
        q = time_calls(lambda: qnet(window), args.runs)
    print(f"encoder  ResNet-34 fp32 eager, 1×{cfg.height}×{cfg.width}:  {summary(enc)}")
    print(f"q-net    BiGRU fp32 eager, 1×{qcfg.seq_len}×{qcfg.latent_dim}:           {summary(q)}")


if __name__ == "__main__":
    main()
