"""FrameEncoder: one uint8 RGB frame → one latent z ∈ R^D.

    frame [B, 225, 400, 3] or [B, 3, 225, 400] uint8
      → ImageNet normalisation (inside the model)
      → ResNet-34 trunk (torchvision; conv1 … layer4) → global average pool → [B, 512]
      → Linear(512, D) + LayerNorm + ReLU → z [B, D]

Weights, in order of preference: an explicit file; `models/encoder_resnet34.safetensors`
(ImageNet trunk converted by `installer/fetch_weights.py`, hash-verified); torchvision's
cache (`resnet34-b627a593.pth`, read with `weights_only=True`); otherwise a random init
from a fixed seed, reported loudly. Random init is seeded so every machine without
weights gets the same encoder and the same encoder id.

The **encoder id** is the first 16 hex digits of the SHA-256 of all weights: recorded
runs and checkpoints carry it, so latents of different encoders are never mixed.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torchvision
from torch import nn

from app.core import paths
from app.core.errors import CheckpointMismatchError
from app.core.model.checkpoint import read_tensors, tensor_digest, write_tensors

log = logging.getLogger(__name__)

ENCODER_FILE = "encoder_resnet34.safetensors"
TORCHVISION_FILE = "resnet34-b627a593.pth"
ENCODER_FORMAT = "arcx-encoder"
RANDOM_INIT_SEED = 0
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TRUNK_FEATURES = 512  # ResNet-34's last stage has 512 channels


@dataclass(frozen=True)
class EncoderConfig:
    latent_dim: int = 512
    """D: size of the latent each frame becomes"""
    height: int = 225
    """input frame height in pixels (frames are resized to this before encoding)"""
    width: int = 400
    """input frame width in pixels"""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


WeightSource = Literal["file", "bundled", "torchvision-cache", "random"]


@dataclass(frozen=True)
class EncoderInfo:
    """Where the encoder's weights came from and its id."""

    source: WeightSource
    path: str | None
    encoder_id: str
    pretrained: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FrameEncoder(nn.Module):
    """ResNet-34 trunk + projection. Input uint8 frames, output [B, D] float32."""

    pixel_mean: torch.Tensor
    pixel_std: torch.Tensor

    def __init__(self, config: EncoderConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or EncoderConfig()
        resnet = torchvision.models.resnet34(weights=None)
        # Everything up to layer4; torchvision's own avgpool and fc are dropped.
        self.trunk = nn.Sequential(
            resnet.conv1, resnet.bn1, resnet.relu, resnet.maxpool,
            resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4,
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.proj = nn.Sequential(
            nn.Linear(TRUNK_FEATURES, cfg.latent_dim), nn.LayerNorm(cfg.latent_dim), nn.ReLU()
        )
        # (x/255 − mean)/std folded into one affine map of the raw 0..255 values.
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0
        self.register_buffer("pixel_mean", mean, persistent=False)
        self.register_buffer("pixel_std", std, persistent=False)

    def to_nchw(self, frames: torch.Tensor) -> torch.Tensor:
        """Accept [B, H, W, 3] or [B, 3, H, W] uint8; return [B, 3, H, W] uint8."""
        H, W = self.config.height, self.config.width
        if frames.dtype != torch.uint8:
            raise ValueError(f"frames must be uint8 RGB, got {frames.dtype}")
        if frames.ndim != 4:
            raise ValueError(f"frames must be [B, {H}, {W}, 3] or [B, 3, {H}, {W}], got {list(frames.shape)}")
        if tuple(frames.shape[1:]) == (H, W, 3):
            return frames.permute(0, 3, 1, 2)  # (B, 3, H, W)
        if tuple(frames.shape[1:]) == (3, H, W):
            return frames
        raise ValueError(f"frames must be [B, {H}, {W}, 3] or [B, 3, {H}, {W}], got {list(frames.shape)}")

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = self.to_nchw(frames).float()  # (B, 3, H, W) in 0..255
        x = (x - self.pixel_mean) / self.pixel_std
        feat = self.pool(self.trunk(x)).flatten(1)  # (B, 512)
        return self.proj(feat)  # (B, D)

    def encoder_id(self) -> str:
        return encoder_id_of(self)

    @torch.no_grad()
    def encode(self, frames: np.ndarray) -> np.ndarray:
        """Convenience: numpy uint8 frames (one [H, W, 3] or a batch) → float32 [B, D]."""
        arr = np.asarray(frames)
        if arr.ndim == 3:
            arr = arr[None]
        device = next(self.parameters()).device
        x = torch.from_numpy(np.ascontiguousarray(arr)).to(device)
        return self(x).float().cpu().numpy()


def encoder_id_of(model: nn.Module) -> str:
    """Hash of all weights (persistent buffers included): 16 hex digits."""
    return tensor_digest(model.state_dict())[:16]


def _seeded_encoder(config: EncoderConfig) -> FrameEncoder:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_INIT_SEED)
        return FrameEncoder(config)


def torchvision_cache_file() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE


def _load_torchvision_trunk(model: FrameEncoder, path: Path) -> None:
    """Copy an ImageNet ResNet-34 state dict (torchvision names) into the trunk."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    # torchvision names → our Sequential indices (conv1=0, bn1=1, layer1..4=4..7)
    rename = {"conv1": "0", "bn1": "1", "layer1": "4", "layer2": "5", "layer3": "6", "layer4": "7"}
    trunk_state = {}
    for key, value in state.items():
        head, _, rest = key.partition(".")
        if head in rename:
            trunk_state[f"{rename[head]}.{rest}"] = value
    model.trunk.load_state_dict(trunk_state)


def save_encoder(path: Path, model: FrameEncoder, *, extra: dict[str, str] | None = None) -> Path:
    """Write the whole encoder (trunk + projection) as a hash-verified safetensors file."""
    import json

    meta = {
        **(extra or {}),
        "format": ENCODER_FORMAT,
        "config": json.dumps(model.config.to_dict(), sort_keys=True),
        "encoder_id": model.encoder_id(),
    }
    return write_tensors(path, model.state_dict(), meta)


def load_encoder(
    weights: Path | str | None = None,
    *,
    config: EncoderConfig | None = None,
    device: str | torch.device = "cpu",
    search_bundled: bool = True,
) -> tuple[FrameEncoder, EncoderInfo]:
    """Build the encoder with the best weights available; never silently random.

    `weights`: an explicit `.safetensors` file (must exist). Otherwise the bundled file,
    then the torchvision cache, then a seeded random init (with a loud warning).
    """
    config = config or EncoderConfig()
    model = _seeded_encoder(config)
    source: WeightSource
    path: Path | None
    candidates: list[tuple[WeightSource, Path]] = []
    if weights is not None:
        candidates.append(("file", Path(weights)))
    elif search_bundled:
        candidates.append(("bundled", paths.bundled_models_dir() / ENCODER_FILE))
        candidates.append(("torchvision-cache", torchvision_cache_file()))

    source, path = "random", None
    for kind, cand in candidates:
        if kind == "file" or cand.is_file():
            if kind == "torchvision-cache":
                _load_torchvision_trunk(model, cand)
            else:
                tensors, meta = read_tensors(cand)
                if meta.get("format") != ENCODER_FORMAT:
                    raise CheckpointMismatchError(f"{cand.name} is not an ArcX encoder file")
                try:
                    model.load_state_dict(tensors)
                except RuntimeError as exc:
                    raise CheckpointMismatchError(f"{cand.name} does not fit the encoder: {exc}") from exc
            source, path = kind, cand
            break

    model.to(device).eval()
    enc_id = model.encoder_id()
    if source == "random":
        message = (
            "NO PRETRAINED ENCODER WEIGHTS: the ResNet-34 runs with a seeded random init. "
            f"Put {ENCODER_FILE} in {paths.bundled_models_dir()} (installer/fetch_weights.py) "
            "for real ImageNet features."
        )
        log.warning(message)
    else:
        message = f"encoder weights from {source}: {path}"
        log.info(message)
    info = EncoderInfo(source, str(path) if path else None, enc_id, source != "random", message)
    return model, info
