"""Make `models/encoder_resnet34.safetensors`: the ImageNet ResNet-34 trunk in ArcX's encoder.

    python installer/fetch_weights.py                       # download from torchvision, convert
    python installer/fetch_weights.py --from-file resnet34-b627a593.pth   # offline
    python installer/fetch_weights.py --force               # rebuild an existing file

Run on a build machine with internet (installer/build.ps1 does, before PyInstaller). It
takes torchvision's `ResNet34_Weights.IMAGENET1K_V1` (downloaded into torch's hub cache,
with torchvision's published SHA-256 prefix checked), copies the trunk into ArcX's
`FrameEncoder` exactly as the app does when it finds torchvision's cache file (the
projection head keeps its seeded random init, so every machine gets the same encoder), and
writes the whole encoder with `save_encoder`: safetensors, the encoder id and a content
SHA-256 in the header, verified by the app at every load. It then loads the file back the
way the app does and prints the encoder id and the hashes.

`--from-file` takes a local torchvision-format state dict instead (a `.pth` read with
`weights_only=True`, never unpickled code). A file whose SHA-256 does not start with
torchvision's published prefix is converted with a warning: fine for tests, not for a
release. The weights are never committed to git (`.gitignore`: models/*.safetensors).
Exit status: 0 written or already valid, 2 a bad input, 1 anything else.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app import __version__  # noqa: E402 (after the path is set)

DEFAULT_OUT = ROOT / "models" / "encoder_resnet34.safetensors"
# torchvision names its weight files <arch>-<first 8 hex digits of the SHA-256>.pth
TORCHVISION_WEIGHTS = "ResNet34_Weights.IMAGENET1K_V1"
TORCHVISION_SHA256_PREFIX = "b627a593"
SOURCE_NAME = f"torchvision {TORCHVISION_WEIGHTS} (ImageNet)"
# Read in chunks when hashing a weights file: ~85 MB, no need to hold it twice.
_HASH_CHUNK = 1 << 20


class BadInput(Exception):
    """The given state dict is not torchvision's ResNet-34."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def download() -> Path:
    """torchvision's ImageNet ResNet-34 into torch's hub cache (hash-checked); its path."""
    import torchvision

    from app.core.model.encoder import torchvision_cache_file

    weights = getattr(torchvision.models.ResNet34_Weights, TORCHVISION_WEIGHTS.split(".")[1])
    weights.get_state_dict(progress=True, check_hash=True)
    path = torchvision_cache_file()
    if not path.is_file():
        raise RuntimeError(f"torchvision downloaded the weights, but not to {path}")
    return path


def check_state_dict(path: Path) -> None:
    """Raise BadInput unless `path` holds a torchvision ResNet-34 state dict (names and shapes)."""
    import torch
    import torchvision

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a bad pickle raises one of many types
        raise BadInput(f"{path} is not a torch state dict ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict):
        raise BadInput(f"{path} holds a {type(state).__name__}, not a state dict")
    expected = {k: tuple(v.shape) for k, v in torchvision.models.resnet34(weights=None).state_dict().items()}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise BadInput(
            f"{path} is not a torchvision ResNet-34: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    wrong = [f"{k} {tuple(state[k].shape)} ≠ {s}" for k, s in expected.items() if tuple(state[k].shape) != s]
    if wrong:
        raise BadInput(f"{path} has ResNet-34 names but wrong shapes: {'; '.join(wrong[:3])}")


def convert(source: Path, out: Path) -> tuple[str, str]:
    """Build the encoder from `source`, write `out`, load it back. (encoder id, content sha256)."""
    import numpy as np

    from app.core.model.checkpoint import read_metadata
    from app.core.model.encoder import (
        EncoderConfig,
        _load_torchvision_trunk,
        _seeded_encoder,
        load_encoder,
        save_encoder,
    )

    check_state_dict(source)
    source_sha = sha256_file(source)
    if not source_sha.startswith(TORCHVISION_SHA256_PREFIX):
        print(
            f"warning: {source.name} is not torchvision's published file (sha256 {source_sha[:12]}…, "
            f"expected {TORCHVISION_SHA256_PREFIX}…); do not ship this encoder",
            file=sys.stderr,
        )
    # The same two calls load_encoder makes for torchvision's cache file: the seeded
    # encoder, then the trunk copied in by name. The projection head stays seeded-random.
    model = _seeded_encoder(EncoderConfig())
    _load_torchvision_trunk(model, source)
    model.eval()
    save_encoder(
        out,
        model,
        extra={
            "source": SOURCE_NAME,
            "source_file": source.name,
            "source_sha256": source_sha,
            "converted_by": f"arcx {__version__} installer/fetch_weights.py",
        },
    )
    # Load it back exactly as the app will, hash check included.
    loaded, info = load_encoder(out)
    if info.encoder_id != model.encoder_id():
        raise RuntimeError(f"{out} loads as encoder {info.encoder_id}, expected {model.encoder_id()}")
    z = loaded.encode(np.zeros((loaded.config.height, loaded.config.width, 3), np.uint8))
    if not np.isfinite(z).all():
        raise RuntimeError(f"{out} gives non-finite latents")
    return info.encoder_id, read_metadata(out)["content_sha256"]


def report(out: Path, encoder_id: str, content_sha: str) -> None:
    print(f"encoder file:    {out} ({out.stat().st_size / 2**20:.1f} MiB)")
    print(f"encoder id:      {encoder_id}")
    print(f"content sha256:  {content_sha}")
    print(f"file sha256:     {sha256_file(out)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fetch_weights.py", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--from-file", type=Path, metavar="PATH", help="a local torchvision ResNet-34 .pth")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output (default {DEFAULT_OUT})")
    parser.add_argument("--force", action="store_true", help="rebuild even if the output is valid")
    args = parser.parse_args(argv)

    from app.core.errors import CheckpointError
    from app.core.model.checkpoint import read_metadata
    from app.core.model.encoder import load_encoder

    out: Path = args.out
    if out.is_file() and not args.force and args.from_file is None:
        try:
            _, info = load_encoder(out)
        except CheckpointError as exc:
            print(f"{out} exists but is not valid ({exc}); rebuilding", file=sys.stderr)
        else:
            print(f"{out} exists and verifies; --force rebuilds it")
            report(out, info.encoder_id, read_metadata(out)["content_sha256"])
            return 0
    try:
        if args.from_file is not None:
            if not args.from_file.is_file():
                raise BadInput(f"{args.from_file} does not exist")
            source = args.from_file
        else:
            print(f"downloading {SOURCE_NAME} …")
            source = download()
        encoder_id, content_sha = convert(source, out)
    except BadInput as exc:
        print(f"fetch_weights: {exc}", file=sys.stderr)
        return 2
    report(out, encoder_id, content_sha)
    return 0


if __name__ == "__main__":
    sys.exit(main())
