"""Child process of tests/ui/test_demo_xvfb.py: the demo app on a real X server with a
real background build (the tiny demo: tests/demo/tiny.py) and a fake engine.

Prints `BUILDING <pid>` once the build's child process records raids, then runs until
the game window is closed; prints `EXIT <code>` and exits with the app's status."""

import sys
import uuid
from pathlib import Path

from app.ui import demo
from app.ui.hotkeys import FakeHotkeyBackend
from app.ui.parts import Parts
from tests.demo import tiny
from tests.ui.test_app import FakeEngine, NoModels


def main() -> int:
    root = Path(sys.argv[1])

    def factory(settings, report, bridge):
        return Parts(FakeEngine(), NoModels(), bridge, "enc-x")

    running = demo.start_gui(
        engine_factory=factory, hotkey_backend=FakeHotkeyBackend(), use_pystray=False,
        instance_key=f"arcx-test-{uuid.uuid4().hex[:8]}", show_dialogs=False,
    )
    assert running is not None
    app, window = running
    cfg = tiny.config(n_train_runs=40)  # long enough to be closed while it records
    worker = demo.DemoBuildWorker(root, cfg, encoder=tiny.ENCODER)
    session = demo.DemoSession(app, root, cfg, None, window=window, build_factory=lambda: worker,
                               progress=False)
    demo.connect_session(session, app, window)

    def on_progress(stage, done, total, eta):
        if stage == "generate" and done >= 1 and not getattr(worker, "announced", False):
            worker.announced = True
            print(f"BUILDING {worker.child_pid}", flush=True)

    worker.progress.connect(on_progress)
    session.start()
    code = app.app.exec()
    session.stop()
    print(f"EXIT {code} running={worker.isRunning()}", flush=True)
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
