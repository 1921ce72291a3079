import json

import pytest
import torch
from safetensors.torch import save_file

from app.core.errors import CheckpointCorruptError, CheckpointError, CheckpointMismatchError
from app.core.model.checkpoint import (
    load_checkpoint,
    read_metadata,
    read_tensors,
    save_checkpoint,
    tensor_digest,
    write_tensors,
)
from app.core.model.qnet import QNetConfig, TemporalQNet

CFG = QNetConfig(latent_dim=16, hidden=8, attn_dim=8, head_dim=16)


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(1)
    model = TemporalQNet(CFG)
    path = save_checkpoint(
        tmp_path / "q.safetensors", model, encoder_id="abc123", value_scale=250.0, epoch=7, val_loss=0.125
    )
    return model, path


def test_round_trip_is_bit_exact_and_rebuilds_from_file(saved):
    model, path = saved
    loaded, meta = load_checkpoint(path, expected_encoder_id="abc123")
    assert meta.config == CFG
    assert (meta.encoder_id, meta.value_scale, meta.epoch, meta.val_loss) == ("abc123", 250.0, 7, 0.125)
    assert meta.app_version and meta.created_at and len(meta.content_sha256) == 64
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k]), k
    assert not loaded.training
    z = torch.randn(2, 32, 16)
    model.eval()
    assert torch.equal(model(z), loaded(z))


def test_no_pickle_in_file(saved):
    _, path = saved
    head = path.read_bytes()[:16]
    assert not head.startswith(b"\x80") and not head.startswith(b"PK")  # not pickle, not zip
    assert read_metadata(path)["format"] == "arcx-qnet"


def test_digest_sees_every_field():
    a = {"w": torch.zeros(2, 2)}
    assert tensor_digest(a) != tensor_digest({"w": torch.zeros(4)})  # shape
    assert tensor_digest(a) != tensor_digest({"w": torch.zeros(2, 2, dtype=torch.float64)})  # dtype
    assert tensor_digest(a) != tensor_digest({"v": torch.zeros(2, 2)})  # name
    assert tensor_digest(a) == tensor_digest({"w": torch.zeros(2, 2)})


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.safetensors")


def test_truncated_file(saved):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointCorruptError, match="truncated"):
        load_checkpoint(path)


def test_garbage_file(tmp_path):
    p = tmp_path / "junk.safetensors"
    p.write_bytes(b"this is not a checkpoint at all")
    with pytest.raises(CheckpointCorruptError):
        load_checkpoint(p)


def test_flipped_bit_in_tensor_data(saved):
    _, path = saved
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointCorruptError, match="content hash"):
        load_checkpoint(path)


def test_foreign_safetensors_file(tmp_path):
    p = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(3)}, str(p), metadata={"format": "pt"})
    with pytest.raises(CheckpointMismatchError, match="content hash"):
        load_checkpoint(p)
    write_tensors(p, {"w": torch.zeros(3)}, {"format": "someone-else"})
    with pytest.raises(CheckpointMismatchError, match="not an ArcX Q-net"):
        load_checkpoint(p)


def test_wrong_architecture(saved, tmp_path):
    model, path = saved
    _, meta = read_tensors(path)
    # the header claims a bigger net than the tensors hold
    meta["config"] = json.dumps({**CFG.to_dict(), "hidden": 12})
    p = write_tensors(tmp_path / "arch.safetensors", model.state_dict(), meta)
    with pytest.raises(CheckpointMismatchError, match="wrong tensor shapes"):
        load_checkpoint(p)


def test_wrong_shapes_missing_tensor(saved, tmp_path):
    model, path = saved
    _, meta = read_tensors(path)
    state = dict(model.state_dict())
    state.pop("norm.weight")
    p = write_tensors(tmp_path / "miss.safetensors", state, meta)
    with pytest.raises(CheckpointMismatchError, match="missing"):
        load_checkpoint(p)


def test_encoder_mismatch(saved):
    _, path = saved
    with pytest.raises(CheckpointMismatchError, match="encoder abc123"):
        load_checkpoint(path, expected_encoder_id="other")


def test_newer_format_and_bad_metadata(saved, tmp_path):
    model, path = saved
    _, meta = read_tensors(path)
    p = write_tensors(tmp_path / "new.safetensors", model.state_dict(), {**meta, "format_version": "99"})
    with pytest.raises(CheckpointMismatchError, match="newer ArcX"):
        load_checkpoint(p)
    p = write_tensors(tmp_path / "bad.safetensors", model.state_dict(), {**meta, "value_scale": "-1"})
    with pytest.raises(CheckpointMismatchError, match="value scale"):
        load_checkpoint(p)
    bad = {k: v for k, v in meta.items() if k != "epoch"}
    p = write_tensors(tmp_path / "lack.safetensors", model.state_dict(), bad)
    with pytest.raises(CheckpointMismatchError, match="epoch"):
        load_checkpoint(p)


def test_atomic_write_leaves_no_temp_files(saved):
    _, path = saved
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_input_stats_are_saved_and_a_version_1_file_loads_with_the_identity(saved, tmp_path):
    model, path = saved
    model.set_input_stats(torch.randn(100, 16) * 0.02 + 0.3)
    p = save_checkpoint(tmp_path / "std.safetensors", model, encoder_id="abc123", value_scale=1.0, epoch=1,
                        val_loss=0.0)
    loaded, _ = load_checkpoint(p)
    assert torch.equal(loaded.input_mean, model.input_mean) and torch.equal(loaded.input_std, model.input_std)
    # a file from before the standardisation (format 1) has no stats: it was trained on raw latents
    _, meta = read_tensors(p)
    old = {k: v for k, v in model.state_dict().items() if not k.startswith("input_")}
    p1 = write_tensors(tmp_path / "v1.safetensors", old, {**meta, "format_version": "1"})
    loaded, _ = load_checkpoint(p1)
    assert torch.equal(loaded.input_mean, torch.zeros(16)) and torch.equal(loaded.input_std, torch.ones(16))
    # a format-2 file without them is damaged, not old
    p2 = write_tensors(tmp_path / "v2.safetensors", old, meta)
    with pytest.raises(CheckpointMismatchError, match="missing"):
        load_checkpoint(p2)


def _edit_header(path, old: bytes, new: bytes):
    """Change bytes inside the safetensors JSON header, keeping its length (as a bit flip would)."""
    assert len(old) == len(new)
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = raw[8 : 8 + n]
    assert header.count(old) == 1, header
    path.write_bytes(raw[:8] + header.replace(old, new) + raw[8 + n :])


def test_a_changed_digit_of_the_value_scale_is_caught(tmp_path):
    model = TemporalQNet(CFG)
    p = save_checkpoint(tmp_path / "q.safetensors", model, encoder_id="abc123", value_scale=6077.9, epoch=1,
                        val_loss=0.5)
    _edit_header(p, b'"6077.9"', b'"7077.9"')
    assert read_metadata(p)["value_scale"] == "7077.9"  # the header still parses
    with pytest.raises(CheckpointCorruptError, match="metadata .* does not match its header hash"):
        load_checkpoint(p)


def test_a_changed_config_is_caught(saved):
    _, path = saved
    _edit_header(path, b'\\"hidden\\": 8', b'\\"hidden\\": 9')
    with pytest.raises(CheckpointCorruptError, match="header hash"):
        load_checkpoint(path)


def test_format_3_without_its_header_hash_is_refused(saved, tmp_path):
    model, path = saved
    _, meta = read_tensors(path)
    assert meta["format_version"] == "3"
    plain = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(plain, str(tmp_path / "nohash.safetensors"), metadata={k: v for k, v in meta.items() if k != "header_sha256"})
    with pytest.raises(CheckpointCorruptError, match="lacks its header hash"):
        load_checkpoint(tmp_path / "nohash.safetensors")


@pytest.mark.parametrize("scale", ["1e308", "inf", "nan", "0", "1e-300"])
def test_absurd_value_scales_are_refused(saved, tmp_path, scale):
    model, path = saved
    _, meta = read_tensors(path)
    p = write_tensors(tmp_path / "s.safetensors", model.state_dict(), {**meta, "value_scale": scale})
    with pytest.raises(CheckpointMismatchError, match="invalid value scale"):
        load_checkpoint(p)


def test_a_version_2_file_without_a_header_hash_still_loads_and_is_range_checked(saved, tmp_path):
    model, path = saved
    _, meta = read_tensors(path)
    old = {k: v for k, v in meta.items() if k != "header_sha256"}
    plain = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(plain, str(tmp_path / "v2.safetensors"), metadata={**old, "format_version": "2"})
    loaded, m = load_checkpoint(tmp_path / "v2.safetensors")
    assert m.value_scale == 250.0 and torch.equal(loaded.head[-1].weight, model.head[-1].weight)
    save_file(plain, str(tmp_path / "v2big.safetensors"),
              metadata={**old, "format_version": "2", "value_scale": "1e308"})
    with pytest.raises(CheckpointMismatchError, match="invalid value scale"):
        load_checkpoint(tmp_path / "v2big.safetensors")


def test_a_header_asking_for_absurd_sizes_is_refused_before_allocating(saved, tmp_path, monkeypatch):
    model, path = saved
    _, meta = read_tensors(path)
    huge = json.dumps({**CFG.to_dict(), "hidden": 10**7}, sort_keys=True)
    p = write_tensors(tmp_path / "huge.safetensors", model.state_dict(), {**meta, "config": huge})
    with pytest.raises(CheckpointMismatchError, match="hidden=10000000; this ArcX accepts 1 to 4096"):
        load_checkpoint(p)
    # within the limits but not what the file holds: refused from shapes alone, nothing built
    big = json.dumps({**CFG.to_dict(), "hidden": 4096}, sort_keys=True)
    p = write_tensors(tmp_path / "big.safetensors", model.state_dict(), {**meta, "config": big})
    import app.core.model.checkpoint as ckpt

    built = []
    real = ckpt.TemporalQNet

    def spy(config):
        model = real(config)
        # not torch.get_default_device(): before torch 2.8 it ignores `with torch.device()`
        built.append(next(model.parameters()).device)
        return model

    monkeypatch.setattr(ckpt, "TemporalQNet", spy)
    with pytest.raises(CheckpointMismatchError, match="wrong tensor shapes"):
        load_checkpoint(p)
    assert [d.type for d in built] == ["meta"]  # only the shape-only build ran


def test_deeply_nested_config_is_a_clear_error(saved, tmp_path):
    model, path = saved
    _, meta = read_tensors(path)
    p = write_tensors(tmp_path / "deep.safetensors", model.state_dict(), {**meta, "config": "[" * 100_000})
    with pytest.raises(CheckpointMismatchError, match="unreadable metadata"):
        load_checkpoint(p)
