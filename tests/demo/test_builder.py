"""The demo's background build: its config as data, when a demo folder may be reused,
and a whole tiny build (record, train, score) in-process and in its child process."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from app.core.errors import ArcXError
from app.demo import builder
from app.demo.pipeline import DemoConfig
from tests.demo import tiny


def test_config_round_trips_through_json():
    for cfg in (DemoConfig(), tiny.config(), DemoConfig(seed=7, n_train_runs=4, branches=True)):
        data = builder.config_to_dict(cfg)
        assert json.loads(json.dumps(data)) == data
        assert builder.config_from_dict(data) == cfg


def test_fingerprint_ignores_threads_only():
    cfg = tiny.config()
    assert builder.fingerprint(replace(cfg, threads=2)) == builder.fingerprint(cfg)
    assert builder.fingerprint(replace(cfg, train=replace(cfg.train, num_threads=2))) == builder.fingerprint(cfg)
    assert builder.fingerprint(replace(cfg, seed=41)) != builder.fingerprint(cfg)
    assert builder.fingerprint(replace(cfg, n_train_runs=4)) != builder.fingerprint(cfg)
    assert builder.fingerprint(replace(cfg, train=replace(cfg.train, epochs=3))) != builder.fingerprint(cfg)


def fake_folder(root: Path, cfg: DemoConfig) -> Path:
    """A finished build's files without the work: run folders, a model, the record."""
    for sub, n in (("train", cfg.n_train_runs), ("heldout", cfg.n_heldout_runs)):
        for i in range(n):
            (root / sub / f"run{i}").mkdir(parents=True)
    model = root / "qnet.safetensors"
    model.write_bytes(b"weights")
    runs = {"train": [f"run{i}" for i in range(cfg.n_train_runs)],
            "heldout": [f"run{i}" for i in range(cfg.n_heldout_runs)]}
    builder.write_info(root, cfg, complete=True, encoder_id="enc", model=model, result={"x": 1},
                       report="the scores", runs=runs)
    return model


def test_reuse_plan_reuses_only_a_matching_finished_folder(tmp_path):
    cfg = tiny.config()
    assert not builder.reuse_plan(tmp_path, cfg).reuse  # nothing there
    model = fake_folder(tmp_path, cfg)
    plan = builder.reuse_plan(tmp_path, cfg)
    assert plan.reuse and plan.saved.encoder_id == "enc" and plan.saved.report == "the scores"
    assert plan.saved.model_path == model and plan.saved.result == {"x": 1}
    assert "3 training + 1 held-out raids" in plan.reason
    assert builder.reuse_plan(tmp_path, replace(cfg, threads=2)).reuse  # speed only

    fresh = builder.reuse_plan(tmp_path, cfg, fresh=True)
    assert not fresh.reuse and "--fresh" in fresh.reason
    other = builder.reuse_plan(tmp_path, replace(cfg, seed=1))
    assert not other.reuse and "other settings" in other.reason
    assert not builder.reuse_plan(tmp_path, replace(cfg, n_heldout_runs=2)).reuse
    # the seeds `arcx eval` reads are still there
    from app.demo.pipeline import training_seeds

    assert training_seeds(tmp_path) == [40, 41, 42]


def test_reuse_plan_refuses_a_changed_model_missing_runs_or_an_unfinished_build(tmp_path):
    cfg = tiny.config()
    model = fake_folder(tmp_path, cfg)
    model.write_bytes(b"other weights")
    assert "model" in builder.reuse_plan(tmp_path, cfg).reason
    fake_folder(tmp_path / "b", cfg)
    (tmp_path / "b" / "heldout" / "run0").rmdir()
    assert "heldout raids are missing" in builder.reuse_plan(tmp_path / "b", cfg).reason
    fake_folder(tmp_path / "c", cfg)
    builder.write_info(tmp_path / "c", cfg, complete=False)
    assert not builder.reuse_plan(tmp_path / "c", cfg).reuse
    (tmp_path / "c" / builder.DEMO_INFO).write_text(json.dumps({"seed": 40, "train_raids": 3, "heldout_raids": 1}))
    assert "older" in builder.reuse_plan(tmp_path / "c", cfg).reason  # what `--headless` wrote before


def test_resolve_encoder_factory():
    assert builder.resolve_encoder_factory(tiny.ENCODER) is tiny.encoder
    from app.demo.pipeline import prepare_encoder

    assert builder.resolve_encoder_factory(None) is prepare_encoder
    with pytest.raises(TypeError):
        builder.resolve_encoder_factory("tests.demo.tiny:ENCODER_ID")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One tiny build, in-process: what it reported, in order."""
    root = tmp_path_factory.mktemp("demo")
    events: list[tuple] = []
    ev = builder.BuildEvents(
        stage=lambda s, d, t, eta: events.append(("stage", s, d, t)),
        epoch=lambda p: events.append(("epoch", p.epoch, p.epochs)),
        model=lambda r, enc: events.append(("model", r, enc)),
        report=lambda text: events.append(("report", text)),
    )
    builder.build(root, tiny.config(), ev, encoder=tiny.ENCODER)
    return root, events


def test_build_hands_the_model_over_before_the_held_out_scoring(built):
    root, events = built
    kinds = [e[0] if e[0] != "stage" else e[1] for e in events]
    firsts = [kinds.index(k) for k in ("encoder", "generate", "train", "epoch", "model", "heldout", "score", "report")]
    assert firsts == sorted(firsts)
    assert ("stage", "generate", 3, 3) in events and ("epoch", 2, 2) in events
    _, result, enc = next(e for e in events if e[0] == "model")
    assert enc == tiny.ENCODER_ID and result.checkpoint_path == root / "qnet.safetensors"
    assert result.checkpoint_path.is_file() and result.stopped != "cancelled"
    report = events[-1][1]
    assert report.startswith("encoder: tiny pixel encoder") and "following the advice on 1 held-out raids" in report


def test_a_finished_build_is_reused_and_says_what_it_printed(built):
    root, events = built
    plan = builder.reuse_plan(root, tiny.config())
    assert plan.reuse, plan.reason
    assert plan.saved.encoder_id == tiny.ENCODER_ID and plan.saved.report == events[-1][1]
    assert builder.sha256_file(plan.saved.model_path) == json.loads((root / builder.DEMO_INFO).read_text())["model_sha256"]


def test_build_stops_when_cancelled(tmp_path):
    cancel = threading.Event()
    seen = []

    def stage(s, d, t, eta):
        seen.append((s, d))
        if s == "generate" and d == 1:
            cancel.set()

    with pytest.raises(builder.BuildCancelled):
        builder.build(tmp_path, tiny.config(), builder.BuildEvents(stage=stage), cancel=cancel, encoder=tiny.ENCODER)
    assert ("train", 0) not in seen
    assert not builder.reuse_plan(tmp_path, tiny.config()).reuse  # never reused half made


def test_build_in_child_reports_over_the_pipes_and_stops_on_cancel(tmp_path):
    """The real spawned process: progress, the model and the report arrive here; a
    second build is cancelled once it records and the child is gone afterwards."""
    got = []
    pids = []
    ev = builder.BuildEvents(
        stage=lambda s, d, t, eta: got.append(s), epoch=lambda p: got.append("epoch"),
        model=lambda r, enc: got.append(("model", r.checkpoint_path, enc)), report=lambda t: got.append("report"),
    )
    builder.build_in_child(tmp_path / "a", tiny.config(), events=ev, encoder=tiny.ENCODER, on_started=pids.append)
    assert ("model", tmp_path / "a" / "qnet.safetensors", tiny.ENCODER_ID) in got and got[-1] == "report"
    assert builder.reuse_plan(tmp_path / "a", tiny.config()).reuse

    import psutil

    cancel = threading.Event()

    def stage(s, d, t, eta):
        if s == "generate":
            cancel.set()

    with pytest.raises(builder.BuildCancelled):
        builder.build_in_child(tmp_path / "b", tiny.config(), events=builder.BuildEvents(stage=stage),
                               cancel=cancel, encoder=tiny.ENCODER, on_started=pids.append)
    assert not psutil.pid_exists(pids[-1]) or psutil.Process(pids[-1]).status() == psutil.STATUS_ZOMBIE


def test_build_in_child_raises_the_build_error(tmp_path):
    cfg = replace(tiny.config(), n_train_runs=0)  # nothing to train on
    with pytest.raises(ArcXError):
        builder.build_in_child(tmp_path, cfg, encoder=tiny.ENCODER)
