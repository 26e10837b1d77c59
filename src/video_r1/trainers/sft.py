"""SFT cold start (Video-R1 ``sft_video.py``) on TRL's ``SFTTrainer``, with video.

TRL 1.16's ``SFTTrainer`` collates images only. This module adds the pieces it lacks and nothing more:

* :class:`VideoSFTCollator` - chat-templates each row's conversation (``build_conversation(record, "sft")``:
  system "You are a helpful assistant", user [media, question], assistant ``process + "\\n" + solution``),
  runs the Qwen2.5-VL processor once on the whole batch with every row's own image or video (the original
  passed only the *last* row's media, so it could not train with a per-device batch above 1), pads, and
  builds ``labels`` (and, with ``answer_loss_weight != 1``, ``loss_weights``). Media arrive already decoded:
  :func:`~video_r1.data.collate.with_media` decodes them in the DataLoader workers, once per sample.
* :class:`VideoSFTTrainer` - wires the collator and the media transform in, logs skipped media, and, only
  when ``answer_loss_weight != 1``, re-weights TRL's own per-token log-probabilities (its fused LM head) so
  the loss is a weighted token mean. With the default weight the loss is TRL's unmodified token-mean
  cross entropy, the original's.

Loss masking (``loss_masking``), decided from token ids only (works with left or right padding):

``completion_only`` (default)
    Only the assistant turn carries loss: its content tokens and its closing ``<|im_end|>``. The system and
    user turns - vision start/end markers and every ``<|image_pad|>``/``<|video_pad|>`` included - the
    ``<|im_start|>assistant\\n`` header, the newline after the closing ``<|im_end|>`` and padding are -100.
``original``
    The original's labels: ``input_ids`` with the pad id and the ``<|image_pad|>`` id replaced by -100, and
    nothing else. For Qwen2.5-VL this trains on the system prompt, the question, ``<|vision_start|>`` /
    ``<|vision_end|>`` and every ``<|video_pad|>`` placeholder (~1k per training video) - the original's
    ``Qwen2VLProcessor`` check did not match Qwen2.5-VL's processor class (docs/original-behaviour.md §4
    and Video-R1 issue #40). Kept so that users can compare numbers with the released SFT checkpoint.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import torch
from trl import SFTConfig, SFTTrainer

from video_r1.data.collate import build_processor_inputs
from video_r1.errors import PromptTooLongError
from video_r1.models.family import family_for
from video_r1.trainers.checkpoint import ResumeWithKeyMappingMixin
from video_r1.trainers.common import decode_media_on_access, start_trainer
from video_r1.trainers.media_config import MediaConfigMixin
from video_r1.trainers.run_folder import RunFolderMixin
from video_r1.trainers.steps import LRHorizonMixin, StepsConfigMixin, global_batch_line

logger = logging.getLogger(__name__)

__all__ = ["LOSS_MASKING_MODES", "VideoSFTCollator", "VideoSFTConfig", "VideoSFTTrainer"]

LOSS_MASKING_MODES = ("completion_only", "original")
IGNORE_INDEX = -100
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"


# ----------------------------------------------------------------------------------------------------
# Config


@dataclass
class VideoSFTConfig(StepsConfigMixin, MediaConfigMixin, SFTConfig):
    r"""
    Configuration for the Video-R1 SFT cold start (``video-r1 sft``): TRL's ``SFTConfig`` plus video fields.

    The recipe of the original (``run_sft_video.sh``) is ``configs/sft_video_7b.yaml``: lr 1e-6, per-device
    batch 1 x gradient accumulation 2 x 4 GPUs, one epoch, bf16, ZeRO-2, linear schedule without warmup.
    Data, vision and bad-media fields are named as in :class:`~video_r1.trainers.TGRPOConfig` so that the
    two recipes read alike.
    """

    # ---- loss ----------------------------------------------------------------------------------------
    loss_masking: str = field(
        default="completion_only",
        metadata={
            "help": "'completion_only': only the assistant turn (its content and closing <|im_end|>) carries "
            "loss. 'original': the original's labels - input_ids with pad and <|image_pad|> ids set to -100 "
            "only, so for Qwen2.5-VL the prompt, vision markers and every <|video_pad|> carry loss too.",
            "choices": list(LOSS_MASKING_MODES),
        },
    )
    answer_loss_weight: float = field(
        default=1.0,
        metadata={
            "help": "Loss weight of the target tokens inside <answer>...</answer> (a token counts when its "
            "characters overlap the answer text; the tags keep weight 1). 1.0 = plain token-mean cross "
            "entropy (the original). Above 1 the loss is the weighted token mean sum(w*nll)/sum(w), so the "
            "one answer-letter token is not diluted by a long <think> target (used by the CPU demo)."
        },
    )
    padding_side: str = field(
        default="right",
        metadata={"help": "Side the batch is padded on ('right' or 'left'); labels do not depend on it."},
    )
    # ---- data: vision_preset, max_frames, video_backend, temporal_rope, on_bad_media (MediaConfigMixin) --

    # ---- TRL defaults changed for video SFT ----------------------------------------------------------
    max_length: int | None = field(
        default=None,
        metadata={
            "help": "None (default, as the original): no truncation. If set, a sample longer than this raises "
            "an error naming its record instead of being cut (a cut would drop vision tokens or the answer)."
        },
    )
    dataset_kwargs: dict[str, Any] | str | None = field(
        default_factory=lambda: {"skip_prepare_dataset": True},
        metadata={
            "help": "Must keep skip_prepare_dataset=True: rows are tokenized by the video collator, not by "
            "TRL's dataset preparation."
        },
    )
    remove_unused_columns: bool | None = field(
        default=False,
        metadata={"help": "Must stay False: the media transform and the collator need the record columns."},
    )

    def __post_init__(self):
        if self.per_device_train_batch_size:
            self.derive_steps(self.per_device_train_batch_size)
        super().__post_init__()
        if self.loss_masking not in LOSS_MASKING_MODES:
            raise ValueError(f"loss_masking must be one of {LOSS_MASKING_MODES}, got {self.loss_masking!r}")
        weight = self.answer_loss_weight
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
            raise ValueError(f"answer_loss_weight must be a finite number, got {weight!r}")
        if weight <= 0:
            raise ValueError(f"answer_loss_weight must be > 0, got {weight!r}")
        self.answer_loss_weight = float(weight)
        if weight != 1.0 and self.loss_type != "nll":
            raise ValueError(f"answer_loss_weight != 1 needs loss_type='nll', got {self.loss_type!r}")
        if self.padding_side not in ("right", "left"):
            raise ValueError(f"padding_side must be 'right' or 'left', got {self.padding_side!r}")
        self.check_media_fields()
        if self.remove_unused_columns:
            raise ValueError(
                "remove_unused_columns must be False for VideoSFTTrainer (records feed the media step)"
            )
        if self.packing or self.padding_free:
            raise ValueError("packing and padding_free are not supported for video SFT")
        if self.assistant_only_loss or self.completion_only_loss is not None:
            raise ValueError(
                "assistant_only_loss / completion_only_loss are TRL's text-dataset options and are not used by "
                "the video collator; choose the masking with loss_masking ('completion_only' or 'original')"
            )
        if self.dataset_kwargs is None:
            self.dataset_kwargs = {"skip_prepare_dataset": True}
        elif not self.dataset_kwargs.get("skip_prepare_dataset", True):
            raise ValueError("dataset_kwargs.skip_prepare_dataset must be True for video SFT")
        else:
            self.dataset_kwargs = {**self.dataset_kwargs, "skip_prepare_dataset": True}


# ----------------------------------------------------------------------------------------------------
# Collator


def _record_name(row: dict[str, Any]) -> str:
    media = row.get("media") or {}
    path = media.get("path") or row.get("media_path") or row.get("path")
    return f"record problem_id={row.get('problem_id')!r} ({path})"


def answer_char_span(text: str) -> tuple[int, int] | None:
    """Character span of the text between the last ``<answer>`` and the ``</answer>`` after it, if any."""
    open_at = text.rfind(ANSWER_OPEN)
    if open_at < 0:
        return None
    start = open_at + len(ANSWER_OPEN)
    end = text.find(ANSWER_CLOSE, start)
    return None if end < 0 else (start, end)


@dataclass
class VideoSFTCollator:
    """Collate ``with_media(..., variant="sft")`` rows into a padded Qwen2.5-VL training batch.

    Output keys: the processor's (``input_ids``, ``attention_mask``, ``mm_token_type_ids``,
    ``pixel_values``/``image_grid_thw`` for the batch's images, ``pixel_values_videos``/``video_grid_thw``/
    ``second_per_grid_ts`` for its videos), ``labels`` (see the module docstring for both masking modes),
    ``skipped_media_count`` (records dropped under ``on_bad_media='skip'``) and, when
    ``answer_loss_weight != 1``, ``loss_weights`` (0 where labels are -100, ``answer_loss_weight`` on answer
    tokens, 1 elsewhere).
    """

    processor: Any
    loss_masking: str = "completion_only"
    answer_loss_weight: float = 1.0
    temporal_rope: str = "sampled_fps"
    padding_side: str = "right"
    max_length: int | None = None

    def __post_init__(self) -> None:
        if self.loss_masking not in LOSS_MASKING_MODES:
            raise ValueError(f"loss_masking must be one of {LOSS_MASKING_MODES}, got {self.loss_masking!r}")
        tok = self.tokenizer
        self.pad_id = tok.pad_token_id
        if self.pad_id is None:
            raise ValueError("the tokenizer has no pad token; set tokenizer.pad_token before training")
        ids = {}
        for token in ("<|im_start|>", "<|im_end|>", "<|image_pad|>"):
            token_id = tok.convert_tokens_to_ids(token)
            if token_id is None or token_id == tok.unk_token_id:
                raise ValueError(f"the tokenizer has no {token} token (not a Qwen2.5-VL chat tokenizer)")
            ids[token] = token_id
        self.im_start_id, self.im_end_id, self.image_pad_id = (
            ids["<|im_start|>"],
            ids["<|im_end|>"],
            ids["<|image_pad|>"],
        )
        self.assistant_header = tok("assistant\n", add_special_tokens=False).input_ids

    @property
    def tokenizer(self):
        return getattr(self.processor, "tokenizer", self.processor)

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        texts = [self.processor.apply_chat_template(row["prompt"], tokenize=False) for row in rows]
        batch = build_processor_inputs(
            self.processor,
            texts,
            [row["media"] for row in rows],
            temporal_rope=self.temporal_rope,
            padding=True,
            padding_side=self.padding_side,
            return_tensors="pt",
        )
        input_ids, attention_mask = batch["input_ids"], batch["attention_mask"]
        if self.max_length is not None:
            for row, length in zip(rows, attention_mask.sum(dim=1).tolist(), strict=True):
                if length > self.max_length:
                    raise PromptTooLongError(
                        f"{_record_name(row)}: {length} tokens > max_length={self.max_length}; video SFT does "
                        "not truncate (it would cut vision tokens or the answer): raise max_length or set it "
                        "to None (the original's behaviour)"
                    )
        labels = torch.full_like(input_ids, IGNORE_INDEX)
        weights = torch.zeros(input_ids.shape, dtype=torch.float32)
        for i, row in enumerate(rows):
            positions = attention_mask[i].nonzero().squeeze(-1)
            seq = input_ids[i, positions]
            start, end = self.assistant_span(seq, row)  # content [start, end), closing <|im_end|> at end
            if self.loss_masking == "original":
                keep = (input_ids[i] != self.pad_id) & (input_ids[i] != self.image_pad_id)
                keep &= attention_mask[i].bool()  # same positions as the pad id for a padded batch
                labels[i, keep] = input_ids[i, keep]
            else:
                span = positions[start : end + 1]
                labels[i, span] = input_ids[i, span]
            if self.answer_loss_weight != 1.0:
                weights[i] = (labels[i] != IGNORE_INDEX).float()
                answer = self.answer_token_indices(seq[start:end], row)
                weights[i, positions[start + answer]] = self.answer_loss_weight
        batch["labels"] = labels
        if self.answer_loss_weight != 1.0:
            batch["loss_weights"] = weights
        batch["skipped_media_count"] = torch.tensor(sum(len(row.get("skipped_media") or []) for row in rows))
        return batch

    def assistant_span(self, seq: torch.Tensor, row: dict[str, Any]) -> tuple[int, int]:
        """(first content token, closing ``<|im_end|>``) of the last assistant turn of an unpadded sequence."""
        starts = (seq == self.im_start_id).nonzero().squeeze(-1)
        if starts.numel() == 0:
            raise ValueError(f"{_record_name(row)}: no <|im_start|> in the tokenized conversation")
        header_at = int(starts[-1]) + 1
        header = seq[header_at : header_at + len(self.assistant_header)].tolist()
        if header != self.assistant_header:
            raise ValueError(
                f"{_record_name(row)}: the last turn does not start with '<|im_start|>assistant\\n' "
                f"(token ids {header} instead of {self.assistant_header}); is the target empty or does it start "
                "with whitespace?"
            )
        start = header_at + len(self.assistant_header)
        ends = (seq[start:] == self.im_end_id).nonzero().squeeze(-1)
        if ends.numel() == 0:
            raise ValueError(f"{_record_name(row)}: the assistant turn has no closing <|im_end|>")
        return start, start + int(ends[0])

    def answer_token_indices(self, content_ids: torch.Tensor, row: dict[str, Any]) -> torch.Tensor:
        """Indices (into the assistant content tokens) of tokens overlapping the ``<answer>`` text.

        The text is the content as the conversation holds it, decoded from its tokens: a chat template may
        rewrite the record's target (Qwen3.5's puts the think block's content on lines of its own).
        """
        text = self.tokenizer.decode(
            content_ids.tolist(), skip_special_tokens=False, clean_up_tokenization_spaces=False
        )
        span = answer_char_span(text)
        if span is None:
            return torch.zeros(0, dtype=torch.long)
        encoded = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        if encoded.input_ids != content_ids.tolist():
            raise ValueError(
                f"{_record_name(row)}: the assistant turn's tokens do not come back from their own text, so "
                "the <answer> tokens cannot be located for answer_loss_weight"
            )
        lo, hi = span
        hits = [k for k, (s, e) in enumerate(encoded.offset_mapping) if e > s and s < hi and e > lo]
        return torch.tensor(hits, dtype=torch.long)


# ----------------------------------------------------------------------------------------------------
# Trainer


class _WeightedLogProbs:
    """Calls ``model`` and scales the fused head's per-token log-probabilities by ``scale`` (B, L-1)."""

    def __init__(self, model, scale: torch.Tensor):
        self.model = model
        self.scale = scale

    def __call__(self, *args, **kwargs):
        outputs = self.model(*args, **kwargs)
        if kwargs.get("fused_lm_head"):
            outputs.log_probs = outputs.log_probs * self.scale.to(outputs.log_probs.dtype)
        return outputs


class VideoSFTTrainer(RunFolderMixin, LRHorizonMixin, ResumeWithKeyMappingMixin, SFTTrainer):
    """TRL's ``SFTTrainer`` on Video-R1 records with images and videos (see the module docstring).

    ``train_dataset`` (and ``eval_dataset``) are records datasets from
    :func:`video_r1.data.records.load_records` (use ``require_process=True`` for COT-165k); the trainer adds
    the decoding transform (vision preset, bad-media policy) and the :class:`VideoSFTCollator` itself.
    ``media_loader`` (default: decode on every access) replaces
    :func:`video_r1.data.media.load_media_for_record`, e.g. a :class:`~video_r1.data.frame_cache.FrameCache`
    shared with other stages of a run.
    ``peft_config`` (a ``peft.LoraConfig``) trains a LoRA adapter instead of the whole model (see
    :mod:`video_r1.trainers.lora`).
    """

    def __init__(
        self, model, args: VideoSFTConfig | None = None, train_dataset=None, media_loader=None, **kwargs
    ):
        if kwargs.get("data_collator") is not None:
            raise ValueError("VideoSFTTrainer builds its own data collator (VideoSFTCollator)")
        args = start_trainer("VideoSFTTrainer", model, args, VideoSFTConfig, kwargs)
        processing_class = kwargs["processing_class"]
        #: The model family, read from the checkpoint's config (Qwen2.5-VL, Qwen3-VL, Qwen3.5).
        self.family = family_for(model)

        self.media_policy, train_dataset = decode_media_on_access(
            args, train_dataset, kwargs, "sft", loader=media_loader, family=self.family
        )
        kwargs["data_collator"] = VideoSFTCollator(
            processing_class,
            loss_masking=args.loss_masking,
            answer_loss_weight=args.answer_loss_weight,
            temporal_rope=args.temporal_rope,
            padding_side=args.padding_side,
            max_length=args.max_length,
        )
        self.family.install_positions()  # before TRL builds the model
        super().__init__(model=model, args=args, train_dataset=train_dataset, **kwargs)
        if self.accelerator.is_main_process:
            print(global_batch_line(self.args, self.accelerator.num_processes), flush=True)

    def _get_num_items_in_batch(self, batch_samples, device):
        # With loss weights, the normaliser of the weighted token mean is the total weight of the
        # accumulated micro-batches (all ranks), in place of transformers' count of label tokens.
        count = super()._get_num_items_in_batch(batch_samples, device)
        if count is None or not batch_samples or "loss_weights" not in batch_samples[0]:
            return count
        total = sum(batch["loss_weights"][..., 1:].sum() for batch in batch_samples)
        if self.args.average_tokens_across_devices and self.args.world_size > 1:
            total = self.accelerator.gather(total.to(device)).sum()
        return total.to(device)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        mode = "train" if self.model.training else "eval"
        skipped = inputs.pop("skipped_media_count", None)
        if skipped is not None:
            total = self.accelerator.gather(skipped.reshape(1).to(self.accelerator.device)).sum()
            self._metrics[mode]["data/skipped_media"].append(float(total.item()))
        weights = inputs.pop("loss_weights", None)
        if weights is None:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        # TRL's loss is sum(-log_probs) / N with N = num_items_in_batch (the accumulated total weight, see
        # _get_num_items_in_batch) or, without it, this batch's label count. Scaling the per-token
        # log-probabilities by w (or by w * count / sum(w)) makes it the weighted token mean.
        scale = weights[:, 1:]
        if num_items_in_batch is None:
            count = (inputs["labels"][:, 1:] != IGNORE_INDEX).sum()
            scale = scale * (count / scale.sum().clamp(min=1e-12))
        return super().compute_loss(
            _WeightedLogProbs(model, scale), inputs, return_outputs, num_items_in_batch
        )
