"""Frame orders for T-GRPO's shuffled rollouts and the shuffled-frame evaluation, seeded reproducibly.

The trainer (one permutation per video group and step) and the demo's control evaluation (one per sample)
shuffle the same way, so both live here, below everything that uses them.
"""

from __future__ import annotations

import hashlib

import torch


def seeded_generator(*keys: object) -> torch.Generator:
    """A ``torch.Generator`` seeded from ``keys`` (e.g. ``(seed, step, group)``): same keys, same draws."""
    digest = hashlib.sha256(":".join(str(k) for k in keys).encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))


def shuffle_permutation(num_frames: int, unit: str, generator: torch.Generator) -> torch.Tensor:
    """A random frame order that differs from the identity (frame-level or temporal-patch-level).

    ``unit="frame"`` permutes single frames (the original's ``torch.randperm`` over dim 0);
    ``unit="temporal_patch"`` permutes pairs of consecutive frames, keeping each pair together. Draws are
    repeated until the order differs from the original one, so the shuffled rollout really is shuffled.
    """
    if unit == "frame":
        size, block = num_frames, 1
    else:
        if num_frames % 2:
            raise ValueError(f"temporal_patch shuffling needs an even frame count, got {num_frames}")
        size, block = num_frames // 2, 2
    if size < 2:
        raise ValueError(f"cannot shuffle {num_frames} frame(s) at unit {unit!r}")
    identity = torch.arange(size)
    while True:
        perm = torch.randperm(size, generator=generator)
        if not torch.equal(perm, identity):
            break
    return (perm[:, None] * block + torch.arange(block)[None, :]).reshape(-1)
