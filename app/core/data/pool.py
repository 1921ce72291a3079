"""Pools: labelled runs exported to a portable folder, and read back from several.

A group of players who record with the same encoder can train on all their runs. Each
exports (`export_runs`) a folder that holds only latents and labels, in the runs
folder's own Parquet format, and a manifest:

    <pool>/manifest.json                  format, encoder id, counts, one entry per run
           runs/<run_id>/run.parquet      the run row (label, extract mark, encoder id)
                         frames.parquet   frame latents (float16), never pixels
                         decisions.parquet

Each manifest entry names the run's `player` (its origin) and the SHA-256 of each of its
files. `verify_pool` refuses a folder whose files do not match (`DataError` naming the
file); `import_pools` merges verified folders into one pool (the same layout), keeping
every run's player. Training reads a plain runs folder, a pool, or several of either
(`pool_entries` + `load_entries`): the runs keep their player in
`DecisionDataset.run_players`, so a split by run is also a split within players, and
`player_mask` holds out whole players (does a pooled model transfer to someone new?).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from app.core.atomic import sha256_file
from app.core.data import store
from app.core.data.dataset import DecisionDataset, RunData, load_run, run_split_mask
from app.core.errors import DataError
from app.core.model.dims import WINDOW

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
RUNS_DIR = "runs"
FORMAT = "arcx-pool"
VERSION = 1
RUN_FILES = (store.RUN_FILE, store.FRAMES_FILE, store.DECISIONS_FILE)
"""The files of an exported run: its compacted tables (latents and labels only)."""
_CHUNK = 1 << 20  # bytes read per hash update

__all__ = [
    "MANIFEST",
    "PoolRun",
    "default_player",
    "export_runs",
    "import_pools",
    "is_pool",
    "load_entries",
    "load_pool",
    "player_mask",
    "pool_entries",
    "run_split_mask",
    "verify_pool",
]


@dataclass(frozen=True)
class PoolRun:
    """One labelled run to train on, and who recorded it."""

    info: store.RunInfo
    """the run as `store.run_info` reads it (its folder is `info.path`)"""
    player: str
    """its origin: the exporting player's name ("" for the local runs folder)"""


def default_player() -> str:
    """A stable name for this machine's player that reveals neither user nor host name."""
    who = f"{os.environ.get('USER') or os.environ.get('USERNAME') or ''}@{socket.gethostname()}"
    return "player-" + hashlib.sha256(who.encode()).hexdigest()[:8]


def is_pool(folder: Path) -> bool:
    """True when `folder` is an exported pool (it has a manifest), not a runs folder."""
    return (Path(folder) / MANIFEST).is_file()


# ------------------------------------------------------------------------- export


def _labelled(root: Path, encoder_id: str | None) -> list[store.RunInfo]:
    """The ended, labelled runs under `root` (as `DecisionDataset.from_root` picks them)."""
    ended = [r for r in store.list_runs(root) if not r.recording and r.ended_at is not None]
    labelled = [r for r in ended if r.outcome is not None]
    if encoder_id is not None:
        labelled = [r for r in labelled if r.encoder_id == encoder_id]
    return labelled


def _one_encoder(encoders: Counter[str], where: str) -> str:
    if len(encoders) > 1:
        parts = ", ".join(f"{e}: {n} runs" for e, n in encoders.most_common())
        raise DataError(
            f"{where} holds runs of {len(encoders)} different encoders ({parts}); their latents "
            "cannot be mixed: pick one with --encoder-id ID"
        )
    return next(iter(encoders))


def export_runs(
    root: Path,
    out: Path,
    *,
    encoder_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    player: str | None = None,
) -> dict[str, Any]:
    """Copy the labelled runs under `root` (of one encoder, started in [since, until)) into
    a new pool folder `out`; returns its manifest. `out` must not exist or be empty; it
    appears complete or not at all (built next to it, then renamed)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataError(f"{out} already exists and is not empty; export into a new folder")
    runs = _labelled(Path(root), encoder_id)
    for r in (r for r in runs if r.problems):
        log.warning("run %s is not exported: %s", r.run_id, "; ".join(r.problems))
    runs = [r for r in runs if not r.problems]
    if since is not None:
        runs = [r for r in runs if r.started_at >= since]
    if until is not None:
        runs = [r for r in runs if r.started_at < until]
    if not runs:
        raise DataError(f"no labelled runs to export under {root} with these filters")
    encoder = _one_encoder(Counter(r.encoder_id for r in runs), str(root))
    name = player or default_player()
    building = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        entries = []
        for r in runs:
            dest = building / RUNS_DIR / r.run_id
            dest.mkdir(parents=True)
            for f in RUN_FILES:
                shutil.copyfile(r.path / f, dest / f)
            entries.append(_entry(r, name, dest))
        manifest = _manifest(encoder, entries)
        (building / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        if out.exists():
            out.rmdir()  # empty, checked above
        os.replace(building, out)
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
    log.info("exported %d runs (%d decisions) of encoder %s to %s", len(entries),
             manifest["counts"]["decisions"], encoder, out)
    return manifest


def _entry(info: store.RunInfo, player: str, folder: Path) -> dict[str, Any]:
    return {
        "run_id": info.run_id,
        "player": player,
        "started_at": info.started_at.isoformat(),
        "outcome": info.outcome,
        "decisions": info.n_decisions,
        "frames": info.n_frames,
        "sha256": {f: sha256_file(folder / f) for f in RUN_FILES},
    }


def _manifest(encoder_id: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "created_at": datetime.now(timezone.utc).isoformat(),
        "encoder_id": encoder_id,
        "players": sorted({e["player"] for e in entries}),
        "counts": {
            "runs": len(entries),
            "decisions": sum(e["decisions"] for e in entries),
            "frames": sum(e["frames"] for e in entries),
        },
        "runs": entries,
    }


# ------------------------------------------------------------------------- verify, import


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of pool `folder` (DataError when missing, unreadable or foreign)."""
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path} is not a readable pool manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DataError(f"{path} is not an ArcX pool manifest")
    if manifest.get("version") != VERSION:
        raise DataError(f"{path} has pool format version {manifest.get('version')}; this ArcX reads {VERSION}")
    return manifest


def verify_pool(folder: Path) -> dict[str, Any]:
    """The manifest of `folder` once every run's files match their hashes and counts.

    DataError naming the first run file that is missing or differs, or a run whose
    table says another encoder or another number of decisions than the manifest."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    for e in manifest["runs"]:
        run_dir = folder / RUNS_DIR / e["run_id"]
        for name, digest in e["sha256"].items():
            path = run_dir / name
            if not path.is_file():
                raise DataError(f"pool {folder}: {path} is missing")
            if sha256_file(path) != digest:
                raise DataError(f"pool {folder}: {path} does not match its manifest hash (changed or damaged)")
        info = store.run_info(run_dir)
        if info.encoder_id != manifest["encoder_id"] or info.n_decisions != e["decisions"]:
            raise DataError(f"pool {folder}: run {e['run_id']} does not match its manifest entry")
    counts = manifest["counts"]
    if counts["runs"] != len(manifest["runs"]) or counts["decisions"] != sum(e["decisions"] for e in manifest["runs"]):
        raise DataError(f"pool {folder}: the manifest's counts do not add up")
    return manifest


def import_pools(sources: Sequence[Path], into: Path) -> dict[str, Any]:
    """Merge verified pools `sources` into the pool `into` (created, or added to); returns
    its manifest. Runs already there (same id, same hashes) are skipped; the same run id
    with other contents is a DataError, as are pools of different encoders."""
    into = Path(into)
    merged = verify_pool(into) if is_pool(into) else None
    entries: dict[str, dict[str, Any]] = {e["run_id"]: e for e in merged["runs"]} if merged else {}
    encoders = Counter([merged["encoder_id"]] if merged else [])
    checked = [(Path(s), verify_pool(Path(s))) for s in sources]
    for src, m in checked:
        encoders[m["encoder_id"]] += 1
        _one_encoder(encoders, "the pools to import")
        for e in m["runs"]:
            have = entries.get(e["run_id"])
            if have is not None and have["sha256"] != e["sha256"]:
                raise DataError(f"run {e['run_id']} of {src} is already in {into} with other contents")
    added = 0
    for src, m in checked:
        for e in m["runs"]:
            if e["run_id"] in entries:
                continue
            dest = into / RUNS_DIR / e["run_id"]
            tmp = dest.with_name(f".{dest.name}.partial")
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(src / RUNS_DIR / e["run_id"], tmp)
            os.replace(tmp, dest)
            entries[e["run_id"]] = e
            added += 1
    manifest = _manifest(_one_encoder(encoders, "the pools to import"), list(entries.values()))
    tmp_manifest = into / f".{MANIFEST}.partial"
    into.mkdir(parents=True, exist_ok=True)
    tmp_manifest.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    os.replace(tmp_manifest, into / MANIFEST)
    log.info("imported %d new runs into %s (%d in all)", added, into, len(entries))
    return manifest


# ------------------------------------------------------------------------- training


def pool_entries(sources: Sequence[Path], *, encoder_id: str | None = None) -> list[PoolRun]:
    """The labelled runs of `sources` (runs folders or pools, in this order; each in its
    own order), of one encoder. A pool is verified first. DataError when the runs are of
    several encoders and `encoder_id` picks none, or when there are none."""
    out: list[PoolRun] = []
    for src in map(Path, sources):
        if not src.is_dir():
            raise DataError(f"no runs folder or pool at {src}")
        if is_pool(src):
            m = verify_pool(src)
            for e in m["runs"]:
                info = store.run_info(src / RUNS_DIR / e["run_id"])
                if encoder_id is None or info.encoder_id == encoder_id:
                    out.append(PoolRun(info, e["player"]))
        else:
            out.extend(PoolRun(info, "") for info in _labelled(src, encoder_id))
    if not out:
        where = f" for encoder {encoder_id}" if encoder_id else ""
        raise DataError(f"no labelled runs{where} in {', '.join(map(str, sources))}")
    _one_encoder(Counter(r.info.encoder_id for r in out), ", ".join(map(str, sources)))
    ids = Counter(r.info.run_id for r in out)
    if max(ids.values()) > 1:
        raise DataError(f"run {ids.most_common(1)[0][0]} is in more than one of the folders")
    return out


def load_entries(entries: Sequence[PoolRun]) -> list[RunData | None]:
    """Each entry's run in memory with its player; None where it cannot be read (logged)."""
    runs: list[RunData | None] = []
    for e in entries:
        try:
            runs.append(replace(load_run(e.info.path, e.info), player=e.player))
        except DataError as exc:
            log.warning("skipping run %s: %s", e.info.run_id, exc)
            runs.append(None)
    return runs


def load_pool(
    sources: Sequence[Path], *, window: int = WINDOW, encoder_id: str | None = None
) -> DecisionDataset:
    """Every labelled run of `sources` as one dataset, each run keeping its player."""
    runs = [r for r in load_entries(pool_entries(sources, encoder_id=encoder_id)) if r is not None]
    if not runs:
        raise DataError(f"no readable labelled runs in {', '.join(map(str, sources))}")
    return DecisionDataset(runs, window=window)


def player_mask(run_players: Sequence[str], heldout: Sequence[str]) -> np.ndarray:
    """[R] bool: the runs of the held-out players. DataError for a player the runs do not
    have, or when no player would be left to train on."""
    have = set(run_players)
    unknown = sorted(set(heldout) - have)
    if unknown:
        raise DataError(f"no runs of player(s) {', '.join(unknown)} (the pool has {', '.join(sorted(have))})")
    if have <= set(heldout):
        raise DataError("every player is held out; nothing is left to train on")
    return np.isin(np.asarray(run_players, dtype=object), list(heldout))
