"""The training's plain-data types load without torch (the lean desktop app imports them)."""

from __future__ import annotations

import subprocess
import sys

from app.core.model.qnet import QNetConfig as QNetConfigFromQnet
from app.core.model.qnet_config import QNetConfig
from app.core.training import trainer, types


def test_trainer_reexports_the_same_types() -> None:
    assert trainer.TrainConfig is types.TrainConfig
    assert trainer.TrainResult is types.TrainResult
    assert trainer.TrainProgress is types.TrainProgress
    assert QNetConfigFromQnet is QNetConfig


def test_types_and_verdict_import_without_torch() -> None:
    code = (
        "import sys\n"
        "import app.core.training.types, app.core.training.verdict, app.core.model.qnet_config\n"
        "cfg = app.core.training.types.TrainConfig(qnet=app.core.model.qnet_config.QNetConfig(hidden=8))\n"
        "assert cfg.to_dict()['qnet']['hidden'] == 8\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
