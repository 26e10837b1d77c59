"""The tiny Qwen3-VL checkpoint and ``video-r1 make-tiny --model_family qwen3_vl``."""

from __future__ import annotations

import json

from video_r1.cli.main import main


def test_tiny_qwen3_vl_checkpoint_files(tiny_qwen3_vl_checkpoint, tiny_checkpoint):
    config = json.loads((tiny_qwen3_vl_checkpoint / "config.json").read_text())
    assert config["model_type"] == "qwen3_vl"
    assert config["vision_config"]["patch_size"] == 16 and config["vision_config"][
        "deepstack_visual_indexes"
    ] == [0]
    assert config["text_config"]["rope_parameters"]["mrope_section"] == [6, 5, 5]
    assert config["text_config"]["rope_parameters"]["mrope_interleaved"] is True
    video = json.loads((tiny_qwen3_vl_checkpoint / "processor_config.json").read_text())["video_processor"]
    assert video["video_processor_type"] == "Qwen3VLVideoProcessor" and video["patch_size"] == 16
    # the project's tokenizer: the same vocabulary as the Qwen2.5-VL tiny model's
    assert (tiny_qwen3_vl_checkpoint / "tokenizer.json").read_text() == (
        tiny_checkpoint / "tokenizer.json"
    ).read_text()


def test_make_tiny_model_family(tmp_path, capsys):
    assert (
        main(["make-tiny", "--output_dir", str(tmp_path / "q3"), "--model_family", "qwen3_vl", "--seed", "1"])
        == 0
    )
    assert "tiny Qwen3-VL checkpoint" in capsys.readouterr().out
    assert json.loads((tmp_path / "q3" / "config.json").read_text())["model_type"] == "qwen3_vl"
    assert main(["make-tiny", "--output_dir", str(tmp_path / "x"), "--model_family", "qwen3_vl_moe"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "video-r1 make-tiny: error: --model_family must be one of ['qwen2_5_vl', 'qwen3_5', 'qwen3_vl'], "
        "got 'qwen3_vl_moe'"
    ]
