import numpy as np
import pytest
import torch

from app.core.errors import CheckpointCorruptError, CheckpointMismatchError
from app.core.model.encoder import (
    EncoderConfig,
    FrameEncoder,
    encoder_id_of,
    load_encoder,
    save_encoder,
)

SMALL = EncoderConfig(latent_dim=32, height=45, width=80)


@pytest.fixture(scope="module")
def small_encoder():
    model, info = load_encoder(config=SMALL, search_bundled=False)
    return model, info


def test_output_shape_dtype_both_layouts(small_encoder):
    model, _ = small_encoder
    frames = torch.randint(0, 256, (2, 45, 80, 3), dtype=torch.uint8)
    with torch.no_grad():
        z_hwc = model(frames)
        z_chw = model(frames.permute(0, 3, 1, 2).contiguous())
    assert z_hwc.shape == (2, 32) and z_hwc.dtype == torch.float32
    torch.testing.assert_close(z_hwc, z_chw)
    assert (z_hwc >= 0).all()  # ReLU at the end


def test_default_config_is_resnet34_at_400x225():
    cfg = EncoderConfig()
    assert (cfg.latent_dim, cfg.height, cfg.width) == (512, 225, 400)
    model = FrameEncoder(cfg)
    n_trunk = sum(p.numel() for p in model.trunk.parameters())
    assert 21_000_000 < n_trunk < 21_400_000  # ResNet-34 without fc: 21.28 M


def test_rejects_wrong_input(small_encoder):
    model, _ = small_encoder
    with pytest.raises(ValueError, match="uint8"):
        model(torch.zeros(1, 45, 80, 3))
    with pytest.raises(ValueError, match=r"\[B, 45, 80, 3\]"):
        model(torch.zeros(1, 46, 80, 3, dtype=torch.uint8))
    with pytest.raises(ValueError):
        model(torch.zeros(45, 80, 3, dtype=torch.uint8))


def test_random_init_is_seeded_and_reported(small_encoder):
    model, info = small_encoder
    again, info2 = load_encoder(config=SMALL, search_bundled=False)
    assert info.source == "random" and not info.pretrained
    assert "NO PRETRAINED" in info.message
    assert info.encoder_id == info2.encoder_id == encoder_id_of(again)
    assert len(info.encoder_id) == 16


def test_encoder_id_changes_with_weights(small_encoder):
    model, info = small_encoder
    other = FrameEncoder(SMALL)
    with torch.no_grad():
        other.load_state_dict(model.state_dict())
        other.proj[0].bias[0] += 1e-3
    assert encoder_id_of(other) != info.encoder_id


def test_save_and_load_file_round_trip(tmp_path, small_encoder):
    model, info = small_encoder
    path = save_encoder(tmp_path / "enc.safetensors", model)
    loaded, info2 = load_encoder(path, config=SMALL)
    assert info2.source == "file" and info2.pretrained
    assert info2.encoder_id == info.encoder_id
    frames = np.random.default_rng(0).integers(0, 256, (1, 45, 80, 3), dtype=np.uint8)
    np.testing.assert_array_equal(loaded.encode(frames), model.encode(frames))


def test_corrupt_encoder_file_is_refused(tmp_path, small_encoder):
    model, _ = small_encoder
    path = save_encoder(tmp_path / "enc.safetensors", model)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # flip bits inside the tensor data
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointCorruptError, match="content hash"):
        load_encoder(path, config=SMALL)


def test_wrong_size_encoder_file_is_refused(tmp_path, small_encoder):
    model, _ = small_encoder
    path = save_encoder(tmp_path / "enc.safetensors", model)
    with pytest.raises(CheckpointMismatchError):
        load_encoder(path, config=EncoderConfig(latent_dim=64, height=45, width=80))


def test_torchvision_cache_names_map_onto_trunk(tmp_path, monkeypatch):
    import torchvision

    from app.core.model import encoder as enc_mod

    reference = torchvision.models.resnet34(weights=None)
    cache = tmp_path / "hub"
    (cache / "checkpoints").mkdir(parents=True)
    torch.save(reference.state_dict(), cache / "checkpoints" / enc_mod.TORCHVISION_FILE)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(cache))
    monkeypatch.setattr(enc_mod.paths, "bundled_models_dir", lambda: tmp_path / "none")
    model, info = load_encoder(config=SMALL)
    assert info.source == "torchvision-cache" and info.pretrained
    torch.testing.assert_close(model.trunk[0].weight, reference.conv1.weight)
    torch.testing.assert_close(model.trunk[7][2].conv2.weight, reference.layer4[2].conv2.weight)
