"""The Windows lock files (installer/locks/) and installer/locks.py, which writes and checks them.

Offline: every checked-in lock is there for its flavour × Python and is what the flavour
needs (a usable torch-directml where DirectML training is, onnxruntime-directml and never
two ONNX Runtime packages in the DirectML flavour, a CUDA torch in the CUDA flavour, hashes
for pip --require-hashes), and locks.py tells those apart on made-up locks. Online (slow, CI):
uv re-resolves every lock and it must come out the same; only a lock whose index cannot be
reached from here (the CUDA flavour's download.pytorch.org, in this sandbox) is skipped.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "installer"))
import locks  # noqa: E402
from locks import FLAVOURS, LOCKS, PYTHONS, Flavour  # noqa: E402

DML = locks.flavour("cpu-directml")
CUDA = locks.flavour("cuda")
MATRIX = [(f, p) for f in FLAVOURS for p in f.pythons]
MATRIX_IDS = [f.lock_name(p) for f, p in MATRIX]


def lock_text(pins: dict[str, str], *, via: dict[str, str] | None = None, hashes: bool = True,
              index: str | None = None) -> str:
    """A made-up lock in `uv pip compile --generate-hashes` form."""
    lines = [f"--extra-index-url {index}"] if index else []
    for n, (name, version) in enumerate(sorted(pins.items())):
        lines.append(f"{name}=={version}" + (" \\" if hashes else ""))
        if hashes:
            lines.append(f"    --hash=sha256:{n:064x}")
        lines.append(f"    # via {(via or {}).get(name, 'arcx (pyproject.toml)')}")
    return "\n".join(lines) + "\n"


BASE = {"torchvision": "0.19.1", "pyqt6": "6.11.0", "pyinstaller": "6.22.3", "numpy": "2.2.6"}


def good_dml_lock() -> dict[str, str]:
    return {**BASE, "torch": "2.4.1", "torch-directml": "0.2.5.dev240914", "onnxruntime-directml": "1.24.4"}


# ------------------------------------------------------------------- locks.py, offline


def test_parse_lock_reads_versions_hashes_and_via() -> None:
    text = textwrap.dedent("""\
        # a header comment
        --extra-index-url https://download.pytorch.org/whl/cu128
        torch==2.11.0+cu128 \\
            --hash=sha256:aa \\
            --hash=sha256:bb
            # via
            #   arcx (pyproject.toml)
            #   torchvision
        Typing_Extensions==4.16.0 \\
            --hash=sha256:cc
            # via torch
        """)
    pins = locks.parse_lock(text)
    assert set(pins) == {"torch", "typing-extensions"}
    assert pins["torch"].version == "2.11.0+cu128"
    assert pins["torch"].hashes == {"sha256:aa", "sha256:bb"}
    assert pins["torch"].via == ["arcx", "torchvision"]
    assert pins["typing-extensions"].via == ["torch"]
    assert locks.index_lines(text) == ["--extra-index-url https://download.pytorch.org/whl/cu128"]


@pytest.mark.parametrize(("version", "expected"), [
    ("0.2.5.dev240914", (0, 2, 5)), ("0.1.13.1.dev230413", (0, 1, 13)), ("2.11.0+cu128", (2, 11, 0)),
    ("2.4.1", (2, 4, 1)), ("1.0rc1", (1, 0)),
])
def test_version_tuple(version: str, expected: tuple[int, ...]) -> None:
    assert locks.version_tuple(version) == expected


def test_flavours_name_their_onnxruntime_and_index() -> None:
    assert DML.onnxruntime_dist == "onnxruntime-directml" and DML.index_url is None
    assert CUDA.onnxruntime_dist == "onnxruntime-gpu"
    assert CUDA.index_url == "https://download.pytorch.org/whl/cu128"
    assert {f.build_flavour for f in FLAVOURS} == {"cpu", "cuda"}
    assert locks.flavour("cpu") is DML and locks.flavour("cuda") is CUDA
    with pytest.raises(KeyError):
        locks.flavour("rocm")


def test_a_good_directml_lock_has_no_problems() -> None:
    text = lock_text(good_dml_lock(), via={"torch": "torch-directml"})
    assert locks.problems(DML, "3.11", text) == []


def test_an_old_torch_directml_is_refused() -> None:
    """What uv resolved on 3.10 before the extra's bound: 0.1.13 beside a new torch."""
    pins = {**good_dml_lock(), "torch-directml": "0.1.13.1.dev230413", "torch": "2.14.1"}
    found = locks.problems(DML, "3.10", lock_text(pins))
    assert any("torch-directml 0.1.13.1.dev230413 is unusable" in p for p in found)
    assert any("torch 2.14.1 is not the 2.4.1 torch-directml pins" in p for p in found)


def test_two_onnxruntime_packages_are_refused() -> None:
    pins = {**good_dml_lock(), "onnxruntime": "1.32.0"}
    found = locks.problems(DML, "3.11", lock_text(pins, via={"torch": "torch-directml"}))
    assert found == ["onnxruntime beside onnxruntime-directml: they overwrite one another's `onnxruntime` module"]
    no_dml = {k: v for k, v in good_dml_lock().items() if k != "onnxruntime-directml"}
    assert "onnxruntime-directml is missing" in locks.problems(DML, "3.11", lock_text(no_dml))


def test_directml_training_only_where_torch_directml_has_wheels() -> None:
    assert locks.DIRECTML_TRAINING_PYTHONS == ("3.10", "3.11", "3.12")
    # 3.13: CPU torch + onnxruntime-directml, and torch-directml would be a resolver accident
    assert any("torch-directml 0.2.5.dev240914 on Python 3.13" in p
               for p in locks.problems(DML, "3.13", lock_text(good_dml_lock())))
    cpu_only = {**BASE, "torch": "2.15.0", "onnxruntime-directml": "1.24.4"}
    assert locks.problems(DML, "3.13", lock_text(cpu_only)) == []
    assert "torch-directml is missing (DirectML training on Python 3.10-3.12)" in locks.problems(
        DML, "3.12", lock_text(cpu_only))


def test_a_cuda_lock_needs_the_cuda_torch_and_its_index() -> None:
    pins = {**BASE, "torch": "2.11.0+cu128", "torchvision": "0.26.0+cu128", "onnxruntime-gpu": "1.26.0"}
    assert locks.problems(CUDA, "3.12", lock_text(pins, index=CUDA.index_url)) == []
    assert locks.problems(CUDA, "3.12", lock_text(pins)) == [
        "the lock does not name https://download.pytorch.org/whl/cu128, where pip finds its torch"]
    cpu_torch = {**pins, "torch": "2.15.0"}
    assert locks.problems(CUDA, "3.12", lock_text(cpu_torch, index=CUDA.index_url)) == [
        "torch 2.15.0 is not the cu128 build (from https://download.pytorch.org/whl/cu128)"]
    both = {**pins, "onnxruntime": "1.32.0"}
    assert any("beside onnxruntime-gpu" in p for p in locks.problems(CUDA, "3.12", lock_text(both, index=CUDA.index_url)))


def test_a_lock_without_hashes_is_refused() -> None:
    found = locks.problems(DML, "3.11", lock_text(good_dml_lock(), via={"torch": "torch-directml"}, hashes=False))
    assert len(found) == 1 and found[0].startswith("no hashes for ")


def test_compare_reports_pins_and_lost_hashes_not_added_ones() -> None:
    old = "numpy==2.2.6 \\\n    --hash=sha256:aa\ntorch==2.4.1 \\\n    --hash=sha256:bb\n"
    assert locks.compare(old, old) == []
    more_hashes = "numpy==2.2.6 \\\n    --hash=sha256:aa \\\n    --hash=sha256:cc\ntorch==2.4.1 \\\n    --hash=sha256:bb\n"
    assert locks.compare(old, more_hashes) == []  # a new wheel for some other platform
    assert locks.compare(more_hashes, old) == ["numpy 2.2.6: 1 locked hashes no longer served"]
    bumped = "numpy==2.3.0 \\\n    --hash=sha256:dd\nsix==1.17.0 \\\n    --hash=sha256:ee\n"
    assert locks.compare(old, bumped) == ["+ six==1.17.0", "- torch==2.4.1", "numpy 2.2.6 -> 2.3.0"]


def test_uv_is_given_the_pins_without_their_hashes() -> None:
    """uv copies a preferred pin's hashes from its preferences file, so a lock whose hashes
    were changed would be "current" if they went in."""
    text = locks.header(DML, "3.12") + "Torch==2.4.1 \\\n    --hash=sha256:aa\n    # via x\nnumpy==2.2.6\n"
    assert locks.pins_only(text) == "numpy==2.2.6\ntorch==2.4.1\n"


def test_the_header_is_not_part_of_the_body() -> None:
    text = locks.header(CUDA, "3.12") + "torch==2.11.0+cu128 \\\n    --hash=sha256:aa\n"
    assert locks.body(text) == "torch==2.11.0+cu128 \\\n    --hash=sha256:aa\n"
    assert locks.index_lines(text) == [f"--extra-index-url {CUDA.index_url}"]
    assert locks.index_lines(locks.header(DML, "3.12")) == []


@pytest.fixture
def fake_uv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A `uv` on PATH that reports a version and fails every compile with `message`."""
    def make(message: str, version: str = "uv 0.13.9") -> None:
        script = tmp_path / "uv"
        script.write_text(f"#!/bin/sh\nif [ \"$1\" = --version ]; then echo '{version}'; exit 0; fi\n"
                          f"echo '{message}' >&2\nexit 1\n")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
        monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    if sys.platform == "win32":
        pytest.skip("the fake uv is a shell script")
    return make


def test_an_unreachable_index_skips_and_a_resolver_error_fails(fake_uv, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_uv("error: No solution found when resolving dependencies")
    up: set[str] = {locks.PYPI_PROBE}
    monkeypatch.setattr(locks, "reachable", lambda url, timeout_s=10.0: url in up)
    cuda = locks.process(CUDA, "3.12", check=True)
    assert (cuda.status, cuda.detail) == ("skipped", ["download.pytorch.org cannot be reached from here"])
    dml = locks.process(DML, "3.12", check=True)
    assert dml.status == "failed" and "No solution found" in dml.detail[0]
    up.clear()  # PyPI down too: the DirectML lock is skipped, not failed
    assert locks.process(DML, "3.12", check=True).detail == ["pypi.org cannot be reached from here"]


def test_the_cuda_lock_is_asked_of_uv_as_documented(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What compile_lock hands uv for the CUDA flavour, and what it makes of uv's answer (a
    recording fake uv: download.pytorch.org cannot be reached from here)."""
    if sys.platform == "win32":
        pytest.skip("the fake uv is a script with a shebang")
    seen = tmp_path / "seen.txt"
    answer = lock_text({**BASE, "torch": "2.11.0+cu128", "torchvision": "0.26.0+cu128", "onnxruntime-gpu": "1.26.0"})
    script = tmp_path / "uv"
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import json, pathlib, sys
        if sys.argv[1:] == ["--version"]:
            print("uv 0.13.9"); sys.exit(0)
        args = sys.argv[1:]
        files = {{a: pathlib.Path(a).read_text() for a in args if a.endswith((".in", ".txt")) and pathlib.Path(a).is_file()}}
        pathlib.Path({str(seen)!r}).write_text(json.dumps([args, files]))
        pathlib.Path(args[args.index("-o") + 1]).write_text({answer!r})
        """))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(locks, "reachable", lambda url, timeout_s=10.0: True)

    text = locks.compile_lock(CUDA, "3.12", preferences=answer)
    args, files = json.loads(seen.read_text())
    assert args[:3] == ["pip", "compile", "pyproject.toml"]
    for flag, value in [("--torch-backend", "cu128"), ("--python-version", "3.12"),
                        ("--python-platform", "x86_64-pc-windows-msvc"), ("--only-binary", ":all:"), ("--extra", "build")]:
        assert args[args.index(flag) + 1] == value
    assert "--generate-hashes" in args and "--upgrade" not in args and "directml" not in args
    inputs = {Path(k).name: v for k, v in files.items()}
    assert inputs["flavour.in"] == "onnxruntime-gpu>=1.19,<1.27\n"
    assert inputs["excludes.txt"].split() == ["onnxruntime", "onnxruntime-directml"]
    # the preferences are the pins, without hashes
    assert inputs[CUDA.lock_name("3.12")] == locks.pins_only(answer)
    assert text.startswith(locks.header(CUDA, "3.12")) and locks.problems(CUDA, "3.12", text) == []


def test_an_old_uv_is_named(fake_uv) -> None:
    fake_uv("unused", version="uv 0.9.7")
    with pytest.raises(locks.UvMissing, match=r"uv 0\.9\.7 is too old: the locks need uv >= 0\.13\.9"):
        locks.uv_path()
    assert locks.main(["--check", "--flavour", "cpu", "--python", "3.12"]) == 2


@pytest.mark.parametrize(("statuses", "code"), [
    (["current", "current"], 0), (["current", "skipped"], 3), (["stale", "skipped"], 1), (["written", "failed"], 1),
])
def test_exit_status(statuses: list[str], code: int, monkeypatch: pytest.MonkeyPatch) -> None:
    results = [locks.Result(DML, p, s) for p, s in zip(PYTHONS, statuses, strict=False)]
    monkeypatch.setattr(locks, "run_all", lambda targets, **kw: results)
    assert locks.main(["--check"]) == code


# ------------------------------------------------------------ the checked-in locks, offline


@pytest.mark.parametrize(("flav", "python"), MATRIX, ids=MATRIX_IDS)
def test_each_lock_is_there_and_fits_its_flavour(flav: Flavour, python: str) -> None:
    path = LOCKS / flav.lock_name(python)
    if not path.is_file() and flav.index_url:
        pytest.skip(f"{path.name} is not checked in: it needs {flav.index_url}, which the machine that made "
                    f"the locks could not reach (`python installer/locks.py --flavour {flav.name}` where it can)")
    text = path.read_text(encoding="utf-8")
    assert locks.problems(flav, python, text) == []
    assert text.startswith(locks.header(flav, python)), f"{path.name}: not written by installer/locks.py"
    pins = locks.parse_lock(text)
    if python in locks.DIRECTML_TRAINING_PYTHONS and flav is DML:
        assert pins["torch"].version == "2.4.1" and pins["torch-directml"].version.startswith("0.2.5")


def test_no_stray_locks() -> None:
    expected = {f.lock_name(p) for f, p in MATRIX}
    present = {p.name for p in LOCKS.glob("*.txt")}
    assert present <= expected, f"locks no flavour makes (left over?): {sorted(present - expected)}"


def test_pyproject_states_the_supported_pythons() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    last = PYTHONS[-1].split(".")
    assert meta["requires-python"] == f">={PYTHONS[0]},<{last[0]}.{int(last[1]) + 1}"
    assert tuple(f"3.{n}" for n in range(10, int(last[1]) + 1)) == PYTHONS  # no gap
    (dml,) = meta["optional-dependencies"]["directml"]
    assert dml.startswith("torch-directml>=0.2.5")
    # the extra's marker stops where DIRECTML_TRAINING_PYTHONS stops
    newest = locks.DIRECTML_TRAINING_PYTHONS[-1].split(".")
    assert f"python_version < '3.{int(newest[1]) + 1}'" in dml
    # the base onnxruntime is what the flavours swap out
    assert any(re.match(r"onnxruntime\b(?!-)", d) for d in meta["dependencies"])
    uv = [d for d in meta["optional-dependencies"]["dev"] if re.match(r"uv\b", d)]
    assert uv == [f"uv>={'.'.join(map(str, locks.UV_MIN))}"], "the dev extra brings the uv the lock check needs"


# --------------------------------------------------------------------- resolution, online


@pytest.fixture(scope="module")
def checked() -> dict[str, locks.Result]:
    """Every lock checked once, a few at a time (~1 minute; uv waits on the index)."""
    try:
        locks.uv_path()
    except locks.UvMissing as exc:
        pytest.fail(f"{exc}: the lock check runs in CI and needs it")
    if not locks.reachable(locks.PYPI_PROBE):
        pytest.skip("pypi.org cannot be reached from here: the locks cannot be re-resolved")
    return {r.name: r for r in locks.run_all(MATRIX, check=True)}


@pytest.mark.slow
@pytest.mark.parametrize(("flav", "python"), MATRIX, ids=MATRIX_IDS)
def test_the_lock_is_what_pyproject_resolves_to_now(checked: dict[str, locks.Result], flav: Flavour, python: str) -> None:
    """uv re-resolves the lock (its pins as preferences) to the same pins and hashes, and a
    fresh resolution of the DirectML training Pythons still picks a usable torch-directml."""
    result = checked[flav.lock_name(python)]
    if result.status == "skipped":
        pytest.skip(f"{result.name}: {'; '.join(result.detail)}")
    assert result.status == "current", f"{result.name} {result.status}:\n  " + "\n  ".join(result.detail) + (
        "\n(refresh: python installer/locks.py)")


@pytest.mark.slow
def test_an_extra_that_would_pull_an_old_torch_directml_fails_the_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The failure the extra's bound fixed: without it, uv resolves torch-directml 0.1.13 (no
    torch pin) beside torch 2.14 on Python 3.10. The checked-in lock is still fine, so only
    the fresh resolution can see it, and the check must fail on it."""
    if not locks.reachable(locks.PYPI_PROBE):
        pytest.skip("pypi.org cannot be reached from here")
    project = tmp_path / "project"
    (project / "app").mkdir(parents=True)
    (project / "app" / "__init__.py").write_text((ROOT / "app" / "__init__.py").read_text(encoding="utf-8"))
    (project / "README.md").write_text("ArcX\n")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    unbounded = re.sub(r'"torch-directml>=[^;"]+;', '"torch-directml;', pyproject)
    assert unbounded != pyproject
    (project / "pyproject.toml").write_text(unbounded, encoding="utf-8")
    (project / "installer" / "locks").mkdir(parents=True)
    lock = DML.lock_name("3.10")
    (project / "installer" / "locks" / lock).write_text((LOCKS / lock).read_text(encoding="utf-8"))
    monkeypatch.setattr(locks, "ROOT", project)
    monkeypatch.setattr(locks, "LOCKS", project / "installer" / "locks")

    result = locks.process(DML, "3.10", check=True)
    assert result.status == "invalid", result.detail
    assert any(d.startswith("resolved afresh: torch-directml 0.1.") and "unusable" in d for d in result.detail)
    assert not any(d.startswith("torch-directml") for d in result.detail)  # the lock itself is fine
