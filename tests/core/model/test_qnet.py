import pytest
import torch

from app.core.model.qnet import QNetConfig, TemporalQNet


def test_default_architecture_and_shapes():
    cfg = QNetConfig()
    assert (cfg.latent_dim, cfg.seq_len, cfg.hidden, cfg.num_layers) == (512, 32, 64, 1)
    net = TemporalQNet(cfg).eval()
    assert net.seq.bidirectional and net.seq.num_layers == 1 and net.seq.hidden_size == 64
    q = net(torch.randn(3, 32, 512))
    assert q.shape == (3, 2, 16) and q.dtype == torch.float32
    assert torch.isfinite(q).all()


def test_attention_pool_weights_sum_to_one_over_time():
    net = TemporalQNet(QNetConfig(latent_dim=8, hidden=4, attn_dim=4, head_dim=8)).eval()
    h = torch.randn(2, 5, 8)
    w = torch.softmax(net.pool.score(h), dim=1)
    assert w.shape == (2, 5, 1)
    torch.testing.assert_close(w.sum(dim=1), torch.ones(2, 1))


def test_any_window_length_and_batch_independence():
    net = TemporalQNet(QNetConfig(latent_dim=16, hidden=8, attn_dim=8, head_dim=16)).eval()
    z = torch.randn(4, 7, 16)
    with torch.no_grad():
        full = net(z)
        one = net(z[1:2])
    torch.testing.assert_close(full[1:2], one, rtol=1e-5, atol=1e-5)


def test_transformer_variant_same_output_contract():
    cfg = QNetConfig(latent_dim=16, hidden=8, attn_dim=8, head_dim=16, arch="transformer", heads=2)
    q = TemporalQNet(cfg).eval()(torch.randn(2, 32, 16))
    assert q.shape == (2, 2, 16)


@pytest.mark.parametrize("shape", [(32, 512), (1, 32, 256), (1, 0, 512)])
def test_rejects_wrong_shapes(shape):
    net = TemporalQNet().eval()
    with pytest.raises(ValueError):
        net(torch.randn(*shape))


def test_config_round_trip_and_unknown_fields():
    cfg = QNetConfig(hidden=64, dropout=0.0)
    assert QNetConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown"):
        QNetConfig.from_dict({**cfg.to_dict(), "layers": 3})
    with pytest.raises(ValueError, match="arch"):
        TemporalQNet(QNetConfig(arch="lstm"))  # type: ignore[arg-type]


def test_input_standardisation_is_fitted_floored_and_applied():
    torch.manual_seed(0)
    cfg = QNetConfig(latent_dim=4, hidden=8, num_layers=1, attn_dim=8, head_dim=8)
    net = TemporalQNet(cfg).eval()
    assert torch.equal(net.input_mean, torch.zeros(4)) and torch.equal(net.input_std, torch.ones(4))
    frames = torch.randn(500, 4) * torch.tensor([0.02, 0.01, 0.03, 0.0]) + torch.tensor([0.5, -1.0, 0.0, 7.0])
    net.set_input_stats(frames)
    assert torch.allclose(net.input_mean, frames.mean(0), atol=1e-6)
    assert torch.allclose(net.input_std[:3], frames.std(0)[:3], rtol=1e-5)
    # the constant dimension gets 0.1 × the median spread, not ~0 (which would blow noise up)
    assert net.input_std[3] == pytest.approx(0.1 * float(frames.std(0).median()), rel=1e-5)
    # standardising is the first thing forward does: an affine change of the inputs that the
    # stats follow leaves the output unchanged
    z = frames[:64].view(2, 32, 4)
    out = net(z)
    twin = TemporalQNet(cfg).eval()
    twin.load_state_dict(net.state_dict())
    twin.set_input_stats(frames * 3.0 + 1.0)
    assert torch.allclose(twin(z * 3.0 + 1.0), out, atol=1e-5)
    assert not torch.allclose(twin(z), out, atol=1e-3)


@pytest.mark.parametrize("frames", [torch.zeros(1, 4), torch.zeros(5, 3), torch.zeros(5)])
def test_input_stats_reject_wrong_shapes(frames):
    net = TemporalQNet(QNetConfig(latent_dim=4, hidden=8, num_layers=1, attn_dim=8, head_dim=8))
    with pytest.raises(ValueError, match="latents"):
        net.set_input_stats(frames)
