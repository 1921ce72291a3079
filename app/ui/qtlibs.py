"""Before Qt starts on Linux: are the X11 libraries its xcb platform plugin needs there?

Qt's own message when one is missing names only xcb-cursor0 ("… is needed to load the Qt
xcb platform plugin"), whichever library is really absent, and then aborts the process.
`missing_xcb_libraries` asks the dynamic loader for each library by its soname first, so
the app can name the real missing ones and the packages that provide them (Debian and
Ubuntu names, as in `.ci/run` and the README). No Qt here: this runs before any Qt import.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable

XCB_LIBRARIES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
}
"""soname → the Debian / Ubuntu package that provides it: what `ldd` lists for PyQt6's
libqxcb.so and libQt6XcbQpa.so.6"""


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def missing_xcb_libraries(loads: Callable[[str], bool] = _loads) -> dict[str, str]:
    """soname → package of every library the xcb plugin needs that does not load."""
    return {so: pkg for so, pkg in XCB_LIBRARIES.items() if not loads(so)}


def uses_xcb(environ: dict[str, str] | None = None, platform: str | None = None) -> bool:
    """Qt will start its xcb plugin: Linux, a display, and no other platform asked for."""
    env = os.environ if environ is None else environ
    if (platform or sys.platform) != "linux":
        return False
    wanted = env.get("QT_QPA_PLATFORM", "")
    if wanted:
        return wanted.startswith("xcb")
    return bool(env.get("DISPLAY")) and not env.get("WAYLAND_DISPLAY")


def missing_message(missing: dict[str, str]) -> str:
    """What to tell the player (and what to run) when libraries are missing."""
    names = ", ".join(missing)
    packages = " ".join(dict.fromkeys(missing.values()))
    return (
        f"ArcX cannot open its windows: Qt's X11 (xcb) plugin needs {names}, which "
        f"{'is' if len(missing) == 1 else 'are'} not installed.\n"
        f"Install {'it' if len(missing) == 1 else 'them'} with:\n"
        f"    sudo apt-get install {packages}\n"
        "(or run headless: QT_QPA_PLATFORM=offscreen; see the README, Linux section)"
    )
