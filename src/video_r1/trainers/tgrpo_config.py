"""Configuration of :class:`~video_r1.trainers.TGRPOTrainer`: TRL's ``GRPOConfig`` plus T-GRPO and data fields.

Batch sizes follow TRL: ``per_device_train_batch_size`` counts *completions* (rows), so the original's
"per-device batch 1 prompt x G=8" is ``per_device_train_batch_size=8, num_generations=8`` here, and
``per_device_train_batch_size=16`` gives two prompts per device (the original supported only one).

Defaults that differ from TRL's follow the original Video-R1 trainer (``grpo_trainer.py``,
``run_grpo_video.sh``):

- the loss: ``beta=0.04``, ``loss_type="grpo"`` (token mean per sequence, then mean over sequences),
  ``scale_rewards="group"`` (advantage = (r - group mean) / (unbiased group std + 1e-4)), one optimisation
  pass per rollout (``num_iterations=1``: the PPO ratio is always 1 and clipping never binds, as in the
  original, which had none), and ``use_bias_correction_kl=False``: the original's per-token loss is
  ``-(A - beta * k3)``; TRL's default multiplies k3 by the importance ratio, which leaves the loss value
  unchanged but adds ``beta * k3 * grad(logp)`` to the gradient (1.5 % of the gradient at a mean token KL
  of 0.07, measured);
- sampling: ``temperature=1.0``, ``top_p=0.95``, ``max_completion_length=768``, and ``top_k`` per rollout
  engine: 50 with HF generate (the original built a ``GenerationConfig`` without ``top_k``, so transformers
  4.x's default 50 applied; the checkpoint's own generation defaults were not merged) and off with vLLM (the
  original's ``SamplingParams`` had none).

One difference remains and has no switch: the original clamped ``ref_logp - logp`` to [-10, 10] before
the k3 term; TRL has no clamp, and adding one would need a copy of TRL's loss. The two agree unless a
token's log-ratio leaves [-10, 10].

The recipes (``configs/grpo_video_7b*.yaml``) also set the original's global batch (``prompts_per_step: 4``),
LR horizon (``lr_decay_steps``) and training-time temporal positions (``temporal_rope: fixed_2fps``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trl import GRPOConfig

from video_r1.rewards.group import TEMPORAL_MODES
from video_r1.trainers.media_config import MediaConfigMixin
from video_r1.trainers.steps import StepsConfigMixin

SHUFFLE_UNITS = ("frame", "temporal_patch")


@dataclass
class TGRPOConfig(StepsConfigMixin, MediaConfigMixin, GRPOConfig):
    r"""
    Configuration for T-GRPO (Video-R1, Feng et al. 2025, arXiv 2503.21776).

    T-GRPO contrasts each video prompt's group of ``num_generations`` completions on ordered frames with
    ``shuffled_num_generations`` completions on the same prompt with frames in random order. Let p be the
    group's mean accuracy on ordered frames and p~ the mean accuracy on shuffled frames. If
    ``p >= temporal_mu * p~`` every ordered completion whose accuracy exceeds ``correct_threshold`` gets
    ``temporal_alpha`` added to its accuracy term. Image prompts get no shuffled rollout and no bonus.

    Where the bonus enters is ``temporal_mode``: ``"bonus"`` (the original) adds it to the accuracy term before
    TRL's group normalisation, which divides it out for 0/1 accuracies with equal format rewards;
    ``"bonus_advantage"`` and ``"order_gap"`` add a temporal term to the advantages after normalisation (see
    :mod:`video_r1.rewards.group` and docs/original-behaviour.md §13). Every run logs how much the bonus moved
    the advantages (``temporal/adv_moved_frac``, ``temporal/adv_abs_change``).

    The original code uses ``mu = 0.8`` (kept as the default); the paper's later text writes ``p >= p~``
    (``mu = 1.0``), and the author calls the two "comparable" (Video-R1 issues #43, #90).

    With ``len_control``, a correct completion (accuracy > ``correct_threshold``) whose token length
    (EOS included) lies in ``[len_min, len_max]`` gets ``len_bonus`` added to its total reward, but only
    when more than one completion of its group is correct. Correctness for the length bonus is judged on
    the accuracy *before* the temporal bonus, as in the original.
    """

    # ---- T-GRPO -------------------------------------------------------------------------------------
    temporal: bool = field(
        default=True,
        metadata={"help": "T-GRPO on (shuffled-frame contrast) or off (plain GRPO; no shuffled generation)."},
    )
    temporal_alpha: float = field(
        default=0.3,
        metadata={
            "help": "Bonus added to the accuracy of correct ordered completions when the group passes."
        },
    )
    temporal_mu: float = field(
        default=0.8,
        metadata={
            "help": "Pass condition p >= mu * p~. 0.8 is the original code's value; the paper's later text "
            "implies 1.0 (the author: 'should be 1.0', results 'comparable')."
        },
    )
    temporal_mode: str = field(
        default="bonus",
        metadata={
            "help": "Where the temporal contrast enters. 'bonus' (the original): +temporal_alpha on the accuracy "
            "of correct completions when p >= mu * p~, before TRL's normalisation (which divides it out for "
            "0/1 accuracies with equal format rewards under scale_rewards=group). 'bonus_advantage': the same "
            "granted +temporal_alpha added to the advantages of correct completions after normalisation. "
            "'order_gap': +temporal_alpha * max(p - p~, 0) on the advantages of correct completions after "
            "normalisation (no threshold; nothing for groups answered as well from shuffled frames). See "
            "docs/original-behaviour.md (the bonus under group normalisation)."
        },
    )
    temporal_center: bool = field(
        default=False,
        metadata={
            "help": "With temporal_mode bonus_advantage or order_gap: subtract the group's mean of the "
            "post-normalisation term, so it sums to zero within each group (correct completions +term * (1 - p), "
            "wrong ones -term * p; an all-correct group gets nothing). Without it (default) the term is added "
            "to correct completions only, which also raises the group's mean advantage. Not used by 'bonus'."
        },
    )
    shuffled_num_generations: int | None = field(
        default=None,
        metadata={"help": "Completions per video prompt on shuffled frames (default: num_generations // 2)."},
    )
    correct_threshold: float = field(
        default=0.1,
        metadata={
            "help": "A completion counts as correct (for both bonuses) when its accuracy exceeds this."
        },
    )
    shuffle_unit: str | None = field(
        default=None,
        metadata={
            "help": "Default (unset): the model family's - 'frame' for Qwen2.5-VL, 'temporal_patch' for "
            "Qwen3-VL/Qwen3.5 (timestamped video). 'frame': permute individual sampled frames, as the "
            "original (Qwen2.5-VL then fuses random frame pairs into one temporal patch); 'temporal_patch': "
            "permute pairs of consecutive frames as units, so each temporal patch stays intact; "
            "'temporal_patch_and_frames': that, and swap the two frames of each pair at random. The shuffled "
            "video keeps the ordered video's metadata, so timestamps stay ascending."
        },
    )
    record_shuffles: bool = field(
        default=False,
        metadata={
            "help": "Debugging: keep the frame order and prompt ids of the last step's shuffled rollouts in "
            "TGRPOTrainer.last_shuffle (indices only; no frames are kept)."
        },
    )
    # ---- length bonus --------------------------------------------------------------------------------
    len_control: bool = field(default=True, metadata={"help": "Enable the length bonus."})
    len_bonus: float = field(default=0.2, metadata={"help": "Length bonus added to the total reward."})
    len_min: int = field(
        default=320, metadata={"help": "Shortest completion (tokens, EOS included) to get it."}
    )
    len_max: int = field(
        default=512, metadata={"help": "Longest completion (tokens, EOS included) to get it."}
    )
    # ---- rewards -------------------------------------------------------------------------------------
    reward_funcs: list[str] = field(
        default_factory=lambda: ["accuracy", "format"],
        metadata={"help": "Reward functions by name from video_r1.rewards (accuracy must be present)."},
    )
    # ---- data: vision_preset, max_frames, video_backend, temporal_rope, on_bad_media (MediaConfigMixin) --
    # ---- vision compute and prompt length --------------------------------------------------------------
    reuse_vision_features: bool = field(
        default=True,
        metadata={
            "help": "Run the vision tower once per distinct image/video of a log-prob chunk and of a HF "
            "generation call, sharing the features among its completions (TRL and the original encode each "
            "media once per completion, G times per pass). Same log-probs, gradients and greedy generations; "
            "false = the repeat-everything path, for comparison."
        },
    )
    freeze_vision_tower: bool = field(
        default=False,
        metadata={
            "help": "Freeze the vision tower (no gradient, features computed without autograd). The original "
            "trained every parameter."
        },
    )
    max_prompt_length: int | None = field(
        default=None,
        metadata={
            "help": "Longest prompt (text + vision tokens) accepted; a longer one raises an error naming the "
            "record (None: no limit). The original left-truncated ids to 16384, which cut vision tokens "
            "when it triggered (#23); lower max_frames or the preset's pixels instead of truncating."
        },
    )

    # ---- defaults that follow the original recipe ----------------------------------------------------
    beta: float = field(default=0.04, metadata={"help": "KL coefficient (the original: 0.04)."})
    loss_type: str = field(
        default="grpo",
        metadata={
            "help": "TRL loss type; 'grpo' = per-sequence token mean then mean over sequences (original)."
        },
    )
    use_bias_correction_kl: bool = field(
        default=False,
        metadata={
            "help": "TRL's importance-ratio factor on the k3 KL term. False (the original): per-token loss "
            "-(A - beta*k3). True changes the gradient (not the loss value) by beta*k3*grad(logp)."
        },
    )
    temperature: float = field(default=1.0, metadata={"help": "Sampling temperature (original: 1.0)."})
    top_p: float = field(default=0.95, metadata={"help": "Nucleus sampling (original: 0.95)."})
    top_k: int | None = field(
        default=None,
        metadata={
            "help": "Top-k sampling; 0 = off. None (default): the original's per rollout engine - 50 with HF "
            "generate (transformers 4.x's GenerationConfig default, which the original's rollouts used), off "
            "with vLLM (the original's SamplingParams)."
        },
    )
    max_completion_length: int | None = field(
        default=768, metadata={"help": "Maximum new tokens per completion (original: 768)."}
    )
    remove_unused_columns: bool | None = field(
        default=False,
        metadata={"help": "Must stay False: the media transform needs the record columns."},
    )

    def __post_init__(self):
        checks = [
            (
                self.num_generations is None or self.num_generations >= 2,
                "num_generations must be >= 2 (a group)",
            ),
            (self.temporal_alpha >= 0, f"temporal_alpha must be >= 0, got {self.temporal_alpha}"),
            (self.temporal_mu >= 0, f"temporal_mu must be >= 0, got {self.temporal_mu}"),
            (
                0 <= self.correct_threshold < 1,
                f"correct_threshold must be in [0, 1), got {self.correct_threshold}",
            ),
            (self.len_bonus >= 0, f"len_bonus must be >= 0, got {self.len_bonus}"),
            (self.len_min >= 1, f"len_min must be >= 1, got {self.len_min}"),
            (self.beta >= 0, f"beta must be >= 0, got {self.beta}"),
            (
                self.temperature > 0,
                f"temperature must be > 0 (GRPO samples its groups), got {self.temperature}",
            ),
            (0 < self.top_p <= 1, f"top_p must be in (0, 1], got {self.top_p}"),
            (self.top_k is None or self.top_k >= 0, f"top_k must be >= 0 (0 = off), got {self.top_k}"),
            (
                self.max_completion_length is None or self.max_completion_length >= 1,
                f"max_completion_length must be >= 1, got {self.max_completion_length}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        if self.top_k is None:
            self.top_k = 0 if self.use_vllm else 50
        if self.num_generations and self.per_device_train_batch_size:
            self.derive_steps(self.per_device_train_batch_size / self.num_generations)
        super().__post_init__()
        if self.shuffled_num_generations is None:
            self.shuffled_num_generations = max(1, self.num_generations // 2)
        if self.temporal and not 1 <= self.shuffled_num_generations <= self.num_generations:
            raise ValueError(
                f"shuffled_num_generations must be in [1, num_generations={self.num_generations}] when "
                f"temporal=True, got {self.shuffled_num_generations}"
            )
        if self.temporal_mode not in TEMPORAL_MODES:
            raise ValueError(f"temporal_mode must be one of {TEMPORAL_MODES}, got {self.temporal_mode!r}")
        if self.temporal_center and self.temporal_mode == "bonus":
            raise ValueError(
                "temporal_center centres the post-normalisation term of temporal_mode bonus_advantage or "
                "order_gap; temporal_mode 'bonus' has none (its bonus is part of the reward, which TRL centres)"
            )
        if self.multi_objective_aggregation != "sum_then_normalize":
            raise ValueError(
                "multi_objective_aggregation must be 'sum_then_normalize' (the original's: rewards summed, then "
                f"normalised per group), got {self.multi_objective_aggregation!r}"
            )
        if self.shuffle_unit is not None and self.shuffle_unit not in SHUFFLE_UNITS:
            raise ValueError(f"shuffle_unit must be one of {SHUFFLE_UNITS}, got {self.shuffle_unit!r}")
        self.check_media_fields()
        if self.max_prompt_length is not None and self.max_prompt_length < 1:
            raise ValueError(f"max_prompt_length must be >= 1 or None, got {self.max_prompt_length}")
        if self.len_min > self.len_max:
            raise ValueError(f"len_min ({self.len_min}) must be <= len_max ({self.len_max})")
        if "accuracy" not in self.reward_funcs:
            raise ValueError("reward_funcs must include 'accuracy' (T-GRPO and the length bonus read it)")
        if self.remove_unused_columns:
            raise ValueError(
                "remove_unused_columns must be False for TGRPOTrainer (records feed the media step)"
            )
