"""GRPO on video: TRL's ``GRPOTrainer`` with images and videos in every stage, and Video-R1's length bonus.

TRL 1.16 handles images only. :class:`VideoGRPOTrainer` adds what a video prompt needs and nothing of the
paper's temporal contrast (that is :class:`~video_r1.trainers.TGRPOTrainer`, a subclass):

* **the model family** (:func:`video_r1.models.family.family_for`, read from the checkpoint's config):
  placeholder and suppressed token ids, positions (``install_positions``), the processor outputs that carry
  pixels (``vision_keys``), the preset's frame-size multiple, vLLM prompt ids, and whether vision features
  may be shared (Qwen3-VL: no, DeepStack; ``reuse_vision_features`` is then switched off with one logged line).
* **video through every stage**: each distinct sample of a batch goes through the processor once (with its
  real sampling metadata, see ``temporal_rope``); its ``pixel_values_videos``, ``video_grid_thw`` (and, for
  Qwen2.5-VL, ``second_per_grid_ts``; or ``pixel_values``/``image_grid_thw`` for images) travel with every
  row as a per-row ``vision`` entry, so they survive TRL's buffering/shuffling and reach generation, the
  old/reference log-prob passes and the loss. ``mm_token_type_ids`` is rebuilt from the token ids for every
  forward. Images and videos mix freely in one batch; any number of prompts per device. The hand-off
  between TRL's hooks is a typed :class:`~video_r1.trainers.rollout.Rollout`.
* **extra rows in the same generate call**: a rollout may carry rows that are generated with the ordered
  ones but never trained on (:class:`~video_r1.trainers.rollout.ShuffledRows`; T-GRPO fills them).
* **vision features shared by a prompt's completions** (``reuse_vision_features``): each distinct image or
  video is encoded once per log-prob chunk and once per generation call and its features are expanded to
  the rows that use it (:mod:`video_r1.models.shared_vision`).
* **vLLM**: videos ride through TRL's colocate mode as already-sampled frames (:mod:`video_r1.vllm`).
* **the per-group rule**: :func:`video_r1.rewards.group.group_bonuses` on the gathered reward matrix; its
  columns (the length bonus here, also the temporal bonus in T-GRPO) are extra reward columns, its
  post-normalisation term is added to TRL's advantages, and how much each bonus moved the advantages is
  logged (``length/adv_*``, ``temporal/adv_*``).

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
from video_r1.errors import PromptTooLongError
from video_r1.models.family import ModelFamily, family_for
from video_r1.models.shared_vision import (
    SharedVisionForward,
    WithVideoInputs,
    cat_vision,
    shared_vision_generation,
)
from video_r1.rewards import get_reward_funcs
from video_r1.rewards.accuracy import completion_text
from video_r1.rewards.group import GroupRules, advantage_effect, group_bonuses, grpo_advantages
from video_r1.trainers.checkpoint import ResumeWithKeyMappingMixin
from video_r1.trainers.common import decode_media_on_access, start_trainer
from video_r1.trainers.lora import install_merged_weight_sync
from video_r1.trainers.rollout import Rollout, VisionFields
from video_r1.trainers.run_folder import RunFolderMixin
from video_r1.trainers.steps import LRHorizonMixin, global_batch_line
from video_r1.trainers.tgrpo_config import TGRPOConfig
from video_r1.vllm.colocate import MediaAwareLLM, VLLMMedia, suppress_tokens_kwargs

logger = logging.getLogger(__name__)


def _placeholder_reward(name: str):
    """A reward column filled in by :meth:`VideoGRPOTrainer._calculate_rewards` (TRL needs a callable)."""

    def reward(completions, **kwargs):
        return [0.0] * len(completions)

    reward.__name__ = name
    return reward


class VideoGRPOTrainer(RunFolderMixin, LRHorizonMixin, ResumeWithKeyMappingMixin, GRPOTrainer):
    """GRPO with video (and image) prompts and Video-R1's length bonus; plain GRPO for ``temporal: false``.

    ``train_dataset`` is a records dataset from :func:`video_r1.data.records.load_records`; the trainer adds
    the decoding transform (vision preset, bad-media policy) itself. ``reward_funcs`` defaults to
    ``args.reward_funcs`` (names from :mod:`video_r1.rewards`). ``media_loader`` (default: decode on every
    access) replaces :func:`video_r1.data.media.load_media_for_record`, e.g. a
    :class:`~video_r1.data.frame_cache.FrameCache` shared with other stages of a run. ``peft_config`` (a
    ``peft.LoraConfig``) trains a LoRA adapter instead of the whole model (see :mod:`video_r1.trainers.lora`).
    """

    #: Whether this class runs the temporal contrast (``args.temporal`` must agree).
    temporal_contrast = False

    def __init__(
        self,
        model,
        reward_funcs=None,
        args: TGRPOConfig | None = None,
        train_dataset=None,
        media_loader=None,
        **kwargs,
    ):
        args = start_trainer(type(self).__name__, model, args, TGRPOConfig, kwargs)
        self._check_temporal_setting(args)
        processing_class = kwargs["processing_class"]
        #: The model family, read from the checkpoint's config (Qwen2.5-VL, Qwen3-VL, Qwen3.5).
        self.family: ModelFamily = family_for(model)
        self._configure_for_family(args)

        reward_funcs = list(get_reward_funcs(args.reward_funcs) if reward_funcs is None else reward_funcs)
        names = [getattr(f, "__name__", "") for f in reward_funcs]
        if "accuracy_reward" not in names:
            raise ValueError("reward_funcs must contain video_r1.rewards.accuracy_reward")
        self._accuracy_col = names.index("accuracy_reward")
        weights = list(args.reward_weights) if args.reward_weights is not None else None
        self._bonus_col: dict[str, int] = {}
        for name, weight in self._bonus_columns(args):
            self._bonus_col[name] = len(reward_funcs)
            reward_funcs.append(_placeholder_reward(name))
            if weights is not None:
                weights.append(weights[self._accuracy_col] if weight == "accuracy" else weight)
        args.reward_weights = weights
        self._rules = GroupRules.from_config(args)

        args.generation_kwargs = suppress_tokens_kwargs(
            args.generation_kwargs, self.family.suppressed_token_ids(processing_class), args.use_vllm
        )
        self.media_policy, train_dataset = decode_media_on_access(
            args, train_dataset, kwargs, "train", loader=media_loader, family=self.family
        )

        self._active_vision: list[VisionFields] | None = None
        self._rollout: Rollout | None = None
        self._family_token_ids = self.family.token_ids(processing_class)
        #: The reply start the chat template's generation prompt writes (Qwen3.5: "<think>" and a newline),
        #: put in front of every completion before the reward functions see it; "" for Qwen2.5-VL, Qwen3-VL.
        self.reply_prefix = self.family.reply_prefix(processing_class)
        self._vision_token_ids = {k: self._family_token_ids[k] for k in ("image", "video")}
        self.family.install_positions()  # before TRL builds the policy and reference models
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

    def _configure_for_family(self, args: TGRPOConfig) -> None:
        """Settings that depend on the model family (``args`` is the trainer's own copy).

        Shared-vision reuse is switched off, with one logged line, for a family that cannot reuse vision
        features (Qwen3-VL: DeepStack; ``ModelFamily.shared_vision_unsupported`` says why).
        """
        reason = self.family.shared_vision_unsupported
        if args.reuse_vision_features and reason:
            logger.warning("reuse_vision_features switched off for %s: %s", self.family.name, reason)
            args.reuse_vision_features = False

    def _check_temporal_setting(self, args: TGRPOConfig) -> None:
        if args.temporal:
            raise ValueError(
                f"{type(self).__name__} is plain GRPO on video: it needs temporal=False (TGRPOTrainer runs "
                "the temporal contrast; `video-r1 grpo` picks the class from --temporal)"
            )

    def _bonus_columns(self, args: TGRPOConfig) -> list[tuple[str, float | str]]:
        """Extra reward columns ``(name, weight)`` filled by the group rule; weight "accuracy" = the accuracy
        column's weight. Video-R1's length bonus (added to the total, weight 1)."""
        return [("length_bonus", 1.0)] if args.len_control else []

    def _wrap_vllm_engine(self) -> None:
        """Let TRL's colocated ``vllm.LLM`` receive videos (see :class:`VLLMMedia`)."""
        if self.vllm_mode == "colocate" and not isinstance(self.vllm_generation.llm, MediaAwareLLM):
            self.vllm_generation.llm = MediaAwareLLM(
                self.vllm_generation.llm,
                list(self._vision_token_ids.values()),
                family=self.family,
                token_ids=self._family_token_ids,
            )

    # ------------------------------------------------------------------------------------------------
    # Processor inputs, one call per distinct sample

    def _process_sample(self, prompt, media) -> tuple[list[int], VisionFields, list[int] | None]:
        text = self.processing_class.apply_chat_template(
            prompt, tokenize=False, add_generation_prompt=True, **self.chat_template_kwargs
        )
        out = build_processor_inputs(
            self.processing_class, [text], [media], temporal_rope=self.args.temporal_rope, return_tensors="pt"
        )
        vision = {k: out[k] for k in self.family.vision_keys if k in out}
        mm = out["mm_token_type_ids"][0].tolist() if "mm_token_type_ids" in out else None
        return out["input_ids"][0].tolist(), vision, mm

    def _group_size(self) -> int:
        """Completions per prompt group in the current mode."""
        return self.num_generations if self.model.training else self.num_generations_eval

    def _prepare_rollout(self, inputs: list[dict[str, Any]]) -> Rollout:
        """Processor inputs for every row (one processor call per distinct sample)."""
        cache: dict[Any, tuple] = {}
        prompt_ids, vision, mm_types = [], [], []
        for i, row in enumerate(inputs):
            key = row.get(INDEX_COLUMN, i)
            if key not in cache:
                cache[key] = self._process_sample(row["prompt"], row["media"])
            ids, fields, mm = cache[key]
            limit = self.args.max_prompt_length
            if limit is not None and len(ids) > limit:
                raise PromptTooLongError(
                    f"problem_id={row.get('problem_id')} ({row.get('media_path')}): prompt has {len(ids)} tokens "
                    f"(text + vision), more than max_prompt_length={limit}; lower max_frames or the vision "
                    "preset's pixels, or raise max_prompt_length (prompts are never truncated: cutting vision "
                    "tokens breaks the forward)"
                )
            prompt_ids.append(ids)
            vision.append(fields)
            mm_types.append(mm)
        return Rollout(
            media=[row["media"] for row in inputs], prompt_ids=prompt_ids, vision=vision, mm=mm_types
        )

    # ------------------------------------------------------------------------------------------------
    # TRL hooks

    @contextlib.contextmanager
    def _vision_rows(self, rows: list[VisionFields] | None) -> Iterator[None]:
        previous, self._active_vision = self._active_vision, rows
        try:
            yield
        finally:
            self._active_vision = previous

    def _generate_and_score_completions(self, inputs):
        self._rollout = rollout = self._prepare_rollout(inputs)
        try:
            with self._vision_rows(rollout.vision):
                output = super()._generate_and_score_completions(inputs)
            output["vision"] = rollout.vision
            if rollout.advantage_term is not None:  # added after TRL's normalisation (temporal_mode variants)
                first = self.accelerator.process_index * len(inputs)
                term = rollout.advantage_term[first : first + len(inputs)]
                output["advantages"] = output["advantages"] + term.to(output["advantages"].device)
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
        if rollout is None or len(rollout.prompt_ids) != len(prompts):
            raise RuntimeError(
                f"{type(self).__name__}: prompts reached tokenization without their prepared media"
            )
        fields = cat_vision(rollout.vision)
        if any(m is not None for m in rollout.mm):
            fields["mm_token_type_ids"] = rollout.mm
        return rollout.prompt_ids, None, fields

    def _generate_single_turn(
        self, prompt_ids, images, multimodal_fields, num_generations, has_tool_images=False
    ):
        rollout = self._rollout
        if rollout is None:  # not a prompt batch prepared by this trainer (e.g. a multi-turn tool call)
            return super()._generate_single_turn(
                prompt_ids, images, multimodal_fields, num_generations, has_tool_images
            )
        # One generate call for ordered and extra (shuffled) prompts: extra rows come after the ordered ones.
        extra = rollout.shuffled
        n = len(prompt_ids)
        all_ids = list(prompt_ids) + extra.prompt_ids
        fields = multimodal_fields
        if extra.rows:
            fields = cat_vision(rollout.vision + extra.vision)
            if "mm_token_type_ids" in multimodal_fields:
                fields["mm_token_type_ids"] = rollout.mm + extra.mm
        if self.use_vllm:
            images = self._vllm_media(rollout.media + extra.media)
        shared_prefill = (
            self._generate_from_shared_vision(rollout.vision + extra.vision)
            if self.args.reuse_vision_features and not self.use_vllm
            else contextlib.nullcontext()
        )
        with shared_prefill:
            completion_ids, logprobs = super()._generate_single_turn(
                all_ids, images, fields, num_generations, has_tool_images
            )
        extra.completion_ids = completion_ids[n:]
        return completion_ids[:n], (logprobs[:n] if logprobs is not None else None)

    def _generate_from_shared_vision(self, rows: list[VisionFields]):
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
                    f"{type(self).__name__}: vllm_mode='server' cannot take video prompts: TRL 1.16's vLLM "
                    "client sends image features only. Use vllm_mode='colocate' "
                    "(configs/grpo_video_7b_vllm.yaml) or HF generate (use_vllm=false)."
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
            mm = self.family.mm_token_type_ids(ids, self._vision_token_ids)
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
                fields = {k: v.to(device) for k, v in cat_vision(chunk).items()}
                video = {k: fields[k] for k in self.family.video_keys if k in fields}
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
        """The ``Qwen2_5_VLModel`` (``Qwen3VLModel``, ...) inside ``model`` (DDP, DeepSpeed and PEFT wrappers removed)."""
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
    # Rewards: the per-group rule on gathered groups

    def _shuffled_accuracy(self, inputs) -> torch.Tensor | None:
        """Per local row: accuracy of its shuffled completion (NaN for rows without one); None: no contrast."""
        return None

    def with_reply_prefix(self, completions: list) -> list:
        """Completions as the reward functions see them: :attr:`reply_prefix` + the generated text."""
        if not self.reply_prefix:
            return completions
        return [
            self.reply_prefix + c
            if isinstance(c, str)
            else [{"role": "assistant", "content": self.reply_prefix + completion_text(c)}]
            for c in completions
        ]

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        completions = self.with_reply_prefix(completions)
        rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        device = rewards.device
        mode, group = ("train" if self.model.training else "eval"), self._group_size()
        is_video = torch.tensor([row["media"]["type"] == "video" for row in inputs], device=device)
        lengths = torch.tensor([len(ids) for ids in completion_ids_list], device=device, dtype=torch.float32)
        gather = self.accelerator.gather
        is_video, lengths = gather(is_video), gather(lengths)
        shuffled = self._shuffled_accuracy(inputs)
        if shuffled is not None:
            shuffled = gather(shuffled.to(device))

        accuracy = rewards[:, self._accuracy_col]
        bonuses = group_bonuses(accuracy, shuffled, is_video, lengths, group, self._rules)
        for name, column in (("temporal_bonus", bonuses.temporal), ("length_bonus", bonuses.length)):
            if name in self._bonus_col:
                rewards[:, self._bonus_col[name]] = column
        metrics = self._metrics[mode]
        for key, value in bonuses.stats().items():
            metrics[key].append(value)
        if "length_bonus" in self._bonus_col:
            metrics["length/bonus_rate"].append((bonuses.length > 0).float().mean().item())
        if self._rollout is not None and bool(bonuses.advantage.any()):
            self._rollout.advantage_term = bonuses.advantage
        self._log_advantage_effect(metrics, rewards, bonuses, group)

        # The original's all_wrong / all_correct: groups whose accuracy+format totals are all <= 1 / all >= 2.
        base = accuracy.clone()
        names = self.reward_func_names
        if "format_reward" in names:
            base = base + rewards[:, names.index("format_reward")]
        grouped = base.view(-1, group)
        metrics["all_wrong"].append((grouped <= 1).all(dim=1).float().mean().item())
        metrics["all_correct"].append((grouped >= 2).all(dim=1).float().mean().item())
        return rewards

    def _log_advantage_effect(self, metrics, rewards: torch.Tensor, bonuses, group: int) -> None:
        """How much each bonus moved the advantages TRL is about to compute (``*/adv_moved_frac``: groups
        moved by more than 1e-3; ``*/adv_abs_change``: mean absolute change per completion)."""

        def advantages(without: str | None = None, with_term: bool = True) -> torch.Tensor:
            matrix = rewards
            if without is not None:
                matrix = rewards.clone()
                matrix[:, self._bonus_col[without]] = 0.0
            adv = grpo_advantages(matrix, self.reward_weights, group, self.scale_rewards)
            return adv + bonuses.advantage if with_term else adv

        full = advantages()
        if bool(bonuses.contrast_groups.any()):
            without = advantages("temporal_bonus" if "temporal_bonus" in self._bonus_col else None, False)
            effect = advantage_effect(full, without, group, bonuses.contrast_groups)
            if effect is not None:
                metrics["temporal/adv_moved_frac"].append(effect[0])
                metrics["temporal/adv_abs_change"].append(effect[1])
        if "length_bonus" in self._bonus_col:
            effect = advantage_effect(full, advantages("length_bonus"), group)
            if effect is not None:
                metrics["length/adv_moved_frac"].append(effect[0])
                metrics["length/adv_abs_change"].append(effect[1])
