#!/usr/bin/env bash
# Build the ArcX one-folder bundle on Linux and smoke-test it (the frozen `--self-test`).
#
#   installer/build.sh                  # CPU flavour → dist/cpu/ArcX/
#   installer/build.sh --flavour cuda   # CUDA flavour (the installed CUDA torch) → dist/cuda/ArcX/
#
# The Windows release is built by installer/build.ps1 (which also fetches the encoder
# weights and runs Inno Setup); this script is the same PyInstaller step and smoke test,
# so packaging problems show up on the development machine too.
#
# CPU flavour and a CUDA torch: a CUDA build of torch links cuBLAS/cuDNN/NCCL from its
# core libraries, so they cannot be left out of its bundle. When the Python given has a
# CUDA torch, this script makes (once) a virtual environment build/venv-cpu with the CPU
# wheel and builds from there. Which wheel: $ARCX_CPU_TORCH, pip requirement specifiers
# (default below; add an index with PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu).
#
# Environment: PYTHON (default python3), ARCX_CPU_TORCH, and anything pip reads.
# Output: the bundle, its size and the build time on stdout; exit status non-zero if the
# build or the self-test fails.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
SCRIPT_START=$(date +%s)

FLAVOUR=cpu
CLEAN=0
while [ $# -gt 0 ]; do
  case "$1" in
    --flavour) FLAVOUR=$2; shift 2 ;;
    --flavour=*) FLAVOUR=${1#*=}; shift ;;
    --clean) CLEAN=1; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$FLAVOUR" in cpu|cuda) ;; *) echo "build.sh: --flavour is cpu or cuda" >&2; exit 2 ;; esac

PYTHON=${PYTHON:-python3}
ARCX_CPU_TORCH=${ARCX_CPU_TORCH:-"torch==2.13.0+cpu torchvision==0.28.0"}

torch_cuda() {  # prints torch.version.cuda of a Python, or "None"
  "$1" -c "import torch; print(torch.version.cuda)" 2>/dev/null || echo "missing"
}

log() { echo "build.sh: $*"; }

# PyPI's Linux torchvision wheel is built against the CUDA torch. Next to a CPU torch (when
# the PyTorch CPU index is out of reach and only the torch +cpu wheel was found) its ops
# libraries (_C.so, image.so) cannot load, and `import torchvision` then fails at two
# unguarded fake-op registrations ("operator torchvision::nms does not exist"). ArcX uses
# torchvision only for the ResNet-34 architecture, never its ops, so in this throwaway venv
# only: delete the CUDA-linked libraries and guard the two registrations. A venv made from
# the CPU index (PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu) never needs this.
cpu_torchvision() {
  "$1" -c "import torchvision" 2>/dev/null && return 0
  log "torchvision in $VENV is CUDA-built; removing its ops libraries (ArcX does not use them)"
  "$1" - <<'PY'
import pathlib, re, torch
tv = pathlib.Path(torch.__file__).parent.parent / "torchvision"
for lib in [*tv.glob("_C*.so"), *tv.glob("image*.so"), *tv.parent.glob("torchvision.libs/lib*cud*"),
            *tv.parent.glob("torchvision.libs/libnvjpeg*")]:
    lib.unlink()
meta = tv / "_meta_registrations.py"
text = meta.read_text()
if "_arcx_register_fake" not in text:
    text = text.replace("torch.library.register_fake(", "_arcx_register_fake(")
    text = text.replace(
        "import torchvision.extension  # noqa: F401\n",
        "import torchvision.extension  # noqa: F401\n\n\n"
        "def _arcx_register_fake(name, *args, **kwargs):  # patched by ArcX installer/build.sh\n"
        "    if torchvision.extension._has_ops():\n"
        "        return torch.library.register_fake(name, *args, **kwargs)\n"
        "    return lambda fn: fn\n",
        1,
    )
    meta.write_text(text)
PY
  "$1" -c "import torchvision, torchvision.models; torchvision.models.resnet34()"
}

if [ "$FLAVOUR" = cpu ] && [ "$(torch_cuda "$PYTHON")" != None ]; then
  VENV="$ROOT/build/venv-cpu"
  STAMP="$VENV/.arcx-torch"
  DEPS_STAMP="$VENV/.arcx-deps"
  if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$ARCX_CPU_TORCH" ]; then
    log "$PYTHON has a CUDA torch; making $VENV with: $ARCX_CPU_TORCH"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    # shellcheck disable=SC2086  # the specifiers are a list
    "$VENV/bin/python" -m pip install -q $ARCX_CPU_TORCH
    "$VENV/bin/python" -m pip install -q -e ".[build]"
    echo "$ARCX_CPU_TORCH" > "$STAMP"
  fi
  # The project's dependencies changed since the venv was made: install the new ones.
  if [ "$(cat "$DEPS_STAMP" 2>/dev/null)" != "$(sha256sum pyproject.toml)" ]; then
    "$VENV/bin/python" -m pip install -q -e ".[build]"
    sha256sum pyproject.toml > "$DEPS_STAMP"
  fi
  PYTHON="$VENV/bin/python"
  cpu_torchvision "$PYTHON"
  if [ "$(torch_cuda "$PYTHON")" != None ]; then
    echo "build.sh: $VENV still has a CUDA torch; set ARCX_CPU_TORCH to a CPU wheel" >&2
    exit 1
  fi
fi

"$PYTHON" -c "import PyInstaller" 2>/dev/null || "$PYTHON" -m pip install -q -e ".[build]"
VERSION=$("$PYTHON" -c "import app; print(app.__version__)")
log "ArcX $VERSION, flavour $FLAVOUR, $("$PYTHON" -c 'import sys, torch, PyInstaller; print(f"Python {sys.version.split()[0]}, torch {torch.__version__}, PyInstaller {PyInstaller.__version__}")')"

if ! "$PYTHON" resources/make_icons.py --check >/dev/null 2>&1; then
  log "warning: resources/icons are stale or could not be checked (python resources/make_icons.py)"
fi

DIST="$ROOT/dist/$FLAVOUR"
WORK="$ROOT/build/pyinstaller-$FLAVOUR"
[ "$CLEAN" = 1 ] && rm -rf "$WORK" "$DIST"

start=$(date +%s)
"$PYTHON" -m PyInstaller arcx.spec --noconfirm \
  --distpath "$DIST" --workpath "$WORK" -- --flavour "$FLAVOUR"
build_s=$(( $(date +%s) - start ))

BUNDLE="$DIST/ArcX"
size=$(du -sh "$BUNDLE" | cut -f1)
files=$(find "$BUNDLE" -type f | wc -l)
log "built $BUNDLE: $size in $files files, PyInstaller took ${build_s} s; largest parts:"
du -sh "$BUNDLE"/_internal/* 2>/dev/null | sort -rh | head -6 | sed 's/^/    /'

log "smoke test: $BUNDLE/arcx-console --self-test"
SMOKE_HOME=$(mktemp -d)
trap 'rm -rf "$SMOKE_HOME"' EXIT
# ARCX_HOME: a fresh, empty user dir, so the test sees what a first start sees.
if ! ARCX_HOME="$SMOKE_HOME" "$BUNDLE/arcx-console" --self-test; then
  echo "build.sh: the frozen self-test FAILED; the bundle is in $BUNDLE" >&2
  exit 1
fi
log "OK: $BUNDLE ($size), PyInstaller ${build_s} s, all steps $(( $(date +%s) - SCRIPT_START )) s, frozen self-test passed"
