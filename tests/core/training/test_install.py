"""Installing a trained model (app/core/training/install.py): verified, atomic, keeps the previous."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.core.data.dataset import DecisionDataset, RunData
from app.core.errors import CheckpointError
from app.core.model.checkpoint import load_checkpoint, read_metadata
from app.core.model.qnet import QNetConfig, TemporalQNet
from app.core.training.install import install_model, previous_path, verify_checkpoint

D, L = 4, 3
CFG = QNetConfig(latent_dim=D, seq_len=L, hidden=4, num_layers=1, attn_dim=4, head_dim=4, num_quantiles=4, dropout=0.0)


@pytest.fixture(scope="module")
def ds() -> DecisionDataset:
    rng = np.random.default_rng(0)
    runs = [
        RunData(f"run-{i}", "enc", rng.standard_normal((L, D)).astype(np.float16), np.array([L - 1]),
                np.array([0], dtype=np.int8), 10.0 * i)
        for i in range(4)
    ]
    return DecisionDataset(runs, window=L)


def model(seed: int) -> TemporalQNet:
    torch.manual_seed(seed)
    return TemporalQNet(CFG).eval()


def test_installs_and_keeps_the_previous(tmp_path, ds):
    out = tmp_path / "qnet.safetensors"
    assert install_model(model(0), out, ds, value_scale=2.0, epoch=3, val_loss=0.5, extra={"k": "v"}) == (out, None)
    _, meta = load_checkpoint(out, expected_encoder_id="enc")
    assert (meta.epoch, meta.value_scale, meta.extra["k"]) == (3, 2.0, "v")
    first = read_metadata(out)["content_sha256"]
    kept = install_model(model(1), out, ds, value_scale=2.0, epoch=4, val_loss=0.4, extra={})[1]
    assert kept == previous_path(out) == tmp_path / "qnet.prev.safetensors"
    assert read_metadata(kept)["content_sha256"] == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["qnet.prev.safetensors", "qnet.safetensors"]


def test_verify_rejects_a_checkpoint_of_another_model_or_scale(tmp_path, ds):
    out = tmp_path / "q.safetensors"
    install_model(model(0), out, ds, value_scale=2.0, epoch=1, val_loss=0.5, extra={})
    verify_checkpoint(out, model(0), ds, 2.0)
    with pytest.raises(CheckpointError, match="does not reproduce"):
        verify_checkpoint(out, model(1), ds, 2.0)
    with pytest.raises(CheckpointError, match="metadata differs"):
        verify_checkpoint(out, model(0), ds, 3.0)


def test_a_model_that_does_not_load_never_becomes_the_previous(tmp_path, ds):
    out = tmp_path / "qnet.safetensors"
    install_model(model(0), out, ds, value_scale=2.0, epoch=1, val_loss=0.5, extra={})
    install_model(model(1), out, ds, value_scale=2.0, epoch=2, val_loss=0.4, extra={})
    good_prev = previous_path(out).read_bytes()
    out.write_bytes(out.read_bytes()[:300])  # truncated
    assert install_model(model(2), out, ds, value_scale=2.0, epoch=3, val_loss=0.3, extra={})[1] == previous_path(out)
    assert previous_path(out).read_bytes() == good_prev  # the good roll-back copy is kept
    assert load_checkpoint(out)[1].epoch == 3


def test_a_corrupt_model_without_a_previous_leaves_no_previous(tmp_path, ds):
    out = tmp_path / "qnet.safetensors"
    out.write_bytes(b"\0" * 64)
    assert install_model(model(0), out, ds, value_scale=2.0, epoch=1, val_loss=0.5, extra={}) == (out, None)
    assert not previous_path(out).exists()


def test_stale_temp_files_of_a_crashed_save_are_removed(tmp_path, ds):
    import os
    import time

    out = tmp_path / "qnet.safetensors"
    stale = [tmp_path / ".qnet-abc123.safetensors", tmp_path / ".qnet.prev-def456.tmp"]
    fresh = tmp_path / ".qnet-zzz999.safetensors"  # maybe another process saving right now
    for p in [*stale, fresh]:
        p.write_bytes(b"")
    old = time.time() - 3600
    for p in stale:
        os.utime(p, (old, old))
    install_model(model(0), out, ds, value_scale=2.0, epoch=1, val_loss=0.5, extra={})
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, "qnet.safetensors"]


def test_a_full_disk_while_saving_is_one_clear_error_and_keeps_the_model(tmp_path, ds):
    from app.core.atomic import WriteError
    from tests.mounts import fill, tmpfs

    with tmpfs(tmp_path, "2m") as disk:
        out = disk / "qnet.safetensors"
        install_model(model(0), out, ds, value_scale=2.0, epoch=1, val_loss=0.5, extra={})
        before = out.read_bytes()
        fill(disk)
        with pytest.raises(WriteError, match="could not save the trained model .* unchanged: the disk is full"):
            install_model(model(1), out, ds, value_scale=2.0, epoch=2, val_loss=0.4, extra={})
        assert out.read_bytes() == before
        assert sorted(p.name for p in disk.iterdir()) == ["filler.bin", "qnet.safetensors"]
