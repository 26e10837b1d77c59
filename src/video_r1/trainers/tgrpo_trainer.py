"""T-GRPO (Video-R1): :class:`~video_r1.trainers.VideoGRPOTrainer` + the shuffled rollout + the bonus.

This module is the paper's delta over GRPO on video, and nothing else:

1. **the shuffled rollout** - for every video group, ``shuffled_num_generations`` completions on a copy of
   the prompt whose frames are permuted (same text; :mod:`video_r1.data.shuffle` draws the order, one per
   group and step). They are generated *in the same call* as the ordered completions (the base trainer's
   extra rows), scored with the accuracy reward, and never enter the loss.
2. **the temporal contrast** - the shuffled accuracies go to the per-group rule
   (:func:`video_r1.rewards.group.group_bonuses`), which applies the bonus where ``temporal_mode`` says: the
   original's ``+alpha`` on the accuracy column (``bonus``, default; a ``temporal_bonus`` reward column
   weighted like accuracy, so the total equals the original's while ``rewards/accuracy_reward/mean`` stays
   the pre-bonus accuracy, as the original logged it), or a term added to the advantages after
   normalisation (``bonus_advantage``, ``order_gap``). Groups may span processes: accuracies are gathered
   before the rule combines them.

Everything else (video through TRL, the length bonus, the advantage-effect metrics) is the base class's.
"""

from __future__ import annotations

from typing import Any

import torch

from video_r1.data.shuffle import default_shuffle_unit, seeded_generator, shuffle_permutation, shuffled_video
from video_r1.trainers.rollout import Rollout, ShuffleRecord
from video_r1.trainers.tgrpo_config import TGRPOConfig
from video_r1.trainers.video_grpo_trainer import VideoGRPOTrainer


class TGRPOTrainer(VideoGRPOTrainer):
    """GRPO on video with the temporal contrast of Video-R1 (see the module docstring).

    Same arguments as :class:`VideoGRPOTrainer`. With ``temporal=False`` it skips the shuffled rollout and
    trains exactly as :class:`VideoGRPOTrainer`. With ``record_shuffles=True`` the frame order and prompt ids
    of every shuffled rollout of the last step are kept in :attr:`last_shuffle` (indices only, no frames).
    """

    temporal_contrast = True

    def __init__(self, *args, **kwargs):
        self.last_shuffle: list[ShuffleRecord] = []
        super().__init__(*args, **kwargs)

    def _configure_for_family(self, args: TGRPOConfig) -> None:
        """The base class's settings, and ``shuffle_unit=None`` resolved to the family's default
        (:func:`~video_r1.data.shuffle.default_shuffle_unit`: ``temporal_patch`` when the prompt carries
        frame timestamps, Qwen3-VL and Qwen3.5; the original's ``frame`` for Qwen2.5-VL)."""
        super()._configure_for_family(args)
        if args.shuffle_unit is None:
            args.shuffle_unit = default_shuffle_unit(self.family.timestamps_in_text)

    def _check_temporal_setting(self, args: TGRPOConfig) -> None:
        """Either setting of ``temporal`` is valid here (False = plain GRPO on video)."""

    def _bonus_columns(self, args: TGRPOConfig) -> list[tuple[str, float | str]]:
        columns = super()._bonus_columns(args)
        if args.temporal and args.temporal_mode == "bonus":  # part of the accuracy term, as the original
            columns.insert(0, ("temporal_bonus", "accuracy"))
        return columns

    # ------------------------------------------------------------------------------------------------
    # 1. the shuffled rollout

    def _shuffle_generator(self, group_index: int) -> torch.Generator:
        return seeded_generator(self.args.seed, self.state.global_step, group_index)

    def _prepare_rollout(self, inputs: list[dict[str, Any]]) -> Rollout:
        """The ordered rows (base class) plus one shuffled copy per video group, attached to the group's
        first ``shuffled_num_generations`` rows (which may sit on several processes)."""
        rollout = super()._prepare_rollout(inputs)
        if not (self.args.temporal and self.model.training):
            return rollout
        self.last_shuffle = []
        group = self._group_size()
        first = self.accelerator.process_index * len(inputs)  # global index of this process's row 0
        per_group: dict[int, tuple] = {}
        for i, row in enumerate(inputs):
            group_index, slot = divmod(first + i, group)
            if row["media"]["type"] != "video" or slot >= self.args.shuffled_num_generations:
                continue
            if group_index not in per_group:
                frames = row["media"]["frames"]
                perm = shuffle_permutation(
                    frames.shape[0], self.args.shuffle_unit, self._shuffle_generator(group_index)
                )
                # the ordered video's metadata stays: a timestamped family writes the same ascending times
                media = shuffled_video(row["media"], perm)
                per_group[group_index] = (*self._process_sample(row["prompt"], media), media)
                if self.args.record_shuffles:
                    self.last_shuffle.append(
                        ShuffleRecord(
                            group=group_index,
                            problem_id=row["problem_id"],
                            permutation=perm.tolist(),
                            prompt_ids=per_group[group_index][0],
                            ordered_prompt_ids=rollout.prompt_ids[i],
                        )
                    )
            ids, fields, mm, media = per_group[group_index]
            rollout.shuffled.add(i, ids, fields, mm, media)
        return rollout

    # ------------------------------------------------------------------------------------------------
    # 2. the temporal contrast: shuffled accuracies for the per-group rule

    def _shuffled_accuracy(self, inputs) -> torch.Tensor | None:
        """Per local row: accuracy of its shuffled completion, NaN for rows without one."""
        if not self.args.temporal:
            return None
        acc = torch.full((len(inputs),), float("nan"))
        shuffled = self._rollout.shuffled if self._rollout is not None else None
        if shuffled is None or not shuffled.rows:
            return acc
        texts = self.processing_class.batch_decode(shuffled.completion_ids, skip_special_tokens=True)
        # The same accuracy function as the ordered completions, with the rows' columns (as TRL passes them).
        columns = {
            key: [inputs[i][key] for i in shuffled.rows]
            for key in inputs[0]
            if key not in ("prompt", "media")
        }
        accuracy = self.reward_funcs[self._accuracy_col]
        scores = accuracy(
            self.with_reply_prefix([[{"role": "assistant", "content": t}] for t in texts]), **columns
        )
        acc[torch.tensor(shuffled.rows)] = torch.tensor(
            [float("nan") if s is None else float(s) for s in scores], dtype=acc.dtype
        )
        return acc
