"""What the trainers rely on inside TRL and transformers, and the versions they were written for.

``TGRPOTrainer`` and ``VideoSFTTrainer`` are thin subclasses, but thin over *private* methods: TRL 1.16 has no
video path, so the T-GRPO trainer hooks six private ``GRPOTrainer`` methods, passes video through TRL's
``images`` argument to its vLLM colocate code, and both trainers override transformers' checkpoint loading;
the project also replaces ``Qwen2_5_VLModel.get_rope_index``. A TRL or transformers release can change any
of these without notice. So:

- :func:`check_library_versions` (called by both trainers) refuses a TRL or transformers series the code was
  not written for, naming the supported versions (``VIDEO_R1_ALLOW_UNTESTED_VERSIONS=1`` turns the error into
  a warning, for porting work);
- :data:`CONTRACT` lists every such method with the parameters the project's code expects, and the file
  that depends on it; ``tests/trainers/test_library_contract.py`` fails with a pointer to that file when an
  installed library differs. ``CONFIG_FIELDS`` and ``TRAINER_ATTRIBUTES`` do the same for the config fields
  and trainer attributes the code reads.

Porting to a new TRL: run that test, read TRL's new version of each method it names, port the override in
the named file, then update the entries here.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

logger = logging.getLogger(__name__)

#: Release series the trainers were written and tested for (pyproject.toml pins the same ranges).
SUPPORTED_VERSIONS = {"trl": "1.16", "transformers": "5.20"}
ALLOW_ENV = "VIDEO_R1_ALLOW_UNTESTED_VERSIONS"


@dataclass(frozen=True)
class Hook:
    """A library method the project overrides, wraps or replaces."""

    #: ``module:Class.method``
    target: str
    #: Parameter names after ``self`` (``*`` and ``**`` names included), in order.
    parameters: tuple[str, ...]
    #: The project file whose code depends on it.
    used_by: str


CONTRACT: tuple[Hook, ...] = (
    Hook(
        "trl:GRPOTrainer._generate_and_score_completions",
        ("inputs",),
        "src/video_r1/trainers/video_grpo_trainer.py (VideoGRPOTrainer._generate_and_score_completions)",
    ),
    Hook("trl:GRPOTrainer._tokenize_prompts", ("prompts",), "src/video_r1/trainers/video_grpo_trainer.py"),
    Hook(
        "trl:GRPOTrainer._generate_single_turn",
        ("prompt_ids", "images", "multimodal_fields", "num_generations", "has_tool_images"),
        "src/video_r1/trainers/video_grpo_trainer.py",
    ),
    Hook(
        "trl:GRPOTrainer._get_per_token_logps_and_entropies",
        (
            "model",
            "input_ids",
            "attention_mask",
            "logits_to_keep",
            "batch_size",
            "compute_entropy",
            "compute_aux_loss",
            "pixel_values",
            "image_grid_thw",
            "num_images",
            "pixel_attention_mask",
            "spatial_shapes",
            "num_tiles",
            "image_sizes",
            "token_type_ids",
            "mm_token_type_ids",
            "image_position_ids",
        ),
        "src/video_r1/trainers/video_grpo_trainer.py (the log-prob pass with video and shared vision features)",
    ),
    Hook("trl:GRPOTrainer._compute_loss", ("model", "inputs"), "src/video_r1/trainers/video_grpo_trainer.py"),
    Hook(
        "trl:GRPOTrainer._calculate_rewards",
        ("inputs", "prompts", "completions", "completion_ids_list"),
        "src/video_r1/trainers/video_grpo_trainer.py (bonus columns; rewards/group.py transcribes its advantages)",
    ),
    Hook(
        "trl.generation.vllm_generation:VLLMGeneration.generate",
        ("prompts", "images", "num_generations", "profiler"),
        "src/video_r1/vllm/colocate.py (media ride through `images`; MediaAwareLLM wraps `.llm`)",
    ),
    Hook(
        "trl.generation.vllm_generation:VLLMGeneration._iter_named_params",
        (),
        "src/video_r1/trainers/lora.py (replaced for LoRA policies: merged weights computed out of place)",
    ),
    Hook(
        "trl.generation.vllm_generation:VLLMGeneration._fix_param_name_to_vllm",
        ("name", "extra_prefixes"),
        "src/video_r1/trainers/lora.py (iter_merged_params names weights as TRL does)",
    ),
    Hook(
        "trl.distributed:DistributedBackend.gather_params",
        ("params",),
        "src/video_r1/trainers/lora.py (iter_merged_params gathers ZeRO-3 shards as TRL does)",
    ),
    Hook(
        "peft.tuners.lora.layer:Linear.get_delta_weight",
        ("adapter",),
        "src/video_r1/trainers/lora.py (iter_merged_params: W + delta, as PEFT's merge)",
    ),
    Hook(
        "trl:SFTTrainer.compute_loss",
        ("model", "inputs", "return_outputs", "num_items_in_batch"),
        "src/video_r1/trainers/sft.py (answer_loss_weight)",
    ),
    Hook(
        "trl:SFTTrainer._get_num_items_in_batch",
        ("batch_samples", "device"),
        "src/video_r1/trainers/sft.py (answer_loss_weight)",
    ),
    Hook(
        "transformers:Trainer._load_from_checkpoint",
        ("resume_from_checkpoint", "model"),
        "src/video_r1/trainers/checkpoint.py (ResumeWithKeyMappingMixin)",
    ),
    Hook(
        "transformers:Trainer.create_scheduler",
        ("num_training_steps", "optimizer"),
        "src/video_r1/trainers/steps.py (LRHorizonMixin)",
    ),
    Hook(
        "transformers.models.qwen2_5_vl.modeling_qwen2_5_vl:Qwen2_5_VLModel.transformers_get_rope_index",
        (
            "input_ids",
            "mm_token_type_ids",
            "image_grid_thw",
            "video_grid_thw",
            "second_per_grid_ts",
            "attention_mask",
            "kwargs",
        ),
        "src/video_r1/models/qwen2_5_vl.py (replaced by the released M-RoPE rule; its callers pass these)",
    ),
)

#: Config fields the trainers and recipes read or set, by the class that must define them.
CONFIG_FIELDS: dict[str, tuple[str, ...]] = {
    "trl:GRPOConfig": (
        "beta",
        "loss_type",
        "scale_rewards",
        "num_iterations",
        "use_bias_correction_kl",
        "temperature",
        "top_p",
        "top_k",
        "num_generations",
        "num_generations_eval",
        "generation_kwargs",
        "reward_weights",
        "max_completion_length",
        "use_vllm",
        "vllm_mode",
        "vllm_importance_sampling_correction",
        "steps_per_generation",
        "generation_batch_size",
        "multi_objective_aggregation",
    ),
    "trl:SFTConfig": ("loss_type", "dataset_kwargs", "packing", "padding_free", "assistant_only_loss"),
}

#: Attributes of a built GRPOTrainer that VideoGRPOTrainer / TGRPOTrainer read.
TRAINER_ATTRIBUTES: tuple[str, ...] = (
    "num_generations",
    "num_generations_eval",
    "reward_func_names",
    "chat_template_kwargs",
    "_metrics",
    "use_vllm",
    "model_wrapped",
    "processing_class",
)


def _series(version: str) -> str:
    return ".".join(version.split(".")[:2])


def check_library_versions() -> None:
    """Raise ``RuntimeError`` naming the supported versions when TRL or transformers is another series."""
    import transformers
    import trl

    found = {"trl": trl.__version__, "transformers": transformers.__version__}
    wrong = {name: v for name, v in found.items() if _series(v) != SUPPORTED_VERSIONS[name]}
    if not wrong:
        return
    listing = ", ".join(f"{name} {v} (supported: {SUPPORTED_VERSIONS[name]}.x)" for name, v in wrong.items())
    message = (
        f"video-r1's trainers override private TRL/transformers methods and were written for trl "
        f"{SUPPORTED_VERSIONS['trl']}.x and transformers {SUPPORTED_VERSIONS['transformers']}.x; found {listing}. "
        "Install the pinned stack (bash setup.sh, or pip install -r requirements.txt). To port to a new release, "
        "run tests/trainers/test_library_contract.py and see src/video_r1/trainers/library_contract.py; "
        f"{ALLOW_ENV}=1 lets you run anyway."
    )
    if os.environ.get(ALLOW_ENV) == "1":
        logger.warning(message)
        return
    raise RuntimeError(message)
