"""Fault injection, end to end: full disks, read-only folders, crashes mid-save, bad input.

    sudo python scripts/faults.py [--only WORD]

Runs the real `arcx` command (`python -m app`) against real faults: a tmpfs of a few MB
(`mount -t tmpfs -o size=…`) filled to the last byte, read-only bind mounts, truncated
and tampered model files, signals, absurd arguments. Every scenario has its own
ARCX_HOME. Prints one row per scenario: what it does, what is expected, and the result
(PASS/FAIL with the evidence). A scenario also fails if any output holds a Python
traceback. Needs root on Linux (mounts); exit status 1 if any scenario failed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


@dataclass
class Done:
    """One `arcx` invocation."""

    rc: int
    out: str
    err: str

    @property
    def last(self) -> str:
        lines = [line for line in self.err.strip().splitlines() if line.strip()]
        return lines[-1] if lines else ""


class Scenario:
    """A home folder, the `arcx` runner and the checks of one scenario."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.env = {**os.environ, "ARCX_HOME": str(self.home), "ARCX_DEVICE": "cpu", "PYTHONPATH": str(REPO)}
        self.outputs: list[str] = []
        self.notes: list[str] = []
        self.ok = True

    def arcx(self, *args: str, timeout: float = 300) -> Done:
        p = subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True,
                           env=self.env, cwd=REPO, timeout=timeout)
        self.outputs += [p.stdout, p.stderr]
        return Done(p.returncode, p.stdout, p.stderr)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "app", *args], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, env=self.env, cwd=REPO)

    def check(self, cond: bool, note: str) -> None:
        self.notes.append(note if cond else f"NOT {note}")
        self.ok = self.ok and bool(cond)


# ------------------------------------------------------------------ file-system faults


def _sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


@contextlib.contextmanager
def tmpfs(parent: Path, size: str) -> Iterator[Path]:
    point = parent / f"tmpfs-{size}"
    point.mkdir()
    _sh("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point))
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Path]:
    _sh("mount", "--bind", str(path), str(path))
    try:
        _sh("mount", "-o", "remount,ro,bind", str(path))
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(folder: Path) -> Path:
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for size in (1 << 16, 1 << 10, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


# ------------------------------------------------------------------------- test data


def labelled_runs(root: Path, n: int = 3) -> Path:
    from app.core.data.synthetic import SyntheticConfig, record_runs

    record_runs(root, n, SyntheticConfig(latent_dim=512, max_duration_s=6.0, threshold_median=1000.0), seed=1)
    return root


TRAIN = ("--epochs", "1", "--device", "cpu", "--batch-size", "32", "--threads", "1", "--precision", "fp32",
         "--no-progress")
RUN = ("run", "--headless", "--source", "synthetic", "--encoder-path", "fp32")


def model_file(path: Path, value_scale: float = 6077.9) -> Path:
    from app.core.model.checkpoint import save_checkpoint
    from app.core.model.encoder import load_encoder
    from app.core.model.qnet import QNetConfig, TemporalQNet

    _, info = load_encoder()
    return save_checkpoint(path, TemporalQNet(QNetConfig()), encoder_id=info.encoder_id,
                           value_scale=value_scale, epoch=1, val_loss=0.2)


def edit_header(path: Path, old: bytes, new: bytes) -> None:
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    path.write_bytes(raw[:8] + raw[8 : 8 + n].replace(old, new) + raw[8 + n :])


# ------------------------------------------------------------------------- scenarios


def s_full_disk_at_start(s: Scenario) -> None:
    with tmpfs(s.root, "2m") as disk:
        fill(disk)
        d = s.arcx(*RUN, "--seconds", "45", "--data", str(disk / "runs"))
    s.check(d.rc == 1, f"rc {d.rc}")
    s.check("cannot start a run: only" in d.last, repr(d.last[:90]))


def s_full_disk_mid_run(s: Scenario) -> None:
    from app.core.data.recorder import RunRecorder

    with tmpfs(s.root, "104m") as disk:
        data = disk / "runs"
        proc = s.popen(*RUN, "--seconds", "8", "--data", str(data))
        while not any(p.name.startswith("frames-") for p in data.glob("*/*")):
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        filler = fill(disk)
        _, err = proc.communicate(timeout=300)
        s.outputs.append(err)
        d = Done(proc.returncode, "", err)
        s.check(d.rc == 1, f"rc {d.rc}")
        s.check("could not be saved" in d.last, repr(d.last[:110]))
        filler.unlink()
        rec = RunRecorder(data)
        s.check(len(rec.recovered) == 1 and rec.recovered[0].n_frames > 0,
                f"next start recovers {[r.n_frames for r in rec.recovered]} frames")


def s_disk_freed_in_time(s: Scenario) -> None:
    """The disk fills at the end of a run and is freed within the grace: nothing is lost."""
    from app.core.data.store import list_runs

    with tmpfs(s.root, "104m") as disk:
        data = disk / "runs"
        proc = s.popen(*RUN, "--seconds", "6", "--data", str(data))
        while not any(p.name.startswith("frames-") for p in data.glob("*/*")):
            time.sleep(0.05)
        filler = fill(disk)
        time.sleep(8)  # the run ends on the full disk and starts retrying
        filler.unlink()
        _, err = proc.communicate(timeout=300)
        s.outputs.append(err)
        runs = list_runs(data)
    s.check(proc.returncode == 0, f"rc {proc.returncode}")
    s.check("retrying" in err, "retried")
    s.check(len(runs) == 1 and runs[0].n_frames > 0 and runs[0].ended_at is not None and not runs[0].recovered,
            f"run saved whole ({runs[0].n_frames if runs else 0} frames)")


def s_corrupt_model_no_prev(s: Scenario) -> None:
    data = labelled_runs(s.root / "runs")
    models = s.home / "data" / "models"
    out = models / "qnet.safetensors"
    s.arcx("train", "--data", str(data), "--out", str(out), *TRAIN)
    d = s.arcx("train", "--data", str(data), "--out", str(out), *TRAIN, "--seed", "2")
    good_prev = sha(models / "qnet.prev.safetensors")
    out.write_bytes(out.read_bytes()[:1000])  # truncated
    d = s.arcx("train", "--data", str(data), "--out", str(out), *TRAIN, "--seed", "3")
    s.check(d.rc == 0, f"rc {d.rc}")
    s.check(sha(models / "qnet.prev.safetensors") == good_prev, "good prev kept")


def s_crash_mid_save_temps(s: Scenario) -> None:
    models = s.home / "data" / "models"
    models.mkdir(parents=True)
    for name in (".qnet-k3j2h1.safetensors", ".qnet.prev-9f8e7d.tmp"):
        (models / name).write_bytes(b"")
        old = time.time() - 3600
        os.utime(models / name, (old, old))
    d = s.arcx(*RUN, "--seconds", "2", "--data", str(s.root / "runs"))
    s.check(d.rc == 0, f"rc {d.rc}")
    s.check("no trained model" in d.err, "no temp picked as model")
    s.check(list(models.iterdir()) == [], "stale temps removed")


def s_read_only_data(s: Scenario) -> None:
    data = labelled_runs(s.root / "runs")
    run_id = next(p.name for p in data.iterdir())
    (data / run_id / ".recording.lock").write_bytes(b"")
    with read_only(data):
        summary = s.arcx("data", "summary", "--data", str(data))
        train = s.arcx("train", "--data", str(data), *TRAIN)
        label = s.arcx("data", "label", run_id[:8], "--died", "--data", str(data))
        run = s.arcx(*RUN, "--seconds", "2", "--data", str(data))
    s.check(summary.rc == 0 and "Runs:          3" in summary.out, f"summary rc {summary.rc}")
    s.check(train.rc == 0, f"train rc {train.rc}")
    s.check(label.rc == 1 and "read-only" in label.last, f"label rc {label.rc}")
    s.check(run.rc == 1 and "read-only" in run.last, f"run rc {run.rc}")


def s_read_only_config(s: Scenario) -> None:
    cfg = s.home / "config"
    cfg.mkdir(parents=True)
    for content, what in (("{not json", "bad JSON"), ("[" * 100_000 + "]" * 100_000, "100000-deep")):
        (cfg / "settings.json").write_text(content)
        with read_only(cfg):
            d = s.arcx("doctor")
        s.check(d.rc == 0 and "read-only" in d.err, f"{what}: rc {d.rc}")


def s_tampered_checkpoint(s: Scenario) -> None:
    m = model_file(s.root / "q.safetensors")
    edit_header(m, b'"6077.9"', b'"7077.9"')
    d = s.arcx(*RUN, "--seconds", "1", "--data", str(s.root / "runs"), "--model", str(m))
    s.check(d.rc == 2 and "header hash" in d.last, f"value_scale digit: rc {d.rc}")


def s_absurd_checkpoint(s: Scenario) -> None:
    import json

    from app.core.model.checkpoint import read_tensors, write_tensors

    m = model_file(s.root / "q.safetensors")
    tensors, meta = read_tensors(m)
    cfg = json.loads(meta["config"])
    huge = write_tensors(s.root / "huge.safetensors", tensors, {**meta, "config": json.dumps({**cfg, "hidden": 10**7})})
    big = write_tensors(s.root / "big.safetensors", tensors, {**meta, "value_scale": "1e308"})
    d1 = s.arcx(*RUN, "--seconds", "1", "--data", str(s.root / "runs"), "--model", str(huge))
    d2 = s.arcx(*RUN, "--seconds", "1", "--data", str(s.root / "runs"), "--model", str(big))
    s.check(d1.rc == 2 and "hidden=10000000" in d1.last, f"hidden 10**7: rc {d1.rc}")
    s.check(d2.rc == 2 and "invalid value scale" in d2.last, f"value_scale 1e308: rc {d2.rc}")


def s_bad_arguments(s: Scenario) -> None:
    data = labelled_runs(s.root / "runs", 1)
    run_id = next(p.name for p in data.iterdir())
    for args in (("--fps", "0"), ("--fps", "-2"), ("--seconds", "nan")):
        d = s.arcx(*RUN, *args, "--data", str(data))
        s.check(d.rc == 2, f"{' '.join(args)}: rc {d.rc}")
    d = s.arcx("data", "label", run_id[:8], "--extracted", "1e308", "--data", str(data))
    s.check(d.rc == 2 and "≤ 1e+09" in d.last, f"--extracted 1e308: rc {d.rc}")


def s_missing_source(s: Scenario) -> None:
    from app.core.data.store import list_runs

    data = s.root / "runs"
    d = s.arcx(*RUN, "--source", "replay:/nonexistent", "--data", str(data))
    s.check(d.rc == 2, f"rc {d.rc}")
    s.check(list_runs(data) == [], "no empty run")


def s_full_disk_training(s: Scenario) -> None:
    data = labelled_runs(s.root / "runs")
    with tmpfs(s.root, "32m") as disk:
        out = disk / "qnet.safetensors"
        s.arcx("train", "--data", str(data), "--out", str(out), *TRAIN)
        before = sha(out)
        fill(disk)
        d = s.arcx("train", "--data", str(data), "--out", str(out), *TRAIN)
        s.check(d.rc == 1 and "the disk is full" in d.last, f"rc {d.rc}: {d.last[:60]!r}")
        s.check(sha(out) == before, "old model intact")


def _signal(s: Scenario, sig: int) -> None:
    from app.core.data.store import list_runs, read_run_row

    data = s.root / "runs"
    proc = s.popen(*RUN, "--data", str(data))
    while not any(p.name.startswith("frames-") for p in data.glob("*/*")):
        time.sleep(0.1)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    s.outputs.append(err)
    runs = list_runs(data)
    s.check(proc.returncode == 128 + sig, f"rc {proc.returncode}")
    s.check(len(runs) == 1 and read_run_row(runs[0].path)["ended_at"] is not None and not runs[0].recovered,
            "run ended cleanly")


def s_sigterm(s: Scenario) -> None:
    _signal(s, signal.SIGTERM)


def s_sighup(s: Scenario) -> None:
    _signal(s, signal.SIGHUP)


def s_data_issues(s: Scenario) -> None:
    from app.core.data import store

    data = labelled_runs(s.root / "runs", 4)
    runs = store.list_runs(data)
    dec = store.read_table(runs[0].path / store.DECISIONS_FILE, "decisions")
    store.write_parquet_atomic(dec, store.part_path(runs[0].path, "decisions", 1))  # killed mid-compaction
    (runs[1].path / store.DECISIONS_FILE).write_bytes(b"garbage")
    (runs[2].path / store.RUN_FILE).unlink()
    d = s.arcx("data", "summary", "--data", str(data))
    expected = runs[0].n_decisions + runs[3].n_decisions
    s.check(f"Decisions:     {expected:,}" in d.out, f"decisions counted once ({expected})")
    s.check("has unreadable files" in d.out, "corrupt run warned")
    s.check("is damaged" in d.out, "run without runs table listed")
    d = s.arcx("data", "summary", "--data", "/nonexistent")
    s.check(d.rc == 2 and "no runs folder" in d.last, f"--data /nonexistent: rc {d.rc}")


SCENARIOS: list[tuple[str, str, Callable[[Scenario], None]]] = [
    ("1 disk full before `arcx run`", "rc 1, 'cannot start a run: only … MB free'", s_full_disk_at_start),
    ("1 disk fills during a run", "rc 1, last line: N s not saved, M s on disk; next start recovers",
     s_full_disk_mid_run),
    ("1 disk full at end, freed in time", "rc 0, retried, whole run saved", s_disk_freed_in_time),
    ("2 truncated model, then train", "good qnet.prev kept", s_corrupt_model_no_prev),
    ("3 temp models left by a crash", "`arcx run` starts, stale temps removed", s_crash_mid_save_temps),
    ("4 read-only runs + stale lock", "summary/train rc 0; label/run rc 1 'read-only'", s_read_only_data),
    ("4 bad settings, read-only config", "doctor rc 0, defaults, says read-only", s_read_only_config),
    ("5 value_scale digit changed", "rc 2, 'header hash'", s_tampered_checkpoint),
    ("5 hidden 10**7 / value_scale 1e308", "rc 2, refused before allocating", s_absurd_checkpoint),
    ("6 --fps 0/-2, --seconds nan, loot 1e308", "rc 2 each", s_bad_arguments),
    ("7 --source replay:/nonexistent", "rc 2, no empty run", s_missing_source),
    ("8 disk full while training", "rc 1 'the disk is full', old model intact", s_full_disk_training),
    ("9 SIGTERM during a run", "rc 143, run ended cleanly", s_sigterm),
    ("9 SIGHUP during a run", "rc 129, run ended cleanly", s_sighup),
    ("10 data summary faults", "counted once, warnings, damaged listed, rc 2", s_data_issues),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run only scenarios whose name holds this")
    args = parser.parse_args()
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        print("faults.py needs root on Linux (tmpfs and bind mounts)", file=sys.stderr)
        return 2
    rows = []
    for name, expected, fn in SCENARIOS:
        if args.only not in name:
            continue
        with tempfile.TemporaryDirectory(prefix="arcx-faults-") as tmp:
            s = Scenario(Path(tmp))
            started = time.monotonic()
            try:
                fn(s)
            except Exception as exc:  # the scenario itself broke
                s.check(False, f"{type(exc).__name__}: {exc}")
            if any("Traceback (most recent call last)" in o for o in s.outputs):
                s.check(False, "no traceback")
            result = ("PASS" if s.ok else "FAIL") + ": " + "; ".join(s.notes)
            rows.append((name, expected, result, time.monotonic() - started))
            print(f"  {name}: {result}", file=sys.stderr, flush=True)
    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    print(f"{'scenario':<{w1}}  {'expected':<{w2}}  result")
    print(f"{'-' * w1}  {'-' * w2}  {'-' * 6}")
    for name, expected, result, _ in rows:
        print(f"{name:<{w1}}  {expected:<{w2}}  {result}")
    failed = sum(not r[2].startswith("PASS") for r in rows)
    print(f"\n{len(rows) - failed}/{len(rows)} scenarios pass")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
