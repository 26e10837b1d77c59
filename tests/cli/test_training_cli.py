"""``video-r1 grpo`` / ``sft`` on TRL's ModelConfig: parsing, model arguments reaching the model, and LoRA
end to end through the real entry point (train, save an adapter, resume, evaluate, merge)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from video_r1.cli._parse import parse_command
from video_r1.cli._training import (
    DataArguments,
    ModelArguments,
    apply_model_init_args,
    load_training_records,
    run_training,
)
from video_r1.cli.main import main
from video_r1.data.records import RecordError
from video_r1.models.qwen2_5_vl import LORA_TEXT_TARGET_MODULES
from video_r1.trainers import TGRPOConfig, TGRPOTrainer, VideoSFTConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIGS = REPO_ROOT / "configs"
CPU = ["--bf16", "false", "--use_cpu", "true"]


def _parse(command: str, *argv: str):
    if command == "grpo":
        from video_r1.cli.grpo import build_parser
    else:
        from video_r1.cli.sft import build_parser
    return build_parser().parse_args_and_config(list(argv))


# ------------------------------------------------------------------------------------------------------
# Parsing


@pytest.mark.parametrize(
    ("command", "recipe"),
    [
        ("grpo", "grpo_video_7b.yaml"),
        ("grpo", "grpo_video_7b_vllm.yaml"),
        ("grpo", "grpo_tiny_cpu.yaml"),
        ("sft", "sft_video_7b.yaml"),
        ("sft", "sft_tiny_cpu.yaml"),
    ],
)
def test_recipes_parse_into_data_config_and_model_arguments(command, recipe):
    data, config, model = _parse(command, "--config", str(CONFIGS / recipe), *CPU)
    assert isinstance(data, DataArguments) and isinstance(model, ModelArguments)
    assert isinstance(config, TGRPOConfig if command == "grpo" else VideoSFTConfig)
    assert data.dataset_name and model.model_name_or_path
    assert not model.use_peft  # the recipes train every weight, as the original
    apply_model_init_args(model, config)
    if "7b" in recipe:
        assert config.model_init_kwargs == {"dtype": "bfloat16", "attn_implementation": "flash_attention_2"}


def test_model_init_kwargs_from_model_arguments():
    _, config, model = _parse("grpo", "--output_dir", "x", *CPU)
    assert model.dtype is None  # unset: TRL's trainers load float32, as before ModelConfig
    apply_model_init_args(model, config)
    assert config.model_init_kwargs is None

    _, config, model = _parse(
        "sft", "--output_dir", "x", *CPU, "--model_init_kwargs", '{"dtype": "bfloat16", "device_map": null}'
    )
    apply_model_init_args(model, config)
    assert config.model_init_kwargs == {"dtype": "bfloat16", "device_map": None}  # a recipe's own is kept

    _, config, model = _parse(
        "grpo", "--output_dir", "x", *CPU, "--dtype", "float16", "--attn_implementation", "eager",
        "--model_revision", "v2",
    )  # fmt: skip
    apply_model_init_args(model, config)
    assert config.model_init_kwargs == {"dtype": "float16", "attn_implementation": "eager", "revision": "v2"}


def test_lora_flags_parse_and_bad_values_are_refused(capsys):
    _, _, model = _parse("grpo", "--output_dir", "x", *CPU, "--use_peft", "--lora_r", "8")
    assert model.use_peft and model.lora_r == 8 and model.lora_target_modules is None
    _, _, model = _parse("grpo", "--output_dir", "x", *CPU, "--lora_target_modules", "q_proj")
    assert model.lora_target_modules == ["q_proj"]  # TRL would make it the regex "q_proj" (matching nothing)
    _, _, model = _parse("grpo", "--output_dir", "x", *CPU, "--lora_target_modules", "q_proj", "v_proj")
    assert model.lora_target_modules == ["q_proj", "v_proj"]
    _, _, model = _parse("grpo", "--output_dir", "x", *CPU, "--lora_target_modules", "all-linear")
    assert model.lora_target_modules == "all-linear"
    with pytest.raises(ValueError, match="QLoRA"):
        _parse("sft", "--output_dir", "x", *CPU, "--load_in_4bit")
    with pytest.raises(ValueError, match="CAUSAL_LM"):
        _parse("sft", "--output_dir", "x", *CPU, "--lora_task_type", "SEQ_CLS")
    assert main(["grpo", "--output_dir", "x", *CPU]) == 2
    assert (
        "video-r1 grpo: error: --model_name_or_path and --dataset_name are required"
        in capsys.readouterr().err
    )


@pytest.mark.parametrize("command", ["grpo", "sft"])
def test_training_records_on_shared_storage(command, synthetic_data, tmp_path, capsys):
    """What ``video-r1 grpo`` / ``sft`` train on: absolute paths and a symlinked media folder need no flag,
    '..' out of the records' folder needs --allow_parent_traversal (old name: --allow_outside_data_root)."""
    root = Path(synthetic_data["root"])
    records = json.loads(Path(synthetic_data["cot"]).read_text())[:3]  # COT records serve both commands
    folder = tmp_path / "records"
    folder.mkdir()
    (folder / "media").symlink_to(root)  # media -> shared storage
    (tmp_path / "elsewhere").symlink_to(root)
    records[0]["path"] = str(root / records[0]["path"])
    records[1]["path"] = f"./media/{records[1]['path']}"
    dataset_file = folder / "train.json"
    dataset_file.write_text(json.dumps(records))
    config_class = TGRPOConfig if command == "grpo" else VideoSFTConfig

    def load(*argv: str):
        data_args, config, _ = parse_command(
            f"video-r1 {command}",
            [DataArguments, config_class, ModelArguments],
            ["--dataset_name", str(dataset_file), "--output_dir", str(tmp_path / "out"), *CPU, *argv],
        )
        return load_training_records(data_args, seed=config.seed, require_process=command == "sft")

    paths = load()["media_path"]
    assert paths[:2] == [records[0]["path"], str(folder / records[1]["path"])]
    assert all(Path(path).is_file() for path in paths[:2])

    records[2]["path"] = f"../elsewhere/{records[2]['path']}"
    dataset_file.write_text(json.dumps(records))
    with pytest.raises(RecordError) as caught:
        load()
    assert str(caught.value).startswith(  # the file (one JSON line), the record, the field, the path
        f"{dataset_file}:1: record problem_id={records[2]['problem_id']!r}: field 'path': media path "
        f"{records[2]['path']!r} climbs out of the data root {folder} through '..'"
    )
    assert "--allow_parent_traversal true" in str(caught.value)
    capsys.readouterr()
    assert Path(load("--allow_parent_traversal", "true")["media_path"][2]).is_file()
    assert "deprecated" not in capsys.readouterr().err
    assert len(load("--allow_outside_data_root", "true")) == 3  # the old name still works, with a warning
    assert (
        f"video-r1 {command}: warning: --allow_outside_data_root is deprecated, use --allow_parent_traversal ("
        in capsys.readouterr().err
    )
    settings = tmp_path / "settings.yaml"
    settings.write_text("allow_outside_data_root: true\n")
    assert len(load("--config", str(settings))) == 3  # and as a --config key
    assert (
        "--config key allow_outside_data_root is deprecated, use allow_parent_traversal ("
        in capsys.readouterr().err
    )


def test_old_name_in_a_command_without_the_setting_is_just_unknown(tmp_path, capsys):
    """``allow_outside_data_root`` in the --config of a command that has no ``allow_parent_traversal``
    (demo): no 'deprecated, use allow_parent_traversal' advice, one error naming the key it got."""
    from video_r1.cli.main import main

    settings = tmp_path / "settings.yaml"
    settings.write_text("allow_outside_data_root: true\n")
    assert main(["demo", "--config", str(settings), "--output_dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "deprecated" not in err
    assert (
        err.strip().splitlines()[-1].startswith("video-r1 demo: error:") and "allow_outside_data_root" in err
    )


@pytest.mark.parametrize("command", ["grpo", "sft"])
def test_help_documents_every_flag(command, capsys):
    if command == "grpo":
        from video_r1.cli.grpo import build_parser
    else:
        from video_r1.cli.sft import build_parser
    parser = build_parser()
    missing = [a.option_strings[0] for a in parser._actions if a.option_strings and not a.help]
    assert not missing
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    for flag in (
        "--use_peft",
        "--lora_r",
        "--lora_target_modules",
        "--dataset_name",
        "--data_root",
        "--dtype",
    ):
        assert flag in out


def test_dtype_and_attention_reach_the_model(tiny_checkpoint, synthetic_data, tmp_path):
    built = []

    class Recording(TGRPOTrainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            built.append(self)

    argv = [
        "--config", str(CONFIGS / "grpo_tiny_cpu.yaml"), "--model_name_or_path", str(tiny_checkpoint),
        "--dataset_name", str(synthetic_data["train"]), "--output_dir", str(tmp_path / "out"),
        "--max_steps", "1", "--save_strategy", "no", "--per_device_train_batch_size", "2",
        "--num_generations", "2", "--max_completion_length", "4",
        "--dtype", "bfloat16", "--attn_implementation", "eager",
    ]  # fmt: skip
    assert run_training("grpo", argv, TGRPOConfig, Recording) == 0
    (trainer,) = built
    assert trainer.model.dtype == torch.bfloat16
    assert trainer.model.config._attn_implementation == "eager"
    assert trainer.ref_model.dtype == torch.bfloat16  # beta 0.04: TRL's reference model, same settings
    record = json.loads((tmp_path / "out" / "video_r1_run.json").read_text())  # what eval defaults to
    assert record["vision_preset"] == "tiny" and record["trainer"] == "Recording"
    assert (tmp_path / "out" / "trainer_state.json").is_file()  # what video-r1 plot reads


# ------------------------------------------------------------------------------------------------------
# LoRA end to end


def _adapter_files_ok(out: Path, base: Path) -> dict:
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(base.resolve())
    assert config["target_modules"] == LORA_TEXT_TARGET_MODULES
    assert not (out / "model.safetensors").exists()  # the adapter, not a copy of the base
    for name in ("chat_template.jinja", "tokenizer.json", "processor_config.json"):
        assert (out / name).is_file(), name
    weights = load_file(out / "adapter_model.safetensors")
    assert weights and all("lora_" in k and ".language_model.layers." in k for k in weights)
    return config


def test_sft_lora_through_the_cli_saves_an_adapter_and_resumes(
    tiny_checkpoint, synthetic_data, tmp_path, monkeypatch
):
    monkeypatch.chdir(tiny_checkpoint.parent)  # a relative model path: the adapter records it absolute
    common = [
        "sft", "--config", str(CONFIGS / "sft_tiny_cpu.yaml"), "--model_name_or_path", tiny_checkpoint.name,
        "--dataset_name", str(synthetic_data["cot"]), "--use_peft", "--lora_r", "4", "--lora_alpha", "8",
        "--lora_dropout", "0", "--learning_rate", "1e-2", "--max_steps", "2", "--save_strategy", "steps",
        "--save_steps", "1", "--save_only_model", "false",
    ]  # fmt: skip
    full = tmp_path / "full"
    assert main([*common, "--output_dir", str(full)]) == 0
    config = _adapter_files_ok(full, tiny_checkpoint)
    assert config["r"] == 4 and config["lora_alpha"] == 8
    assert (full / "checkpoint-1" / "adapter_model.safetensors").is_file()
    for folder in (full, full / "checkpoint-1"):  # the SFT trainer records its media settings too
        assert json.loads((folder / "video_r1_run.json").read_text())["vision_preset"] == "tiny"

    resumed = tmp_path / "resumed"
    code = main(
        [*common, "--output_dir", str(resumed), "--resume_from_checkpoint", str(full / "checkpoint-1")]
    )
    assert code == 0
    _adapter_files_ok(resumed, tiny_checkpoint)
    state = json.loads((resumed / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["global_step"] == 2
    first, again = (load_file(d / "adapter_model.safetensors") for d in (full, resumed))
    start = load_file(full / "checkpoint-1" / "adapter_model.safetensors")
    assert first.keys() == again.keys()
    for key, value in first.items():  # step 2 ran from the restored adapter: same result as the full run
        torch.testing.assert_close(again[key], value, atol=1e-6, rtol=0, msg=key)
    assert any(not torch.equal(first[k], start[k]) for k in first)  # and step 2 did change it


def _eval_outputs(checkpoint, out_dir, synthetic_data) -> dict[str, str]:
    args = [
        "eval", "--model_name_or_path", str(checkpoint), "--backend", "hf", "--dtype", "float32",
        "--device", "cpu", "--max_frames", "16", "--max_new_tokens", "8", "--temperature", "0",
        "--output_dir", str(out_dir), "--data_root", str(synthetic_data["root"]), "--no_progress",
        "--benchmark_file", f"synth={synthetic_data['test']}",
    ]  # fmt: skip
    assert main(args) == 0
    (results,) = Path(out_dir).glob("synth_*.jsonl")
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    assert rows and all(row.get("error") is None for row in rows)
    return {row["key"]: row["output"] for row in rows}


def test_grpo_lora_adapter_evaluates_like_its_merged_model(
    tiny_checkpoint, synthetic_data, tmp_path, monkeypatch, capsys
):
    # rewards_for_tests.varied_reward: reward spread at random init, so the adapter really moves
    monkeypatch.syspath_prepend(str(REPO_ROOT / "tests" / "trainers"))
    adapter = tmp_path / "grpo_lora"
    argv = [
        "grpo", "--config", str(CONFIGS / "grpo_tiny_cpu.yaml"), "--model_name_or_path", str(tiny_checkpoint),
        "--dataset_name", str(synthetic_data["train"]), "--output_dir", str(adapter), "--use_peft",
        "--lora_r", "8", "--lora_alpha", "16", "--learning_rate", "5e-2", "--max_steps", "3",
        "--save_strategy", "no", "--reward_funcs", "accuracy", "format", "rewards_for_tests:varied_reward",
    ]  # fmt: skip
    assert main(argv) == 0
    _adapter_files_ok(adapter, tiny_checkpoint)
    trained = load_file(adapter / "adapter_model.safetensors")
    assert all(bool(v.abs().max() > 0) for k, v in trained.items() if "lora_B" in k)  # PEFT starts them at 0

    merged = tmp_path / "merged"
    assert main(["merge-lora", str(adapter), str(merged), "--dtype", "float32"]) == 0
    assert (merged / "model.safetensors").is_file() and not (merged / "adapter_config.json").exists()
    assert (merged / "video_r1_run.json").read_text() == (adapter / "video_r1_run.json").read_text()

    with_adapter = _eval_outputs(adapter, tmp_path / "eval_adapter", synthetic_data)
    from_merged = _eval_outputs(merged, tmp_path / "eval_merged", synthetic_data)
    base = _eval_outputs(tiny_checkpoint, tmp_path / "eval_base", synthetic_data)
    assert with_adapter == from_merged  # base + unmerged adapter == merged weights, greedy, sample by sample
    assert with_adapter != base  # and the adapter matters

    # a training run and the vLLM backend need a full checkpoint: both name the merge command
    assert (
        main(["grpo", "--config", str(CONFIGS / "grpo_tiny_cpu.yaml"), "--model_name_or_path", str(adapter)])
        == 1
    )
    assert f"video-r1 merge-lora --adapter {adapter}" in capsys.readouterr().err
    from video_r1.inference import BackendOptions, SamplingConfig, load_backend

    with pytest.raises(ValueError, match=f"needs a full checkpoint.*video-r1 merge-lora --adapter {adapter}"):
        load_backend("vllm", str(adapter), BackendOptions(preset="eval", sampling=SamplingConfig()))


def test_merge_lora_refuses_a_full_checkpoint(tiny_checkpoint, tmp_path, capsys):
    assert main(["merge-lora", str(tiny_checkpoint), str(tmp_path / "out")]) == 1
    assert "not a LoRA adapter folder" in capsys.readouterr().err
