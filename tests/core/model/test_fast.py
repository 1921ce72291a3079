"""Encoder fast paths agree with the fp32 eager encoder (small config: quick)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core.capture.synthetic import hud_frames
from app.core.model.encoder import EncoderConfig, load_encoder
from app.core.model.fast import (
    AoInt8Backend,
    Int8Recipe,
    OrtBackend,
    TorchBackend,
    calibrate_ao_int8,
    export_onnx,
    quantize_onnx_int8,
)
from app.core.model.runtime import FAITHFUL_COSINE, cosine_rows

SMALL = EncoderConfig(latent_dim=32, height=64, width=112)


@pytest.fixture(scope="module")
def encoder():
    model, _ = load_encoder(config=SMALL, search_bundled=False)
    return model


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return hud_frames(12, width=SMALL.width, height=SMALL.height, seed=3)


@pytest.fixture(scope="module")
def reference(encoder, frames) -> np.ndarray:
    return TorchBackend(encoder).encode(frames)


def test_cosine_rows_known_values() -> None:
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]], dtype=np.float32)
    b = np.array([[2.0, 0.0], [-1.0, -1.0], [3.0, 0.0]], dtype=np.float32)
    np.testing.assert_allclose(cosine_rows(a, b), [1.0, -1.0, 0.0], atol=1e-12)


def test_torch_backends(encoder, frames, reference) -> None:
    fp32 = TorchBackend(encoder)
    assert fp32.name == "fp32"
    z = fp32.encode(frames[0])  # one [H, W, 3] frame is a batch of one
    assert z.shape == (1, SMALL.latent_dim) and z.dtype == np.float32
    cl = TorchBackend(encoder, channels_last=True)
    assert cl.name == "channels-last"
    assert cosine_rows(cl.encode(frames), reference).min() > 0.9999
    with pytest.raises(ValueError):
        fp32.encode(np.zeros((2, 64, 112), dtype=np.uint8))
    with pytest.raises(ValueError):
        fp32.encode(np.zeros((1, 64, 112, 3), dtype=np.float32))  # type: ignore[arg-type]


def test_onnx_fp32_and_int8(encoder, frames, reference, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    onnx_path = export_onnx(encoder, tmp_path / "enc.onnx")
    ort_fp32 = OrtBackend(onnx_path, name="ort-fp32")
    z = ort_fp32.encode(frames)  # dynamic batch
    assert z.shape == reference.shape
    assert cosine_rows(z, reference).min() > 0.99999
    int8_path = quantize_onnx_int8(onnx_path, tmp_path / "int8.onnx", hud_frames(8, width=112, height=64, seed=9))
    assert int8_path.stat().st_size < onnx_path.stat().st_size / 2  # weights are 1 byte now
    z8 = OrtBackend(int8_path, name="ort-int8").encode(frames)
    assert cosine_rows(z8, reference).min() >= FAITHFUL_COSINE
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_ao_int8_from_stored_observers(encoder, frames, reference, tmp_path: Path) -> None:
    from app.core.model.checkpoint import read_tensors, write_tensors

    observers = calibrate_ao_int8(encoder, hud_frames(8, width=112, height=64, seed=9))
    assert observers and all(".activation_post_process" in k or k.startswith("activation_post_process") for k in observers)
    path = write_tensors(tmp_path / "obs.safetensors", observers, {"format": "test"})
    loaded, _ = read_tensors(path)
    backend = AoInt8Backend(encoder, loaded)
    z = backend.encode(frames)
    assert z.shape == reference.shape
    assert cosine_rows(z, reference).min() >= FAITHFUL_COSINE
    with pytest.raises(ValueError, match="do not fit"):
        AoInt8Backend(encoder, {"activation_post_process_999.min_val": loaded[next(iter(loaded))]})


def test_int8_recipe_tags() -> None:
    assert Int8Recipe().tag == "qdq-pc-u8s8"  # the shipped ort-int8 layout
    assert Int8Recipe(quant_format="qoperator", per_channel=False, reduce_range=True).tag == "qop-pt-u8s8-rr"
    assert Int8Recipe(activations="s8").tag == "qdq-pc-s8s8" and Int8Recipe(weights="u8").tag == "qdq-pc-u8u8"


def test_other_int8_layouts_are_what_they_say_and_stay_faithful(encoder, frames, reference, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    import onnx

    fp32 = export_onnx(encoder, tmp_path / "enc.onnx")
    calib = hud_frames(8, width=112, height=64, seed=9)
    qop = quantize_onnx_int8(fp32, tmp_path / "qop.onnx", calib, Int8Recipe(quant_format="qoperator"))
    ops = {n.op_type for n in onnx.load(str(qop)).graph.node}
    assert "QLinearConv" in ops and "Conv" not in ops and "DequantizeLinear" in ops  # the output is fp32
    qdq = quantize_onnx_int8(fp32, tmp_path / "u8u8.onnx", calib, Int8Recipe(weights="u8", per_channel=False))
    model = onnx.load(str(qdq))
    weights = {i.name: i for i in model.graph.initializer}
    conv_w = [weights[n.input[0]] for n in model.graph.node
              if n.op_type == "DequantizeLinear" and n.input[0] in weights and len(weights[n.input[0]].dims) == 4]
    assert conv_w and all(w.data_type == onnx.TensorProto.UINT8 for w in conv_w)  # u8 weights, as asked
    for path in (qop, qdq):
        z = OrtBackend(path, name="ort-int8").encode(frames)
        assert cosine_rows(z, reference).min() >= FAITHFUL_COSINE


def test_openvino_on_the_int8_graph_is_faithful(encoder, frames, reference, tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    pytest.importorskip("onnxruntime")
    from app.core.model.fast import OpenVinoBackend

    fp32 = export_onnx(encoder, tmp_path / "enc.onnx")
    int8 = quantize_onnx_int8(fp32, tmp_path / "int8.onnx", hud_frames(8, width=112, height=64, seed=9))
    backend = OpenVinoBackend(int8, threads=1)
    assert backend.name == "ov-int8"
    z = backend.encode(frames)
    assert z.shape == reference.shape and z.dtype == np.float32
    assert cosine_rows(z, reference).min() >= FAITHFUL_COSINE
    np.testing.assert_array_equal(backend.encode(frames[0]), backend.encode(frames[:1]))  # one frame = batch of 1


def test_the_export_normalises_per_row_and_computes_what_the_plain_export_does(
    encoder, frames, tmp_path: Path
) -> None:
    pytest.importorskip("onnxruntime")
    import onnx
    from onnx import numpy_helper

    rows = export_onnx(encoder, tmp_path / "rows.onnx")
    plain = export_onnx(encoder, tmp_path / "plain.onnx", row_normalise=False)
    graph = onnx.load(str(rows)).graph
    consts = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    consts.update({n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in graph.node if n.op_type == "Constant"})
    sub = next(n for n in graph.node if n.op_type == "Sub")
    mean = next(consts[i] for i in sub.input if i in consts)
    assert mean.shape == (SMALL.width * 3,)  # one long span per image row, not [1, 3, 1, 1]
    np.testing.assert_allclose(mean[:6], np.tile(encoder.pixel_mean.reshape(3).numpy(), 2), rtol=1e-6)
    z_rows = OrtBackend(rows, name="ort-fp32").encode(frames)
    z_plain = OrtBackend(plain, name="ort-fp32").encode(frames)
    np.testing.assert_allclose(z_rows, z_plain, rtol=1e-4, atol=1e-5)
