"""The GRPO recipes parse with the CLI's own TrlParser and hold the paper's settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from video_r1.cli.grpo import build_parser

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _parse(name: str):
    # a fresh parser per recipe: TrlParser turns a YAML file into parser defaults
    _, config, model_args = build_parser().parse_args_and_config(
        ["--config", str(CONFIGS / name), "--bf16", "false", "--use_cpu", "true"]
    )
    return model_args, config


@pytest.mark.parametrize("name", ["grpo_video_7b.yaml", "grpo_video_7b_vllm.yaml"])
def test_paper_recipes_match_the_original(name):
    script, config = _parse(name)
    assert script.attn_implementation == "flash_attention_2" and script.dtype == "bfloat16"
    assert (config.learning_rate, config.beta, config.max_grad_norm) == (1e-6, 0.04, 5.0)
    assert (config.num_generations, config.shuffled_num_generations) == (8, 4)
    assert (config.max_prompt_length, config.max_completion_length) == (16384, 768)
    assert (config.temperature, config.top_p, config.top_k) == (1.0, 0.95, 0 if config.use_vllm else 50)
    assert not config.use_bias_correction_kl and config.temporal_rope == "fixed_2fps"
    assert (config.prompts_per_step, config.lr_decay_steps) == (4, 65768)
    assert (config.temporal_alpha, config.temporal_mu, config.correct_threshold) == (0.3, 0.8, 0.1)
    assert (config.len_bonus, config.len_min, config.len_max) == (0.2, 320, 512)
    assert config.loss_type == "grpo" and config.save_steps == 100 and config.gradient_checkpointing
    assert config.use_vllm == (name == "grpo_video_7b_vllm.yaml")
    if config.use_vllm:
        assert config.vllm_mode == "colocate"
        assert config.vllm_max_model_length == config.max_prompt_length + config.max_completion_length
        assert not config.vllm_importance_sampling_correction  # the original had none


def test_tiny_cpu_recipe_parses():
    script, config = _parse("grpo_tiny_cpu.yaml")
    assert config.vision_preset == "tiny" and not config.use_vllm
