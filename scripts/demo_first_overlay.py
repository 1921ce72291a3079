"""Time `arcx demo` to its first overlay under Xvfb: fresh, then warm (reusing what it made).

    python scripts/demo_first_overlay.py                      # the defaults, as a user runs it
    python scripts/demo_first_overlay.py --train-raids 3 --heldout-raids 1 --epochs 3
    python scripts/demo_first_overlay.py --home DIR --only warm

Starts a private Xvfb (`scripts/xvfb.py`) and runs `python -m app demo` in it as a user
would, with ARCX_HOME set to a new, empty folder (no demo, no encoder caches, no
settings: a fresh install). From the moment the process is started it times:

* the game window and the overlay mapped on the screen (`xdotool search --onlyvisible`),
* the overlay painted with a state: the app's `arcx demo: overlay on screen` line, after
  which the overlay's pixels are read back from the X server and must not be blank
  (saved as PNG next to the timings with `--shots DIR`),
* the trained model swapped in and the first advice on the overlay (the app's lines),
* the held-out scores printed (the build finished: the next start can reuse it).

With `--learning-shot PNG` it also grabs the game window with the overlay over it from
the X server once the build has recorded `--learning-shot-raids` raids (the README's
"learning…" screenshot: the real app, not a mock-up).

Then it closes the game window the way a window manager does (WM_DELETE_WINDOW) and
checks that `arcx demo` exits 0 and how long that took. The second, warm run uses the
same ARCX_HOME: it must say it reuses the demo folder, and is timed to its first advice.
The machine line (CPU, flags, cores) and `uptime` load before and after each run are
printed with the figures: on a shared box they move with the other programs' load.
"""

from __future__ import annotations

import argparse
import os
import platform
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.xvfb import XvfbError, xvfb  # noqa: E402

GAME_TITLE = "ArcX demo: simulated raid"
OVERLAY_TITLE = "ArcX overlay"
MARKERS = {
    "painted": "arcx demo: overlay on screen",
    "swapped": "arcx demo: model swapped in",
    "advice": "arcx demo: first advice",
    "reused": "arcx demo: reusing",
    "fresh": "opening the game now",
}
FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile")


def machine_line() -> str:
    """CPU model, the SIMD flags that decide the encoder's speed, logical cores."""
    model, flags = platform.processor() or "?", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("?", "", "x86_64"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    have = [f for f in FLAGS if f in flags]
    return f"{model}; {os.cpu_count()} logical cores; flags: {' '.join(have) or 'none of ' + ' '.join(FLAGS)}"


def load() -> str:
    out = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    m = re.search(r"load average[s]?: (.*)$", out)
    return m.group(1) if m else out


@dataclass
class Run:
    """One `arcx demo` start and what was seen when (seconds from the process start)."""

    label: str
    times: dict[str, float] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    overlay_text: str = ""
    overlay_pixels: str = ""
    exit_code: int | None = None
    close_to_exit_s: float | None = None
    load_before: str = ""
    load_after: str = ""


def visible(display: str, title: str) -> bool:
    out = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--name", f"^{re.escape(title)}$"],
        env={**os.environ, "DISPLAY": display}, capture_output=True, text=True, timeout=10,
    )
    return bool(out.stdout.strip())


def _find(display: str, title: str):  # noqa: ANN202 (an Xlib window)
    from Xlib import X  # python-xlib
    from Xlib import display as xdisplay

    d = xdisplay.Display(display)
    stack = [d.screen().root]
    while stack:
        w = stack.pop()
        try:
            name = w.get_wm_name()
            attrs = w.get_attributes()
        except Exception:  # noqa: BLE001 (a window can vanish while we look)
            continue
        if name == title and attrs.map_state == X.IsViewable:
            return d, w
        try:
            stack.extend(w.query_tree().children)
        except Exception:  # noqa: BLE001
            continue
    d.close()
    return None, None


def close_window(display: str, title: str) -> bool:
    """Ask the window to close as a window manager's close button does (WM_DELETE_WINDOW)."""
    from Xlib import X
    from Xlib.protocol import event

    d, w = _find(display, title)
    if w is None:
        return False
    protocols, delete = d.intern_atom("WM_PROTOCOLS"), d.intern_atom("WM_DELETE_WINDOW")
    msg = event.ClientMessage(window=w, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0]))
    w.send_event(msg, event_mask=X.NoEventMask)
    d.sync()  # a round trip: the server has handled the request before the connection closes
    d.close()  # (with only flush() here, 4 of 9 closes were never delivered to the app)
    return True


def overlay_pixels(display: str, shot: Path | None) -> str:
    """Read the overlay's pixels back from the X server: 'N distinct colours' (a painted
    panel has hundreds; a blank window one), saved as PNG when `shot` is given."""
    import numpy as np
    from Xlib import X

    d, w = _find(display, OVERLAY_TITLE)
    if w is None:
        return "overlay not found"
    try:
        g = w.get_geometry()
        pos = w.translate_coords(d.screen().root, 0, 0)
        x, y = -pos.x, -pos.y
        raw = d.screen().root.get_image(x, y, g.width, g.height, X.ZPixmap, 0xFFFFFFFF).data
        px = np.frombuffer(raw, np.uint8).reshape(g.height, g.width, 4)[..., 2::-1]  # BGRX → RGB
        colours = len(np.unique(px.reshape(-1, 3), axis=0))
        if shot is not None:
            from PIL import Image

            shot.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.ascontiguousarray(px)).save(shot)
        return f"{colours} distinct colours in {g.width}×{g.height}"
    finally:
        d.close()


def grab_window(display: str, title: str, out: Path) -> bool:
    """The window's area of the screen (with whatever is on top: the overlay) as PNG."""
    import numpy as np
    from PIL import Image
    from Xlib import X

    d, w = _find(display, title)
    if w is None:
        return False
    try:
        g = w.get_geometry()
        pos = w.translate_coords(d.screen().root, 0, 0)
        raw = d.screen().root.get_image(-pos.x, -pos.y, g.width, g.height, X.ZPixmap, 0xFFFFFFFF).data
        px = np.frombuffer(raw, np.uint8).reshape(g.height, g.width, 4)[..., 2::-1]
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.ascontiguousarray(px)).save(out)
        return True
    finally:
        d.close()


RAIDS_BAR = re.compile(r"recording raids:.*?\b(\d+)/(\d+)")
"""the build's progress bar on stderr (tqdm: each update ends in a carriage return)"""


def run_demo(display: str, home: Path, label: str, demo_args: list[str], until: str, timeout_s: float,
             shots: Path | None, learning_shot: Path | None = None, learning_raids: int = 2,
             repo: Path = ROOT) -> Run:
    """Start `arcx demo`, time it until `until` (a MARKERS key or "report"), close it."""
    r = Run(label, load_before=load())
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "ARCX_HOME": str(home),
           "PYTHONFAULTHANDLER": "1"}  # a hung exit dumps its threads on SIGABRT (below)
    env.pop("ARCX_SOURCE", None)
    lines: queue.Queue[tuple[float, str, str]] = queue.Queue()
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "demo", *demo_args], env=env, cwd=repo, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=1,
    )

    def pump(stream, name: str) -> None:  # noqa: ANN001
        for line in stream:
            lines.put((time.monotonic() - t0, name, line.rstrip("\n")))

    for s, n in ((proc.stdout, "out"), (proc.stderr, "err")):
        threading.Thread(target=pump, args=(s, n), daemon=True).start()
    deadline = t0 + timeout_s
    reached = False
    while time.monotonic() < deadline and proc.poll() is None:
        now = time.monotonic() - t0
        for key, title in (("game window mapped", GAME_TITLE), ("overlay mapped", OVERLAY_TITLE)):
            if key not in r.times and visible(display, title):
                r.times[key] = now
        while True:
            try:
                t, name, line = lines.get_nowait()
            except queue.Empty:
                break
            r.lines.append(f"[{t:7.1f} {name}] {line}")
            for key, marker in MARKERS.items():
                if marker in line and key not in r.times:
                    r.times[key] = t
                    if key == "painted":
                        r.overlay_text = line.split(":")[-1].strip()
                        shot = shots / f"first-overlay-{label}.png" if shots else None
                        r.overlay_pixels = overlay_pixels(display, shot)
            if name == "out" and line.startswith("headline") and "report" not in r.times:
                r.times["report"] = t
            m = RAIDS_BAR.search(line)
            if m and learning_shot is not None and int(m.group(1)) >= learning_raids and "learning shot" not in r.times:
                time.sleep(1.0)  # the overlay repaints with the new count
                if grab_window(display, GAME_TITLE, learning_shot):
                    r.times["learning shot"] = t
        if until in r.times and "overlay mapped" in r.times and "game window mapped" in r.times:
            reached = True
            break
        time.sleep(0.2)
    if not reached:
        print(f"  {label}: '{until}' not reached within {timeout_s:.0f} s", file=sys.stderr)
    closed_at = time.monotonic()
    if proc.poll() is None and not close_window(display, GAME_TITLE):
        print(f"  {label}: the game window was not found; terminating", file=sys.stderr)
        proc.terminate()
    try:
        r.exit_code = proc.wait(timeout=60)
        r.close_to_exit_s = time.monotonic() - closed_at
    except subprocess.TimeoutExpired:
        print(f"  {label}: still running 60 s after the close: its threads go to the log", file=sys.stderr)
        proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
        try:
            r.exit_code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            r.exit_code = proc.wait()
    time.sleep(0.3)
    while not lines.empty():
        t, name, line = lines.get_nowait()
        r.lines.append(f"[{t:7.1f} {name}] {line}")
    r.load_after = load()
    return r


def report(r: Run) -> None:
    print(f"\n{r.label}: load before {r.load_before}, after {r.load_after}")
    order = ("game window mapped", "overlay mapped", "painted", "learning shot", "swapped", "advice", "report")
    names = {"painted": "overlay painted", "swapped": "model swapped in", "advice": "first advice",
             "report": "scores printed"}
    for key in order:
        if key in r.times:
            extra = f"  ({r.overlay_text}; {r.overlay_pixels})" if key == "painted" else ""
            print(f"  {names.get(key, key):<24} {r.times[key]:7.1f} s{extra}")
    said = "reused the demo folder" if "reused" in r.times else ("made a new demo" if "fresh" in r.times else "?")
    print(f"  said on the terminal     {said}")
    close = f", {r.close_to_exit_s:.1f} s after the window was closed" if r.close_to_exit_s is not None else ""
    print(f"  exit code                {r.exit_code}{close}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)  # --fresh goes to arcx demo
    p.add_argument("--home", type=Path, default=None, help="ARCX_HOME (default: a new empty folder)")
    p.add_argument("--only", choices=("both", "fresh", "warm"), default="both")
    p.add_argument("--fresh-until", default="report",
                   choices=("overlay mapped", "painted", "learning shot", "swapped", "advice", "report"),
                   help="how far the fresh run goes before its window is closed (report: the build "
                   "finished, so the warm run can reuse it)")
    p.add_argument("--warm-until", default="advice", choices=("painted", "swapped", "advice"))
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per run")
    p.add_argument("--shots", type=Path, default=None, help="save the overlay's first pixels here as PNG")
    p.add_argument("--log", type=Path, default=None, help="write both runs' output here")
    p.add_argument("--learning-shot", type=Path, default=None,
                   help="grab the game window with the LEARNING… overlay (fresh run) to this PNG")
    p.add_argument("--learning-shot-raids", type=int, default=2, help="... once this many raids are recorded")
    p.add_argument("--repo", type=Path, default=ROOT,
                   help="run arcx demo from this checkout (e.g. a `git worktree` of the code before, "
                   "for the baseline: use --fresh-until 'overlay mapped' there, it has no markers)")
    args, demo_args = p.parse_known_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="arcx-first-overlay-"))
    print(f"machine: {machine_line()}")
    print(f"load (1, 5, 15 min): {load()}")
    print(f"arcx demo {' '.join(demo_args)}   ARCX_HOME={home}")
    runs: list[Run] = []
    try:
        with xvfb(1600, 1000) as display:
            if args.only in ("both", "fresh"):
                runs.append(run_demo(display, home, "fresh", demo_args, args.fresh_until, args.timeout, args.shots,
                                     args.learning_shot, args.learning_shot_raids, args.repo))
                report(runs[-1])
            if args.only in ("both", "warm"):
                runs.append(run_demo(display, home, "warm", demo_args, args.warm_until, args.timeout, args.shots,
                                     repo=args.repo))
                report(runs[-1])
    except XvfbError as exc:
        raise SystemExit(str(exc)) from exc
    if args.log is not None:
        args.log.write_text("\n\n".join(f"== {r.label}\n" + "\n".join(r.lines) for r in runs) + "\n")
        print(f"\noutput of the runs: {args.log}")
    return 0 if all(r.exit_code == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
