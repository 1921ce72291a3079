"""Packaging: arcx.spec, the installer scripts, the icons and installer/fetch_weights.py.

The real build (installer/build.sh, ~10 minutes) does not run here; these tests check
what can drift without it: the spec parses and bundles every folder the app reads at run
time, the version is written only in app/__init__.py, the Inno Setup script has every
piece the issue asks for and agrees with build.ps1 and platformdirs, the generated icons
are up to date, and the weight conversion produces the encoder the app loads.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import app
from app.core import paths

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "arcx.spec"
ISS = ROOT / "installer" / "arcx.iss"
BUILD_PS1 = ROOT / "installer" / "build.ps1"
BUILD_SH = ROOT / "installer" / "build.sh"


def _spec_tree() -> ast.Module:
    return ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))


def _spec_assignment(name: str) -> ast.expr:
    for node in _spec_tree().body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return node.value
    raise AssertionError(f"arcx.spec assigns no {name}")


def _spec_function(name: str) -> dict[str, object]:
    """Compile one top-level function of the spec on its own (stdlib imports only)."""
    for node in _spec_tree().body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            namespace: dict[str, object] = {"re": re}
            exec(compile(ast.Module([node], []), str(SPEC), "exec"), namespace)  # noqa: S102
            return namespace
    raise AssertionError(f"arcx.spec defines no {name}()")


# ----------------------------------------------------------------------------- the spec


def test_spec_parses_and_names_every_data_folder() -> None:
    folders = ast.literal_eval(_spec_assignment("DATA_FOLDERS"))
    # Every folder app/core/paths.py resolves under bundle_root() must be bundled.
    used = set(
        re.findall(r'bundle_root\(\)\s*/\s*"([^"]+)"', (ROOT / "app/core/paths.py").read_text())
    )
    assert used, "paths.py no longer reads folders under bundle_root()"
    assert used <= set(folders), f"not bundled by arcx.spec: {used - set(folders)}"
    for name in folders:
        assert (ROOT / name).is_dir(), f"arcx.spec bundles {name}/, which does not exist"
    assert paths.resources_dir() == ROOT / "resources"
    assert paths.bundled_models_dir() == ROOT / "models"


def test_spec_builds_two_executables_one_folder_with_icon_and_version() -> None:
    text = SPEC.read_text(encoding="utf-8")
    assert 'executable("arcx", console=False)' in text
    assert 'executable("arcx-console", console=True)' in text
    assert "COLLECT(" in text and "onefile" not in text.lower().replace("one-file", "")
    assert "from app import __version__" in text
    assert "windows_version_info(__version__)" in text
    icon = ast.literal_eval(
        _spec_assignment("ICON").right
    )  # ROOT / "resources" / "icons" / "arcx.ico"
    assert icon == "arcx.ico" and (ROOT / "resources/icons/arcx.ico").is_file()
    assert (ROOT / "installer/arcx_main.py").is_file() and 'installer" / "arcx_main.py' in text


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("0.1.0", (0, 1, 0, 0)),
        ("1.2.0rc1", (1, 2, 0, 0)),
        ("2.0", (2, 0, 0, 0)),
        ("1.2.3.4", (1, 2, 3, 4)),
    ],
)
def test_spec_version_tuple(version: str, expected: tuple[int, ...]) -> None:
    version_tuple = _spec_function("version_tuple")["version_tuple"]
    assert version_tuple(version) == expected  # type: ignore[operator]


CUDA_NAMES = [
    "nvidia/cu13/lib/libcudart.so.13",
    "nvidia/cudnn/lib/libcudnn_engines_precompiled.so.9",
    "nvidia/cu13/lib/libnvrtc-builtins.so.13.0",
    "torch/lib/libtorch_cuda.so",
    "torch/lib/libc10_cuda.so",
    "torch/lib/cublas64_12.dll",
    "torch/lib/cudnn_ops64_9.dll",
    "torch/lib/nvrtc64_120_0.dll",
    "torch/lib/torch_cuda.dll",
    "torch\\lib\\cufft64_11.dll",
    "torchvision.libs/libnvjpeg.36e11081.so.13",
    "torchvision.libs/libcudart.faf08d9a.so.13",
    "torchvision/nvjpeg64_12.dll",
]
NOT_CUDA_NAMES = [
    "torch/lib/libtorch_cpu.so",
    "torch/lib/torch_cpu.dll",
    "torch/lib/libc10.so",
    "torch_directml/DirectML.dll",
    "PyQt6/Qt6/bin/Qt6Core.dll",
    "libgomp.so.1",
    "torch/lib/libiomp5md.dll",
]


def test_spec_cuda_library_pattern() -> None:
    call = _spec_assignment("CUDA_LIB")
    assert isinstance(call, ast.Call)
    pattern = re.compile(ast.literal_eval(call.args[0]), re.IGNORECASE)
    for name in CUDA_NAMES:
        assert pattern.search(name), f"CPU flavour would keep {name}"
    for name in NOT_CUDA_NAMES:
        assert not pattern.search(name), f"CPU flavour would drop {name}"


def test_spec_excludes_tests_and_tensorboard() -> None:
    excludes = ast.literal_eval(_spec_assignment("EXCLUDES"))
    for name in ("tests", "pytest", "tensorboard", "torch.utils.tensorboard", "triton"):
        assert name in excludes


def test_version_is_written_only_in_app_init() -> None:
    version = app.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+([a-z]+\d+)?", version)
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'version = { attr = "app.__version__" }' in pyproject
    for path in (SPEC, ISS, BUILD_PS1, BUILD_SH, ROOT / "installer/fetch_weights.py"):
        assert version not in path.read_text(encoding="utf-8"), f"{path.name} hard-codes {version}"


# ------------------------------------------------------------------------ the installer


def test_inno_setup_script_has_the_required_pieces() -> None:
    iss = ISS.read_text(encoding="utf-8")
    # version only from the command line, and a fixed AppId
    assert re.search(r"#ifndef MyAppVersion\s+#error", iss)
    assert "AppVersion={#MyAppVersion}" in iss
    assert re.search(
        r"^AppId=\{\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$", iss, re.M
    )
    # per-user without admin by default
    assert re.search(r"^PrivilegesRequired=lowest$", iss, re.M)
    assert re.search(r"^DefaultDirName=\{autopf\}", iss, re.M)
    # Start menu, optional desktop shortcut and start-with-Windows (both off by default)
    assert re.search(r'^Name: "\{autoprograms\}\\\{#MyAppName\}"', iss, re.M)
    assert re.search(r'^Name: "desktopicon";.*Flags: unchecked', iss, re.M)
    assert re.search(r'^Name: "startup";.*Flags: unchecked', iss, re.M)
    assert re.search(
        r"^Root: HKA; Subkey: \"Software\\Microsoft\\Windows\\CurrentVersion\\Run\".*uninsdeletevalue; Tasks: startup",
        iss,
        re.M,
    )
    # the VC++ runtime, only where it is missing
    assert "VCRedistPath" in iss and "VCRuntimeNeeded" in iss and "/install" in iss
    # uninstall keeps the player's data unless asked (default button: No)
    assert "CurUninstallStepChanged" in iss and "usPostUninstall" in iss
    assert "MB_DEFBUTTON2, IDNO" in iss and "DelTree(DataDir" in iss
    # 64-bit, icon, output name
    assert "ArchitecturesInstallIn64BitMode=x64compatible" in iss
    assert "SetupIconFile={#SourcePath}..\\resources\\icons\\arcx.ico" in iss
    assert "OutputBaseFilename=ArcX-{#MyAppVersion}-win64{#FlavourSuffix}-setup" in iss


def test_installer_removes_exactly_the_platformdirs_data_root() -> None:
    """platformdirs on Windows: %LOCALAPPDATA%\\<author>\\<app> for data, config and logs."""
    iss = ISS.read_text(encoding="utf-8")
    root = re.search(r'#define UserDataRoot "([^"]+)"', iss)
    assert root is not None
    assert root.group(1) == "{localappdata}\\" + paths.APP_AUTHOR
    assert paths.APP_NAME == "ArcX"


def test_build_ps1_runs_the_steps_in_order_and_names_the_setup() -> None:
    ps1 = BUILD_PS1.read_text(encoding="utf-8")
    steps = [
        ps1.index('"installer\\fetch_weights.py"'),
        ps1.index('"PyInstaller", "arcx.spec"'),
        ps1.index('"--self-test"'),
        ps1.index('"installer\\arcx.iss"'),
    ]
    assert steps == sorted(steps), (
        "build.ps1 must run weights → PyInstaller → self-test → Inno Setup"
    )
    assert '"/DMyAppVersion=$Version"' in ps1
    assert "import app; print(app.__version__)" in ps1
    assert '"dist\\ArcX-$Version-win64$suffix-setup.exe"' in ps1
    assert '$env:ARCX_REQUIRE_WEIGHTS = "1"' in ps1 and "$env:ARCX_FLAVOUR = $Flavour" in ps1
    assert "ARCX_REQUIRE_WEIGHTS" in SPEC.read_text() and "ARCX_FLAVOUR" in SPEC.read_text()


def test_build_ps1_installs_the_flavour_lock_of_its_python() -> None:
    """Both flavours: the lock of the running Python, hashes required, ArcX after it with
    --no-deps, the other ONNX Runtime packages removed first, a clear stop without a lock."""
    sys.path.insert(0, str(ROOT / "installer"))
    import locks

    ps1 = BUILD_PS1.read_text(encoding="utf-8")
    table = re.search(r"\$LockFlavours = @\{([^}]*)\}", ps1)
    assert table is not None, "build.ps1 maps -Flavour to the lock names in $LockFlavours"
    mapping = dict(re.findall(r'(\w+) = "([\w-]+)"', table.group(1)))
    assert mapping == {f.build_flavour: f.name for f in locks.FLAVOURS}
    assert '[ValidateSet("cpu", "cuda")]' in ps1
    # the file name build.ps1 builds is the one locks.py writes
    assert '"installer\\locks\\win-$($LockFlavours[$Flavour])-py$PyVer.txt"' in ps1
    assert locks.FLAVOURS[0].lock_name("3.12") == "win-cpu-directml-py3.12.txt"
    assert "no $Flavour lock for Python $PyVer" in ps1 and "installer\\locks.py --flavour" in ps1
    assert ps1.index("-not (Test-Path $Lock)") < ps1.index('"--require-hashes", "--only-binary", ":all:", "-r", $Lock')
    ort = re.search(r"\$OrtDists = @\(([^)]*)\)", ps1)
    assert ort is not None and set(re.findall(r'"([\w-]+)"', ort.group(1))) == set(locks.ONNXRUNTIME_DISTS)
    steps = [ps1.index("pip uninstall -y"), ps1.index('"--require-hashes"'),
             ps1.index('"--no-deps", "--no-build-isolation", "-e", "."'), ps1.index('"installer\\fetch_weights.py"')]
    assert steps == sorted(steps), "uninstall other ONNX Runtimes → lock → ArcX --no-deps → weights"
    # what the lock promised is checked before PyInstaller runs
    assert "DmlExecutionProvider" in ps1 and "CUDAExecutionProvider" in ps1
    assert ps1.index("$WantProvider") < ps1.index('"PyInstaller", "arcx.spec"')
    # the old CPU-only 3.13 lock and the unlocked CUDA recipe are gone
    assert "win-cpu-py" not in ps1 and "--index-url https://download.pytorch.org" not in ps1


def test_build_sh_is_valid_bash_and_smoke_tests_the_bundle() -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    subprocess.run([bash, "-n", str(BUILD_SH)], check=True)
    sh = BUILD_SH.read_text()
    assert sh.index("-m PyInstaller arcx.spec") < sh.index('arcx-console" --self-test')
    assert BUILD_SH.stat().st_mode & 0o111, "build.sh is not executable"


# ---------------------------------------------------------------------------- resources


def test_icons_are_generated_from_the_svg_and_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "resources/make_icons.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_tray_icons_exist_for_every_tray_state() -> None:
    states = ["idle", "recording", "nomodel"]
    try:
        from app.ui.icons import TrayState
    except ModuleNotFoundError:  # the UI not built yet: the names the issue gives
        pass
    else:
        states = [s.value for s in TrayState]
    for state in states:
        assert (ROOT / f"resources/icons/tray-{state}.png").is_file(), state


def test_ico_has_every_windows_size() -> None:
    from PIL import Image

    with Image.open(ROOT / "resources/icons/arcx.ico") as ico:
        sizes = set(ico.info["sizes"])
    assert {(16, 16), (24, 24), (32, 32), (48, 48), (256, 256)} <= sizes


# ----------------------------------------------------------------------- fetch_weights


def _fetch_weights() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "fetch_weights", ROOT / "installer/fetch_weights.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def torchvision_pth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A torchvision-format ResNet-34 state dict made here (no download): seeded weights."""
    import torch
    import torchvision

    path = tmp_path_factory.mktemp("weights") / "resnet34-local.pth"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1234)
        torch.save(torchvision.models.resnet34(weights=None).state_dict(), path)
    return path


@pytest.mark.slow
def test_fetch_weights_converts_a_local_state_dict(
    torchvision_pth: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    from app.core.model.checkpoint import read_metadata
    from app.core.model.encoder import ENCODER_FORMAT, EncoderConfig, _seeded_encoder, load_encoder

    out = tmp_path / "encoder_resnet34.safetensors"
    assert _fetch_weights().main(["--from-file", str(torchvision_pth), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "not torchvision's published file" in printed.err  # a test file, said loudly

    model, info = load_encoder(out)
    assert info.source == "file" and info.pretrained
    assert f"encoder id:      {info.encoder_id}" in printed.out
    meta = read_metadata(out)
    assert meta["format"] == ENCODER_FORMAT and meta["encoder_id"] == info.encoder_id
    assert meta["content_sha256"].startswith(info.encoder_id)
    assert meta["source_sha256"] == hashlib.sha256(torchvision_pth.read_bytes()).hexdigest()

    state = torch.load(torchvision_pth, map_location="cpu", weights_only=True)
    # trunk: the torchvision weights, by name (conv1 → 0, layer4 → 7)
    assert torch.equal(model.trunk[0].weight, state["conv1.weight"])
    assert torch.equal(model.trunk[7][2].bn2.running_var, state["layer4.2.bn2.running_var"])
    # projection head: the seeded random init every machine gets
    seeded = _seeded_encoder(EncoderConfig())
    assert torch.equal(model.proj[0].weight, seeded.proj[0].weight)

    # an existing valid file is kept unless --force
    assert _fetch_weights().main(["--out", str(out)]) == 0
    assert "exists and verifies" in capsys.readouterr().out


def test_fetch_weights_rejects_what_is_not_resnet34(tmp_path: Path) -> None:
    import torch
    import torchvision

    fw = _fetch_weights()
    r18 = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), r18)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a state dict")
    out = tmp_path / "enc.safetensors"
    assert fw.main(["--from-file", str(r18), "--out", str(out)]) == 2
    assert fw.main(["--from-file", str(junk), "--out", str(out)]) == 2
    assert fw.main(["--from-file", str(tmp_path / "missing.pth"), "--out", str(out)]) == 2
    assert not out.exists()
    with pytest.raises(fw.BadInput, match="not a torchvision ResNet-34"):
        fw.check_state_dict(r18)
