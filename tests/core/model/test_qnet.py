import pytest
import torch

from app.core.model.qnet import QNetConfig, TemporalQNet


def test_default_architecture_and_shapes():
    cfg = QNetConfig()
    assert (cfg.latent_dim, cfg.seq_len, cfg.hidden, cfg.num_layers) == (512, 32, 256, 2)
    net = TemporalQNet(cfg).eval()
    assert net.seq.bidirectional and net.seq.num_layers == 2 and net.seq.hidden_size == 256
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
