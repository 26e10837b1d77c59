"""Frame orders for T-GRPO's shuffled rollouts and the shuffled-frame evaluation, seeded reproducibly.

The trainer (one permutation per video group and step) and the demo's control evaluation (one per sample)
shuffle the same way, so both live here, below everything that uses them.

The shuffle for timestamped video (Qwen3-VL)
--------------------------------------------
T-GRPO contrasts the same question on the frames in order and on the same frames shuffled, with the time
axis left in place. Qwen3-VL writes the time as text, ``<t seconds>`` before each temporal patch (2 frames);
if those strings travelled with the shuffled frames the model could put the frames back in order. So:

- the unit is the **temporal patch** (:data:`TEMPORAL_PATCH`): whole 2-frame patches are permuted, each
  patch stays the same pair of frames in the same order, so the vision patches of the shuffled video are
  exactly the ordered video's patches, permuted;
- the shuffled video is given the **ordered** video's metadata (:func:`shuffled_video`): the processor
  then writes the same ascending timestamps as in the ordered prompt, and the prompt's token ids (text,
  timestamps, placeholders) equal the ordered prompt's;
- shuffling the frames inside the patches too is a separate option, :data:`TEMPORAL_PATCH_AND_FRAMES`
  (patches permuted, and the two frames of each patch swapped at random): the patches are then new
  pairs of frames, not a permutation of the ordered ones.

:func:`default_shuffle_unit` picks ``temporal_patch`` for a family that writes timestamps and the
original's ``frame`` otherwise (Qwen2.5-VL fuses random frame pairs into a patch, as Video-R1 did).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import torch

#: Frame orders: single frames (the original), whole temporal patches, patches plus the frames inside them.
FRAME, TEMPORAL_PATCH, TEMPORAL_PATCH_AND_FRAMES = "frame", "temporal_patch", "temporal_patch_and_frames"
SHUFFLE_UNITS = (FRAME, TEMPORAL_PATCH, TEMPORAL_PATCH_AND_FRAMES)


def seeded_generator(*keys: object) -> torch.Generator:
    """A ``torch.Generator`` seeded from ``keys`` (e.g. ``(seed, step, group)``): same keys, same draws."""
    digest = hashlib.sha256(":".join(str(k) for k in keys).encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little"))


def shuffle_permutation(num_frames: int, unit: str, generator: torch.Generator) -> torch.Tensor:
    """A random frame order that differs from the identity (frame-level or temporal-patch-level).

    ``unit="frame"`` permutes single frames (the original's ``torch.randperm`` over dim 0);
    ``unit="temporal_patch"`` permutes pairs of consecutive frames, keeping each pair together;
    ``unit="temporal_patch_and_frames"`` does that and then swaps the two frames of each pair at random.
    Draws are repeated until the order differs from the original one, so the shuffled rollout really is
    shuffled.
    """
    if unit not in SHUFFLE_UNITS:
        raise ValueError(f"unknown shuffle unit {unit!r}; one of {SHUFFLE_UNITS}")
    if unit == TEMPORAL_PATCH_AND_FRAMES:
        patches = shuffle_permutation(num_frames, TEMPORAL_PATCH, generator).view(-1, 2)
        swap = torch.randint(0, 2, (patches.shape[0],), generator=generator).bool()
        patches[swap] = patches[swap].flip(1)
        return patches.reshape(-1)
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


def default_shuffle_unit(timestamps_in_text: bool) -> str:
    """``temporal_patch`` for a family whose prompt carries frame timestamps (Qwen3-VL), else the original's
    ``frame`` (pass ``ModelFamily.timestamps_in_text``)."""
    return TEMPORAL_PATCH if timestamps_in_text else FRAME


def shuffled_video(media: Mapping[str, Any], permutation: torch.Tensor) -> dict[str, Any]:
    """A decoded video (``collate.media_to_dict`` form) with its frames in ``permutation`` order and the
    ordered video's metadata, unchanged: the processor writes the ordered prompt's timestamps for it."""
    if media.get("type") != "video":
        raise ValueError(f"only videos are shuffled, got a {media.get('type')!r} item")
    frames = media["frames"]
    if sorted(int(i) for i in permutation) != list(range(frames.shape[0])):
        raise ValueError(f"not a permutation of {frames.shape[0]} frames: {list(permutation)}")
    return {**media, "frames": frames[permutation], "shuffle_permutation": [int(i) for i in permutation]}
