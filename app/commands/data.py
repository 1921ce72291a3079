"""`arcx data`: what is recorded, and labelling runs from the command line.

    arcx data summary [--data DIR] [--json] [--runs]
    arcx data label RUN_ID (--extracted VALUE | --died | --clear) [--data DIR]
    arcx data export --out DIR [--data DIR] [--encoder-id ID] [--since DATE] [--until DATE] [--player NAME]
    arcx data import DIR [DIR ...] --into POOL

`export` copies the labelled runs (latents and labels, never pixels) into a new folder
with a manifest of run ids, encoder id, counts and SHA-256 hashes, to pool with other
players (`app/core/data/pool.py`); `import` checks exported folders against their
manifests and merges them into one pool, each run keeping its player. `arcx train --data
POOL` trains on a pool (and `--val-player NAME` holds a player out).

`summary` counts runs (labelled, unlabelled, being recorded, left by a crash), decisions,
frames, bytes on disk and bytes per decision, per encoder id. It warns about runs with
unreadable files and about damaged folders (tables without a run row), which it lists
but cannot count as runs. A `--data` folder that does not exist is an error. RUN_ID may be any unique
prefix of a run's id (as `summary --runs` shows them).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """Add the `data` subcommand (with `summary` and `label`) to the `arcx` subparsers."""
    parser = sub.add_parser(
        "data", help="summarise or label recorded runs", description="Inspect and label recorded runs."
    )
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    summary = actions.add_parser("summary", help="what is recorded: runs, decisions, bytes")
    summary.add_argument("--data", type=Path, default=None, help="runs folder (default: the user's)")
    summary.add_argument("--json", action="store_true", help="print JSON")
    summary.add_argument("--runs", action="store_true", help="also list every run")
    summary.set_defaults(handler=run_summary)

    label = actions.add_parser("label", help="set how a run ended")
    label.add_argument("run_id", metavar="RUN_ID", help="the run's id (or a unique prefix)")
    which = label.add_mutually_exclusive_group(required=True)
    which.add_argument("--extracted", type=float, metavar="VALUE", help="extracted with this loot value (0 to 1e9)")
    which.add_argument("--died", action="store_true", help="died (loot value 0)")
    which.add_argument("--clear", action="store_true", help="remove the label")
    label.add_argument("--data", type=Path, default=None, help="runs folder (default: the user's)")
    label.set_defaults(handler=run_label)

    export = actions.add_parser("export", help="copy labelled runs (latents and labels) to pool them")
    export.add_argument("--out", type=Path, required=True, help="new folder to write")
    export.add_argument("--data", type=Path, default=None, help="runs folder (default: the user's)")
    export.add_argument("--encoder-id", default=None, help="only this encoder's runs")
    export.add_argument("--since", type=_date, default=None, help="only runs started on or after (ISO date, UTC)")
    export.add_argument("--until", type=_date, default=None, help="only runs started before (ISO date, UTC)")
    export.add_argument("--player", default=None, help="name the runs' origin (default: a hash of user and host)")
    export.add_argument("--json", action="store_true", help="print the manifest as JSON")
    export.set_defaults(handler=run_export)

    imp = actions.add_parser("import", help="check exported folders and merge them into a pool")
    imp.add_argument("folders", type=Path, nargs="+", metavar="DIR", help="exported folders")
    imp.add_argument("--into", type=Path, required=True, help="pool folder (created, or added to)")
    imp.add_argument("--json", action="store_true", help="print the merged manifest as JSON")
    imp.set_defaults(handler=run_import)


def _date(text: str) -> datetime:
    """An ISO date or date-time; naive ones are UTC."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date: {text!r}") from exc
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _root(args: argparse.Namespace) -> Path:
    """The runs folder: --data (which must exist) or the user's."""
    from app.core import paths
    from app.core.errors import DataError

    if args.data is None:
        return paths.runs_dir()
    if not args.data.is_dir():
        raise DataError(f"no runs folder at {args.data}")
    return Path(args.data)


def summarize(root: Path) -> dict[str, Any]:
    """The numbers `arcx data summary` prints, as a dict."""
    from app.core.data.store import list_damaged, list_runs

    runs = list_runs(root)
    damaged = list_damaged(root)
    decisions = sum(r.n_decisions for r in runs)
    size = sum(r.bytes_on_disk for r in runs)
    encoders: dict[str, dict[str, int]] = {}
    for r in runs:
        e = encoders.setdefault(r.encoder_id, {"runs": 0, "labelled": 0, "decisions": 0})
        e["runs"] += 1
        e["labelled"] += int(r.labelled)
        e["decisions"] += r.n_decisions
    outcomes = Counter(r.outcome for r in runs if r.outcome)
    return {
        "root": str(root),
        "runs": len(runs),
        "labelled": sum(r.labelled for r in runs),
        "unlabelled": sum(not r.labelled and r.ended_at is not None for r in runs),
        "recording": sum(r.recording for r in runs),
        "interrupted": sum(r.ended_at is None and not r.recording for r in runs),
        "recovered": sum(r.recovered for r in runs),
        "extracted": outcomes.get("extracted", 0),
        "died": outcomes.get("died", 0),
        "decisions": decisions,
        "labelled_decisions": sum(r.n_decisions for r in runs if r.labelled),
        "frames": sum(r.n_frames for r in runs),
        "bytes_on_disk": size,
        "bytes_per_decision": size / decisions if decisions else None,
        "hours": sum(r.duration_s or 0.0 for r in runs) / 3600.0,
        "encoder_ids": encoders,
        "problems": {r.run_id: list(r.problems) for r in runs if r.problems},
        "damaged": [
            {"path": str(d.path), "reason": d.reason, "frames": d.n_frames, "decisions": d.n_decisions}
            for d in damaged
        ],
        "run_list": [
            {
                "run_id": r.run_id,
                "started_at": r.started_at.isoformat(),
                "duration_s": r.duration_s,
                "game_profile": r.game_profile,
                "encoder_id": r.encoder_id,
                "outcome": r.outcome,
                "final_loot_value": r.final_loot_value,
                "decisions": r.n_decisions,
                "frames": r.n_frames,
                "bytes_on_disk": r.bytes_on_disk,
                "recovered": r.recovered,
                "recording": r.recording,
            }
            for r in runs
        ],
    }


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def run_summary(args: argparse.Namespace) -> int:
    s = summarize(_root(args))
    if args.json:
        if not args.runs:
            s.pop("run_list")
        print(json.dumps(s, indent=2))
        return 0
    print(f"Runs folder:   {s['root']}")
    print(
        f"Runs:          {s['runs']} ({s['labelled']} labelled: {s['extracted']} extracted, "
        f"{s['died']} died; {s['unlabelled']} unlabelled"
        + (f"; {s['recording']} being recorded" if s["recording"] else "")
        + (f"; {s['interrupted']} interrupted, recovered at the next start" if s["interrupted"] else "")
        + ")"
    )
    print(f"Play time:     {s['hours']:.2f} h")
    print(f"Decisions:     {s['decisions']:,} ({s['labelled_decisions']:,} in labelled runs)")
    print(f"Frames:        {s['frames']:,}")
    per = s["bytes_per_decision"]
    print(f"On disk:       {_size(s['bytes_on_disk'])}" + (f" ({_size(per)} per decision)" if per else ""))
    for enc, e in s["encoder_ids"].items():
        print(f"Encoder {enc}: {e['runs']} runs, {e['labelled']} labelled, {e['decisions']:,} decisions")
    if len(s["encoder_ids"]) > 1:
        print("Runs of different encoders are trained separately (arcx train --encoder-id ID).")
    for run_id, problems in s["problems"].items():
        print(f"Warning: run {run_id[:8]} has unreadable files, not counted: {'; '.join(problems)}")
    for d in s["damaged"]:
        print(
            f"Warning: {d['path']} is damaged ({d['reason']}): {d['frames']:,} frames and "
            f"{d['decisions']:,} decisions are kept there but cannot be used"
        )
    if args.runs:
        for r in s["run_list"]:
            label = r["outcome"] or ("recording" if r["recording"] else "unlabelled")
            if r["outcome"] == "extracted":
                label += f" {r['final_loot_value']:g}"
            duration = f"{r['duration_s']:.0f} s" if r["duration_s"] is not None else "—"
            print(
                f"  {r['run_id'][:8]}  {r['started_at'][:19]}  {duration:>7}  {label:<18} "
                f"{r['decisions']:>6} decisions  {_size(r['bytes_on_disk'])}"
                + ("  (recovered)" if r["recovered"] else "")
            )
    return 0


def run_label(args: argparse.Namespace) -> int:
    from app.core.data.store import label_run

    if args.clear:
        outcome, value = None, None
    elif args.died:
        outcome, value = "died", None
    else:
        outcome, value = "extracted", args.extracted
    info = label_run(_root(args), args.run_id, outcome, value)
    what = info.outcome or "unlabelled"
    if info.outcome == "extracted":
        what += f" with {info.final_loot_value:g}"
    print(f"Run {info.run_id}: {what} ({info.n_decisions} decisions).")
    return 0


def _print_pool(manifest: dict[str, Any], what: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps(manifest, indent=2))
        return
    c = manifest["counts"]
    print(f"{what}: {c['runs']} runs, {c['decisions']:,} decisions, {c['frames']:,} frames of encoder "
          f"{manifest['encoder_id']}; players: {', '.join(manifest['players'])}")


def run_export(args: argparse.Namespace) -> int:
    from app.core.data.pool import export_runs

    manifest = export_runs(_root(args), args.out, encoder_id=args.encoder_id, since=args.since,
                           until=args.until, player=args.player)
    _print_pool(manifest, f"Exported to {args.out}", args.json)
    return 0


def run_import(args: argparse.Namespace) -> int:
    from app.core.data.pool import import_pools

    manifest = import_pools(args.folders, args.into)
    _print_pool(manifest, f"Pool {args.into}", args.json)
    return 0
