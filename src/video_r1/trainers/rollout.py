"""What the video trainers hand from one TRL hook to the next during a rollout, as typed records.

TRL's ``_generate_and_score_completions`` calls ``_tokenize_prompts``, ``_generate_single_turn`` and
``_calculate_rewards`` in turn with arguments that cannot carry video. :class:`Rollout` holds, for one
generation batch, what :class:`~video_r1.trainers.VideoGRPOTrainer` prepared before calling TRL (processor
outputs per row) and what the hooks add on the way (completions of the extra rows, the post-normalisation
advantage term). It lives only for the duration of one ``_generate_and_score_completions`` call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

#: Processor outputs of one row: vision tensors (pixel_values[_videos], *_grid_thw, second_per_grid_ts).
VisionFields = dict[str, torch.Tensor]


@dataclass
class ShuffledRows:
    """Extra rows generated in the same call as the ordered ones but never trained on (T-GRPO's shuffled
    rollouts). ``rows[k]`` is the local ordered row whose prompt the k-th extra row shuffles."""

    rows: list[int] = field(default_factory=list)
    prompt_ids: list[list[int]] = field(default_factory=list)
    vision: list[VisionFields] = field(default_factory=list)
    mm: list[list[int] | None] = field(default_factory=list)
    media: list[dict[str, Any]] = field(default_factory=list)
    #: Filled by generation: one completion per extra row.
    completion_ids: list[list[int]] = field(default_factory=list)

    def add(self, row: int, prompt_ids: list[int], vision: VisionFields, mm, media: dict[str, Any]) -> None:
        self.rows.append(row)
        self.prompt_ids.append(prompt_ids)
        self.vision.append(vision)
        self.mm.append(mm)
        self.media.append(media)


@dataclass
class Rollout:
    """One generation batch, row by row (``prompt_ids`` are the HF-expanded ids the log-prob passes use)."""

    media: list[dict[str, Any]]
    prompt_ids: list[list[int]]
    vision: list[VisionFields]
    mm: list[list[int] | None]
    shuffled: ShuffledRows = field(default_factory=ShuffledRows)
    #: Set by the reward step: added to TRL's advantages after normalisation (all processes' rows).
    advantage_term: torch.Tensor | None = None


@dataclass(frozen=True)
class ShuffleRecord:
    """What one shuffled rollout saw (kept only with ``record_shuffles``): indices, no frames."""

    group: int
    problem_id: Any
    permutation: list[int]
    prompt_ids: list[int]
    ordered_prompt_ids: list[int]
