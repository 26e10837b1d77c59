"""Output folders and resumes: no two runs mixed in one folder, no resume without the full training state."""

from __future__ import annotations

from pathlib import Path

import pytest

from video_r1.cli.main import main

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _sft(tiny_checkpoint, synthetic_data, out, *extra):
    return [
        "sft", "--config", str(CONFIGS / "sft_tiny_cpu.yaml"),
        "--model_name_or_path", str(tiny_checkpoint), "--dataset_name", str(synthetic_data["cot"]),
        "--output_dir", str(out), "--max_steps", "2", "--save_steps", "1", *extra,
    ]  # fmt: skip


def _err(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    return lines[-1] if lines else ""


def test_a_folder_holding_a_run_needs_resume_or_overwrite(tiny_checkpoint, synthetic_data, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(_sft(tiny_checkpoint, synthetic_data, out, "--save_only_model", "false")) == 0
    first = (out / "model.safetensors").read_bytes()
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-1", "checkpoint-2"]

    # training again into it is refused: it would overwrite some files and keep others
    assert main(_sft(tiny_checkpoint, synthetic_data, out, "--learning_rate", "0.05")) == 1
    message = _err(capsys)
    assert (
        message.startswith("video-r1 sft: error: ")
        and "already holds a run (checkpoint-1, checkpoint-2" in message
    )
    assert "--resume_from_checkpoint last" in message and "--overwrite_output_dir true" in message
    assert (out / "model.safetensors").read_bytes() == first  # nothing was touched

    # resume by the documented word: continues from the newest checkpoint to max_steps 3
    assert main(_sft(tiny_checkpoint, synthetic_data, out, "--save_only_model", "false", "--max_steps", "3",
                     "--resume_from_checkpoint", "last")) == 0  # fmt: skip
    assert sorted(p.name for p in out.glob("checkpoint-*")) == [
        "checkpoint-1",
        "checkpoint-2",
        "checkpoint-3",
    ]

    # start over explicitly: the old checkpoints go, the new run's come
    assert (
        main(_sft(tiny_checkpoint, synthetic_data, out, "--max_steps", "1", "--overwrite_output_dir", "true"))
        == 0
    )
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-1"]
    assert (out / "model.safetensors").read_bytes() != first


def test_resuming_a_model_only_checkpoint_is_refused(tiny_checkpoint, synthetic_data, tmp_path, capsys):
    """The shipped recipes save the model only (save_only_model: true): such a resume would restart AdamW and
    the LR schedule, so it is refused with what to do instead."""
    out = tmp_path / "run"
    assert main(_sft(tiny_checkpoint, synthetic_data, out)) == 0  # sft_tiny_cpu.yaml: save_only_model true
    checkpoint = out / "checkpoint-1"
    assert not (checkpoint / "optimizer.pt").exists()
    resume = _sft(
        tiny_checkpoint, synthetic_data, tmp_path / "again", "--resume_from_checkpoint", str(checkpoint)
    )
    assert main(resume) == 1
    message = _err(capsys)
    assert "holds the model only (saved with save_only_model: true)" in message
    assert f"--model_name_or_path {checkpoint}" in message
    assert not (tmp_path / "again" / "checkpoint-2").exists()


def test_resume_words_and_missing_checkpoints(tiny_checkpoint, synthetic_data, tmp_path, capsys):
    assert (
        main(_sft(tiny_checkpoint, synthetic_data, tmp_path / "empty", "--resume_from_checkpoint", "last"))
        == 1
    )
    assert "holds no checkpoint-* folder to resume from" in _err(capsys)
    missing = tmp_path / "nope" / "checkpoint-9"
    assert (
        main(_sft(tiny_checkpoint, synthetic_data, tmp_path / "x", "--resume_from_checkpoint", str(missing)))
        == 1
    )
    assert f"--resume_from_checkpoint {missing}: no such checkpoint folder" in _err(capsys)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--max_steps", "-5", "--num_train_epochs", "0"], "max_steps must be > 0"),
        (["--max_steps", "-1", "--num_train_epochs", "0"], "the run would train nothing"),
        (["--learning_rate", "-1"], "learning_rate must be >= 0"),
        (["--prompts_per_step", "0"], "prompts_per_step must be >= 1"),
        (["--lr_decay_steps", "0"], "lr_decay_steps must be >= 1"),
    ],
)
def test_training_length_and_rate_are_range_checked(
    extra, message, tiny_checkpoint, synthetic_data, tmp_path, capsys
):
    assert main(_sft(tiny_checkpoint, synthetic_data, tmp_path / "o", *extra)) == 2
    err = _err(capsys)
    assert err.startswith("video-r1 sft: error: ") and message in err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--temporal_alpha", "-5"], "temporal_alpha must be >= 0"),
        (["--temporal_mu", "-1"], "temporal_mu must be >= 0"),
        (["--num_generations", "1"], "num_generations must be >= 2"),
        (["--num_generations", "0"], "num_generations must be >= 2"),
        (["--correct_threshold", "1.5"], "correct_threshold must be in [0, 1)"),
        (["--len_bonus", "-0.2"], "len_bonus must be >= 0"),
        (["--beta", "-0.1"], "beta must be >= 0"),
        (["--temperature", "0"], "temperature must be > 0"),
        (["--top_p", "1.5"], "top_p must be in (0, 1]"),
        (["--shuffled_num_generations", "9"], "shuffled_num_generations must be in [1, num_generations"),
    ],
)
def test_grpo_settings_are_range_checked(extra, message, tiny_checkpoint, synthetic_data, tmp_path, capsys):
    argv = [
        "grpo", "--config", str(CONFIGS / "grpo_tiny_cpu.yaml"), "--model_name_or_path", str(tiny_checkpoint),
        "--dataset_name", str(synthetic_data["train"]), "--output_dir", str(tmp_path / "o"), *extra,
    ]  # fmt: skip
    assert main(argv) == 2
    err = _err(capsys)
    assert err.startswith("video-r1 grpo: error: ") and message in err
