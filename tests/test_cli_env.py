import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = "import app.cli, os, sys; print(os.environ['OMP_WAIT_POLICY'], 'torch' in sys.modules)"


def _run(env_extra: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"} | env_extra
    out = subprocess.run([sys.executable, "-c", CODE], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_openmp_threads_sleep_unless_the_player_says_otherwise():
    # set before torch is imported (importing the CLI must not import torch)
    assert _run({}) == "PASSIVE False"
    assert _run({"OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE False"
