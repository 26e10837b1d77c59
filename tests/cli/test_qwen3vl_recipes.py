"""The Qwen3-VL-8B recipes parse with the CLI's own parsers and keep the paper's hyper-parameters."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
CPU = ["--bf16", "false", "--use_cpu", "true"]


def _parse(command: str, name: str):
    if command == "grpo":
        from video_r1.cli.grpo import build_parser
    else:
        from video_r1.cli.sft import build_parser
    _, config, script = build_parser().parse_args_and_config(["--config", str(CONFIGS / name), *CPU])
    return script, config


def _paper(command: str):
    return _parse(command, "grpo_video_7b.yaml" if command == "grpo" else "sft_video_7b.yaml")


#: Fields that differ on purpose from the paper's Qwen2.5-VL recipes (said in the recipes' comments).
QWEN3_VL_CHANGES = {
    "grpo": {"model_name_or_path", "output_dir", "temporal_rope"},
    "sft": {"model_name_or_path", "output_dir", "temporal_rope", "loss_masking"},
}


@pytest.mark.parametrize("command", ["grpo", "sft"])
def test_qwen3vl_recipes_are_the_paper_recipes_with_qwen3vl_settings(command):
    name = f"{command}_qwen3vl_8b.yaml"
    script, config = _parse(command, name)
    paper_script, paper_config = _paper(command)
    assert script.dtype == "bfloat16" and script.attn_implementation == "flash_attention_2"
    assert config.vision_preset == "train" and config.temporal_rope == "sampled_fps"
    if command == "grpo":
        assert script.model_name_or_path == "runs/Qwen3-VL-8B-COT-SFT"
        assert config.shuffle_unit is None  # the family's default: temporal_patch for Qwen3-VL
        assert config.reuse_vision_features  # switched off by the trainer for Qwen3-VL, with a logged line
    else:
        assert script.model_name_or_path == "Qwen/Qwen3-VL-8B-Instruct"
        assert config.loss_masking == "completion_only"
    changed = QWEN3_VL_CHANGES[command]
    for field in dataclasses.fields(paper_config):
        if field.name in changed or "dir" in field.name or field.name == "run_name":
            continue
        assert getattr(config, field.name) == getattr(paper_config, field.name), field.name
    assert {k for k in vars(script) if getattr(script, k) != getattr(paper_script, k)} <= changed
