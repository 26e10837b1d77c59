"""T-GRPO (Video-R1) as a thin subclass of TRL's ``GRPOTrainer``.

TRL 1.16 handles images only. This subclass is the paper's delta over it and nothing more:

* **video through every stage**: each distinct sample of a batch goes through the Qwen2.5-VL processor
  once (with its real sampling metadata, see ``temporal_rope``); its ``pixel_values_videos``,
  ``video_grid_thw``, ``second_per_grid_ts`` (or ``pixel_values``/``image_grid_thw`` for images) travel
  with every row as a per-row ``vision`` entry, so they survive TRL's buffering/shuffling and reach
  generation, the old/reference log-prob passes and the loss. ``mm_token_type_ids`` is rebuilt from the
  token ids for every forward. Images and videos mix freely in one batch; any number of prompts per device.
* **temporal contrast**: for every video group, ``shuffled_num_generations`` completions on a frame-shuffled
  copy (same text, permuted frames) are sampled *in the same generate call* as the ordered ones, scored
  with the accuracy reward, and never enter the loss. Groups may span processes: accuracies are gathered
  before :func:`~video_r1.rewards.temporal_bonus` / :func:`~video_r1.rewards.length_bonus` combine them.
* **bonuses as reward columns**: the temporal and length bonuses are two extra columns of TRL's reward
  matrix (``temporal_bonus`` with the accuracy weight, ``length_bonus`` with weight 1), so the total reward
  equals the original's (bonus added to the accuracy term; length bonus added to the total, judged on the
  pre-bonus accuracy) while ``rewards/accuracy/mean`` stays the pre-bonus accuracy, as the original logged it.

* **vision features shared by a prompt's completions** (``reuse_vision_features``): each distinct image or
  video is encoded once per log-prob chunk and once per generation call (ordered and shuffled copies are
  distinct media) and its features are expanded to the rows that use it; TRL and the original re-encode
  it for every completion in every pass. The Qwen2.5-VL side of this is :mod:`video_r1.models.shared_vision`.

Frame orders come from :mod:`video_r1.data.shuffle`; what reaches vLLM from :mod:`video_r1.vllm`.

Everything else - sampling, reward bookkeeping, group advantages, KL, loss, logging, vLLM weight sync,
DeepSpeed - is TRL's own code.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import torch
from trl import GRPOTrainer

from video_r1.data.collate import INDEX_COLUMN, build_processor_inputs
from video_r1.data.shuffle import seeded_generator, shuffle_permutation
from video_r1.models.qwen2_5_vl import (
    VIDEO_KEYS,
    VISION_KEYS,
    install_released_mrope,
    mm_token_type_ids,
    vision_placeholder_ids,
    vision_token_ids,
)
from video_r1.models.shared_vision import (
    SharedVisionForward,
    WithVideoInputs,
    cat_vision,
    shared_vision_generation,
)
from video_r1.rewards import get_reward_funcs, length_bonus, temporal_bonus
from video_r1.rewards.accuracy import accuracy_reward
from video_r1.trainers.checkpoint import ResumeWithKeyMappingMixin
from video_r1.trainers.common import decode_media_on_access, start_trainer
from video_r1.trainers.lora import install_merged_weight_sync
from video_r1.trainers.run_folder import RunFolderMixin
from video_r1.trainers.steps import LRHorizonMixin, global_batch_line
from video_r1.trainers.tgrpo_config import TGRPOConfig
from video_r1.vllm.colocate import MediaAwareLLM, VLLMMedia, suppress_tokens_kwargs

logger = logging.getLogger(__name__)


def _placeholder_reward(name: str):
    """A reward column filled in by :meth:`TGRPOTrainer._calculate_rewards` (TRL needs a callable)."""

    def reward(completions, **kwargs):
        return [0.0] * len(completions)

    reward.__name__ = name
    return reward


class TGRPOTrainer(RunFolderMixin, LRHorizonMixin, ResumeWithKeyMappingMixin, GRPOTrainer):
    """GRPO with video inputs and the temporal-contrast reward of Video-R1 (see module docstring).

    ``train_dataset`` is a records dataset from :func:`video_r1.data.records.load_records`; the trainer adds
    the decoding transform (vision preset, bad-media policy) itself. ``reward_funcs`` defaults to
    ``args.reward_funcs`` (names from :mod:`video_r1.rewards`). ``media_loader`` (default: decode on every
    access) replaces :func:`video_r1.data.media.load_media_for_record`, e.g. a
    :class:`~video_r1.data.frame_cache.FrameCache` shared with other stages of a run. ``peft_config`` (a ``peft.LoraConfig``)
    trains a LoRA adapter instead of the whole model (see :mod:`video_r1.trainers.lora`).
    """

    def __init__(
        self,
        model,
        reward_funcs=None,
        args: TGRPOConfig | None = None,
        train_dataset=None,
        media_loader=None,
        **kwargs,
    ):
        args = start_trainer("TGRPOTrainer", model, args, TGRPOConfig, kwargs)
        processing_class = kwargs["processing_class"]

        if reward_funcs is None:
            reward_funcs = get_reward_funcs(args.reward_funcs)
        reward_funcs = list(reward_funcs)
        names = [getattr(f, "__name__", "") for f in reward_funcs]
        if "accuracy_reward" not in names:
            raise ValueError("reward_funcs must contain video_r1.rewards.accuracy_reward")
        self._accuracy_col = names.index("accuracy_reward")
        self._temporal_col = self._length_col = None
        weights = list(args.reward_weights) if args.reward_weights is not None else None
        if args.temporal:
            self._temporal_col = len(reward_funcs)
            reward_funcs.append(_placeholder_reward("temporal_bonus"))
            if weights is not None:
                weights.append(weights[self._accuracy_col])  # the bonus is part of the accuracy term
        if args.len_control:
            self._length_col = len(reward_funcs)
            reward_funcs.append(_placeholder_reward("length_bonus"))
            if weights is not None:
                weights.append(1.0)
        args.reward_weights = weights

        args.generation_kwargs = suppress_tokens_kwargs(
            args.generation_kwargs, vision_placeholder_ids(processing_class), args.use_vllm
        )

        self.media_policy, train_dataset = decode_media_on_access(
            args, train_dataset, kwargs, "train", loader=media_loader
        )

        self._active_vision: list[dict[str, torch.Tensor]] | None = None
        self._rollout: dict[str, Any] | None = None
        self.last_shuffle: list[dict[str, Any]] = []  # what the last shuffled rollout saw (inspectable)
        self._vision_token_ids = vision_token_ids(processing_class)
        install_released_mrope()  # before TRL builds the policy and reference models
        super().__init__(
            model=model, reward_funcs=reward_funcs, args=args, train_dataset=train_dataset, **kwargs
        )
        if self.accelerator.is_main_process:
            print(
                global_batch_line(self.args, self.accelerator.num_processes, self.num_generations), flush=True
            )
        if self.use_vllm:
            self._wrap_vllm_engine()
            install_merged_weight_sync(self.vllm_generation)  # LoRA: base weights untouched by the sync
        if self.args.freeze_vision_tower:
            for param in self._vision_model(self.model).visual.parameters():
                param.requires_grad_(False)

    def _wrap_vllm_engine(self) -> None:
        """Let TRL's colocated ``vllm.LLM`` receive videos (see :class:`VLLMMedia`)."""
        if self.vllm_mode == "colocate" and not isinstance(self.vllm_generation.llm, MediaAwareLLM):
            self.vllm_generation.llm = MediaAwareLLM(
                self.vllm_generation.llm, list(self._vision_token_ids.values())
            )

    # ------------------------------------------------------------------------------------------------
    # Processor inputs, one call per distinct sample

    def _process_sample(self, prompt, media) -> tuple[list[int], dict[str, torch.Tensor], list[int]]:
        text = self.processing_class.apply_chat_template(
            prompt, tokenize=False, add_generation_prompt=True, **self.chat_template_kwargs
        )
        out = build_processor_inputs(
            self.processing_class, [text], [media], temporal_rope=self.args.temporal_rope, return_tensors="pt"
        )
        vision = {k: out[k] for k in VISION_KEYS if k in out}
        mm = out["mm_token_type_ids"][0].tolist() if "mm_token_type_ids" in out else None
        return out["input_ids"][0].tolist(), vision, mm

    _cat_vision = staticmethod(cat_vision)

    def _mode_and_group_size(self) -> tuple[str, int]:
        """("train" | "eval", completions per prompt group) for the current mode."""
        if self.model.training:
            return "train", self.num_generations
        return "eval", self.num_generations_eval

    def _shuffle_generator(self, group_index: int) -> torch.Generator:
        return seeded_generator(self.args.seed, self.state.global_step, group_index)

    def _prepare_rollout(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        """Processor inputs for every row (one processor call per distinct sample) and the shuffled copies."""
        cache: dict[Any, tuple] = {}
        prompt_ids, vision, mm_types = [], [], []
        for i, row in enumerate(inputs):
            key = row.get(INDEX_COLUMN, i)
            if key not in cache:
                cache[key] = self._process_sample(row["prompt"], row["media"])
            ids, fields, mm = cache[key]
            limit = self.args.max_prompt_length
            if limit is not None and len(ids) > limit:
                raise ValueError(
                    f"problem_id={row.get('problem_id')} ({row.get('media_path')}): prompt has {len(ids)} tokens "
                    f"(text + vision), more than max_prompt_length={limit}; lower max_frames or the vision "
                    "preset's pixels, or raise max_prompt_length (prompts are never truncated: cutting vision "
                    "tokens breaks the forward)"
                )
            prompt_ids.append(ids)
            vision.append(fields)
            mm_types.append(mm)

        shuffled = {"rows": [], "prompt_ids": [], "vision": [], "mm": [], "media": []}
        self.last_shuffle = []
        training = self.model.training
        if self.args.temporal and training:
            _, group = self._mode_and_group_size()
            first = self.accelerator.process_index * len(inputs)  # global index of this process's row 0
            per_group: dict[int, tuple] = {}
            for i, row in enumerate(inputs):
                global_row = first + i
                group_index, slot = divmod(global_row, group)
                if row["media"]["type"] != "video" or slot >= self.args.shuffled_num_generations:
                    continue
                if group_index not in per_group:
                    frames = row["media"]["frames"]
                    perm = shuffle_permutation(
                        frames.shape[0], self.args.shuffle_unit, self._shuffle_generator(group_index)
                    )
                    media = {**row["media"], "frames": frames[perm]}
                    per_group[group_index] = (*self._process_sample(row["prompt"], media), perm, media)
                    self.last_shuffle.append(
                        {
                            "group": group_index,
                            "problem_id": row["problem_id"],
                            "permutation": perm.tolist(),
                            "frames": media["frames"],
                            "ordered_frames": frames,
                            "prompt_ids": per_group[group_index][0],
                            "ordered_prompt_ids": prompt_ids[i],
                        }
                    )
                ids, fields, mm, _, media = per_group[group_index]
                shuffled["rows"].append(i)
                shuffled["prompt_ids"].append(ids)
                shuffled["vision"].append(fields)
                shuffled["mm"].append(mm)
                shuffled["media"].append(media)
        return {
            "media": [row["media"] for row in inputs],
            "prompt_ids": prompt_ids,
            "vision": vision,
            "mm": mm_types,
            "shuffled": shuffled,
            "shuffled_completion_ids": [],
        }

    # ------------------------------------------------------------------------------------------------
    # TRL hooks

    @contextlib.contextmanager
    def _vision_rows(self, rows: list[dict[str, torch.Tensor]] | None) -> Iterator[None]:
        previous, self._active_vision = self._active_vision, rows
        try:
            yield
        finally:
            self._active_vision = previous

    def _generate_and_score_completions(self, inputs):
        self._rollout = self._prepare_rollout(inputs)
        try:
            with self._vision_rows(self._rollout["vision"]):
                output = super()._generate_and_score_completions(inputs)
            output["vision"] = self._rollout["vision"]
        finally:
            self._rollout = None
        mode = "train" if self.model.training else "eval"
        self._metrics[mode]["data/skipped_media"].append(float(self._count_skipped_records(inputs)))
        return output

    def _count_skipped_records(self, inputs) -> int:
        """Records dropped under ``on_bad_media='skip'`` to fill this batch, each counted once.

        The G rows of a prompt (which may sit on several processes) carry the same ``skipped_media`` list, so
        the lists are gathered per sample and merged before counting.
        """
        from accelerate.utils import gather_object

        local = {
            row.get(INDEX_COLUMN, i): len(row.get("skipped_media") or []) for i, row in enumerate(inputs)
        }
        merged: dict = {}
        for part in gather_object([local]) if self.accelerator.num_processes > 1 else [local]:
            merged.update(part)
        return sum(merged.values())

    def _tokenize_prompts(self, prompts: list):
        rollout = self._rollout
        if rollout is None or len(rollout["prompt_ids"]) != len(prompts):
            raise RuntimeError("TGRPOTrainer: prompts reached tokenization without their prepared media")
        fields = self._cat_vision(rollout["vision"])
        if any(m is not None for m in rollout["mm"]):
            fields["mm_token_type_ids"] = rollout["mm"]
        return rollout["prompt_ids"], None, fields

    def _generate_single_turn(
        self, prompt_ids, images, multimodal_fields, num_generations, has_tool_images=False
    ):
        rollout = self._rollout
        if rollout is None:  # not a prompt batch prepared by this trainer (e.g. a multi-turn tool call)
            return super()._generate_single_turn(
                prompt_ids, images, multimodal_fields, num_generations, has_tool_images
            )
        # One generate call for ordered and shuffled prompts: shuffled rows are appended after the ordered ones.
        shuffled = rollout["shuffled"]
        n = len(prompt_ids)
        all_ids = list(prompt_ids) + shuffled["prompt_ids"]
        fields = multimodal_fields
        if shuffled["rows"]:
            fields = self._cat_vision(rollout["vision"] + shuffled["vision"])
            if "mm_token_type_ids" in multimodal_fields:
                fields["mm_token_type_ids"] = rollout["mm"] + shuffled["mm"]
        if self.use_vllm:
            images = self._vllm_media(rollout["media"] + shuffled["media"])
        shared_prefill = (
            self._generate_from_shared_vision(rollout["vision"] + shuffled["vision"])
            if self.args.reuse_vision_features and not self.use_vllm
            else contextlib.nullcontext()
        )
        with shared_prefill:
            completion_ids, logprobs = super()._generate_single_turn(
                all_ids, images, fields, num_generations, has_tool_images
            )
        rollout["shuffled_completion_ids"] = completion_ids[n:]
        return completion_ids[:n], (logprobs[:n] if logprobs is not None else None)

    def _generate_from_shared_vision(self, rows: list[dict[str, torch.Tensor]]):
        """While active, HF ``generate`` encodes each distinct media of ``rows`` once (see
        :func:`~video_r1.models.shared_vision.shared_vision_generation`)."""
        model = self.accelerator.unwrap_model(self.model_wrapped)
        if hasattr(model, "get_base_model"):  # PEFT
            model = model.get_base_model()
        return shared_vision_generation(model, rows, self._vision_token_ids)

    def _vllm_media(self, media: list[dict[str, Any]]) -> list[list[Any]]:
        """TRL's per-prompt ``images`` argument for vLLM: real images, or :class:`VLLMMedia` for videos."""
        if self.vllm_mode != "colocate":
            if any(m["type"] == "video" for m in media):
                raise NotImplementedError(
                    "TGRPOTrainer: vllm_mode='server' cannot take video prompts: TRL 1.16's vLLM client sends "
                    "image features only. Use vllm_mode='colocate' (configs/grpo_video_7b_vllm.yaml) or HF "
                    "generate (use_vllm=false)."
                )
            return [[m["image"]] for m in media]
        return [[VLLMMedia(m, self.args.temporal_rope)] for m in media]

    def _get_per_token_logps_and_entropies(
        self,
        model,
        input_ids,
        attention_mask,
        logits_to_keep,
        batch_size=None,
        compute_entropy=False,
        compute_aux_loss=False,
        **unused,
    ):
        rows = self._active_vision
        if rows is None:
            return super()._get_per_token_logps_and_entropies(
                model,
                input_ids,
                attention_mask,
                logits_to_keep,
                batch_size,
                compute_entropy,
                compute_aux_loss,
                **unused,
            )
        if len(rows) != input_ids.size(0):
            raise RuntimeError(f"{len(rows)} vision rows for {input_ids.size(0)} sequences")
        batch_size = batch_size or input_ids.size(0)
        device = input_ids.device
        logps, entropies, aux = [], [], []
        for start in range(0, input_ids.size(0), batch_size):
            end = min(start + batch_size, input_ids.size(0))
            chunk = rows[start:end]
            ids = input_ids[start:end]
            mm = mm_token_type_ids(ids, self._vision_token_ids)
            extra: dict[str, Any] = {}
            if self.args.reuse_vision_features:
                forward = SharedVisionForward(
                    model,
                    self._vision_model(model),
                    chunk,
                    self._vision_token_ids,
                    self._vision_frozen(model),
                )
            else:  # every row carries its own copy of the pixels, as in TRL
                fields = {k: v.to(device) for k, v in self._cat_vision(chunk).items()}
                video = {k: fields[k] for k in VIDEO_KEYS if k in fields}
                forward = WithVideoInputs(model, video) if video else model
                if "pixel_values" in fields:
                    extra = {
                        "pixel_values": fields["pixel_values"],
                        "image_grid_thw": fields["image_grid_thw"],
                        "num_images": [1 if "pixel_values" in r else 0 for r in chunk],
                    }
            lp, ent, ax = super()._get_per_token_logps_and_entropies(
                forward,
                ids,
                attention_mask[start:end],
                logits_to_keep,
                batch_size=end - start,
                compute_entropy=compute_entropy,
                compute_aux_loss=compute_aux_loss,
                mm_token_type_ids=mm,
                **extra,
            )
            logps.append(lp)
            if ent is not None:
                entropies.append(ent)
            if ax is not None:
                aux.append(ax)
        return (
            torch.cat(logps),
            torch.cat(entropies) if entropies else None,
            torch.stack(aux).mean() if aux else None,
        )

    def _vision_model(self, model):
        """The ``Qwen2_5_VLModel`` inside ``model`` (DDP, DeepSpeed and PEFT wrappers removed)."""
        base = self.accelerator.unwrap_model(model)
        if hasattr(base, "get_base_model"):  # PEFT
            base = base.get_base_model()
        return base.model

    def _vision_frozen(self, model) -> bool:
        """Whether no gradient can reach the vision tower: ``freeze_vision_tower``, or none of its parameters
        trains (LoRA on the text model), so its features are computed without autograd."""
        if self.args.freeze_vision_tower:
            return True
        return not any(p.requires_grad for p in self._vision_model(model).visual.parameters())

    def _compute_loss(self, model, inputs):
        with self._vision_rows(inputs.get("vision")):
            return super()._compute_loss(model, inputs)

    # ------------------------------------------------------------------------------------------------
    # Rewards: temporal contrast and length bonus on gathered groups

    def _shuffled_accuracy(self, inputs) -> torch.Tensor:
        """Per local row: accuracy of its shuffled completion, NaN for rows without one."""
        acc = torch.full((len(inputs),), float("nan"), device=self.accelerator.device)
        rollout = self._rollout
        if rollout is None or not rollout["shuffled"]["rows"]:
            return acc
        rows = rollout["shuffled"]["rows"]
        texts = self.processing_class.batch_decode(
            rollout["shuffled_completion_ids"], skip_special_tokens=True
        )
        scores = accuracy_reward(
            texts,
            solution=[inputs[i]["solution"] for i in rows],
            problem_type=[inputs[i]["problem_type"] for i in rows],
        )
        acc[torch.tensor(rows, device=acc.device)] = torch.tensor(scores, device=acc.device)
        rollout["shuffled_texts"] = texts
        return acc

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        device = rewards.device
        mode, group = self._mode_and_group_size()
        is_video = torch.tensor([row["media"]["type"] == "video" for row in inputs], device=device)
        lengths = torch.tensor([len(ids) for ids in completion_ids_list], device=device, dtype=torch.float32)
        shuffled = self._shuffled_accuracy(inputs)
        is_video, lengths, shuffled = (self.accelerator.gather(t) for t in (is_video, lengths, shuffled))

        accuracy = rewards[:, self._accuracy_col]
        threshold = self.args.correct_threshold
        granted_groups, video_groups, ordered_acc, shuffled_acc = 0, 0, [], []
        temporal_col = torch.zeros_like(accuracy)
        length_col = torch.zeros_like(accuracy)
        for g in range(accuracy.numel() // group):
            sl = slice(g * group, (g + 1) * group)
            acc = accuracy[sl]
            if self._temporal_col is not None and bool(is_video[sl].all()):
                shuf = shuffled[sl]
                shuf = shuf[~torch.isnan(shuf)]
                if shuf.numel() > 0:
                    adjusted, granted = temporal_bonus(
                        acc,
                        shuf,
                        alpha=self.args.temporal_alpha,
                        mu=self.args.temporal_mu,
                        threshold=threshold,
                    )
                    temporal_col[sl] = adjusted - acc
                    video_groups += 1
                    granted_groups += int(granted)
                    ordered_acc.append(acc.mean().item())
                    shuffled_acc.append(shuf.mean().item())
            if self._length_col is not None:
                length_col[sl] = length_bonus(
                    acc,
                    lengths[sl],
                    low=self.args.len_min,
                    high=self.args.len_max,
                    bonus=self.args.len_bonus,
                    threshold=threshold,
                )
        if self._temporal_col is not None:
            rewards[:, self._temporal_col] = temporal_col
            if video_groups:
                self._metrics[mode]["temporal/bonus_rate"].append(granted_groups / video_groups)
                self._metrics[mode]["temporal/ordered_accuracy"].append(sum(ordered_acc) / video_groups)
                self._metrics[mode]["temporal/shuffled_accuracy"].append(sum(shuffled_acc) / video_groups)
        if self._length_col is not None:
            rewards[:, self._length_col] = length_col
            self._metrics[mode]["length/bonus_rate"].append((length_col > 0).float().mean().item())

        # The original's all_wrong / all_correct: groups whose accuracy+format totals are all <= 1 / all >= 2.
        base = accuracy.clone()
        names = self.reward_func_names
        if "format_reward" in names:
            base = base + rewards[:, names.index("format_reward")]
        grouped = base.view(-1, group)
        self._metrics[mode]["all_wrong"].append((grouped <= 1).all(dim=1).float().mean().item())
        self._metrics[mode]["all_correct"].append((grouped >= 2).all(dim=1).float().mean().item())
        return rewards
