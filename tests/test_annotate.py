"""CoT annotation end to end on CPU: raw.jsonl / cot.json / summary.json, selection, bad media, kill + resume.

To get records that are really selected without faking outputs, one checkpoint is *scripted*: the tiny
Qwen2.5-VL checkpoint with its text layers' output projections zeroed, so the residual stream is the current
token's embedding, and an ``lm_head`` that maps each token of a fixed chain to the next one. Greedy decoding
through the real pipeline (processor, vision tower, generate) then emits
``<think>Let me see.</think><answer>A</answer>`` for every prompt, which the real accuracy reward scores
1.0 for records whose answer is A and 0.0 otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from video_r1.annotate import (
    AnnotateConfig,
    annotate,
    build_cot_records,
    extract_think,
    record_keys,
)
from video_r1.cli.main import main
from video_r1.data.records import load_records
from video_r1.errors import UserError
from video_r1.prompts import build_conversation
from video_r1.resumable import ResultsFile

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPTED_COMPLETION = "<think>Let me see.</think><answer>A</answer>"
RESULT_FIELDS = {"key", "output", "answer", "reward", "select", "error", "num_tokens", "sample_fps"}


def _scripted_checkpoint(src: Path, dst: Path, completion: str) -> Path:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(src)
    model = AutoModelForImageTextToText.from_pretrained(src, dtype=torch.float32)
    tok = processor.tokenizer
    prompt = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        tokenize=False,
        add_generation_prompt=True,
    )
    trigger = tok(prompt, add_special_tokens=False)["input_ids"][-1]  # last token of "...assistant\n"
    chain = [
        trigger,
        *tok(completion, add_special_tokens=False)["input_ids"],
        tok.convert_tokens_to_ids("<|im_end|>"),
    ]
    assert len(set(chain)) == len(chain), "the scripted chain needs distinct tokens"
    text_model = model.model.language_model
    with torch.no_grad():
        for layer in text_model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        embed = text_model.embed_tokens.weight
        embed.copy_(torch.randn(embed.shape, generator=torch.Generator().manual_seed(0)))
        model.lm_head.weight.zero_()
        for current, following in zip(chain, chain[1:]):
            model.lm_head.weight[following] = embed[current] / embed[current].norm()
    model.save_pretrained(dst)
    processor.save_pretrained(dst)
    return dst


@pytest.fixture(scope="module")
def scripted_checkpoint(tiny_checkpoint, tmp_path_factory):
    return _scripted_checkpoint(
        tiny_checkpoint, tmp_path_factory.mktemp("scripted") / "ckpt", SCRIPTED_COMPLETION
    )


@pytest.fixture(scope="module")
def train_records(synthetic_data):
    return json.loads(Path(synthetic_data["train"]).read_text(encoding="utf-8"))


def _write_input(path: Path, records: list[dict]) -> Path:
    path.write_text(json.dumps(records, indent=1), encoding="utf-8")
    return path


def _args(input_file, output_dir, root, model, *extra):
    return [
        "annotate",
        "--input", str(input_file),
        "--data_root", str(root),
        "--output_dir", str(output_dir),
        "--model_name_or_path", str(model),
        "--backend", "hf",
        "--device", "cpu",
        "--dtype", "float32",
        "--preset", "tiny",
        "--batch_size", "2",
        "--no_progress",
        *extra,
    ]  # fmt: skip


def _raw(output_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (output_dir / "raw.jsonl").read_text(encoding="utf-8").splitlines()]


def test_end_to_end_selection_bad_media_and_sft_ready(
    scripted_checkpoint, synthetic_data, train_records, tmp_path
):
    root = Path(synthetic_data["root"])
    broken_video = tmp_path / "broken.mp4"
    broken_video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(500))
    broken = dict(train_records[1], problem_id=100, path=str(broken_video))
    # videos with answers A and B, images (multiple choice A, numerical, regression), one broken video
    chosen = [train_records[i] for i in (0, 1, 2)] + [broken] + [train_records[i] for i in (3, 6, 9, 11)]
    input_file = _write_input(tmp_path / "in.json", chosen)
    out = tmp_path / "out"

    assert (
        main(
            _args(
                input_file,
                out,
                root,
                scripted_checkpoint,
                "--temperature",
                "0",
                "--max_new_tokens",
                "16",  # the broken video lies outside the data root, by absolute path: no flag needed
            )  # fmt: skip
        )
        == 0
    )

    raw = _raw(out)
    assert [line["key"] for line in raw] == [str(r["problem_id"]) for r in chosen]
    by_id = {line["problem_id"]: line for line in raw}
    bad = by_id[100]
    assert bad["output"] is None and bad["reward"] is None and bad["select"] is False
    assert bad["error"].startswith("MediaError: problem_id=100") and str(broken_video) in bad["error"]
    good = [line for line in raw if line["problem_id"] != 100]
    for line in good:
        assert RESULT_FIELDS <= set(line) and "media_path" not in line
        assert line["error"] is None
        assert line["output"] == SCRIPTED_COMPLETION  # the batch neighbour of the broken video too
        assert line["answer"] == "A"
        expected = 1.0 if line["solution"] == "<answer>A</answer>" else 0.0
        assert line["reward"] == expected
        assert line["select"] is (line["reward"] > 0.6)
        assert line["num_tokens"] > 0
        assert (line["sample_fps"] is not None) == (line["data_type"] == "video")
    selected_ids = [line["problem_id"] for line in raw if line["select"]]
    assert selected_ids and len(selected_ids) < len(good)  # some kept, some dropped

    cot = json.loads((out / "cot.json").read_text(encoding="utf-8"))
    assert [r["problem_id"] for r in cot] == selected_ids
    input_by_id = {r["problem_id"]: r for r in chosen}
    for record in cot:
        assert record["process"] == "<think>Let me see.</think>"
        assert {k: v for k, v in record.items() if k != "process"} == input_by_id[record["problem_id"]]

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["total"] == summary["done"] == len(chosen)
    assert summary["errors"] == 1 and summary["selected"] == summary["cot_records"] == len(selected_ids)
    assert summary["mean_reward"] == pytest.approx(len(selected_ids) / len(good))
    assert summary["runs"] == 1 and summary["wall_time_s"] > 0

    # cot.json is an SFT input: it loads with process required and builds the original SFT target
    sft = load_records(out / "cot.json", data_root=root, require_process=True)
    assert len(sft) == len(selected_ids)
    messages = build_conversation(sft[0], "sft")
    assert messages[-1]["content"][0]["text"] == f"<think>Let me see.</think>\n{sft[0]['solution']}"

    # a rerun with everything done generates nothing and keeps raw.jsonl byte for byte
    before = (out / "raw.jsonl").read_bytes()
    assert main(_args(input_file, out, root, scripted_checkpoint, "--temperature", "0")) == 0
    assert (out / "raw.jsonl").read_bytes() == before
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["runs"] == 2

    # --retry_errors regenerates only the failed record once its media is repaired
    shutil.copyfile(root / train_records[1]["path"], broken_video)
    assert (
        main(_args(input_file, out, root, scripted_checkpoint, "--temperature", "0", "--retry_errors")) == 0
    )
    raw = _raw(out)
    assert sorted(line["key"] for line in raw) == sorted(str(r["problem_id"]) for r in chosen)
    fixed = next(line for line in raw if line["problem_id"] == 100)
    assert fixed["error"] is None and fixed["output"] == SCRIPTED_COMPLETION


def test_selection_is_strictly_greater_than_min_reward(
    scripted_checkpoint, synthetic_data, train_records, tmp_path
):
    from video_r1.inference import BackendOptions, SamplingConfig, load_backend

    chosen = train_records[:4]
    rewards = {r["problem_id"]: value for r, value in zip(chosen, (0.6, 0.61, 1.0, 0.0))}
    config = AnnotateConfig(
        dataset_name=str(_write_input(tmp_path / "in.json", chosen)),
        output_dir=str(tmp_path / "out"),
        data_root=str(synthetic_data["root"]),
        backend="hf",
        vision_preset="tiny",
        progress=False,
    )
    options = BackendOptions(
        preset="tiny", sampling=SamplingConfig(temperature=0, max_new_tokens=16), batch_size=4
    )
    backend = load_backend("hf", str(scripted_checkpoint), options, device="cpu")
    try:
        summary = annotate(
            config, backend=backend, scorer=lambda output, record: rewards[record["problem_id"]]
        )
    finally:
        backend.close()
    raw = _raw(tmp_path / "out")
    assert [line["select"] for line in raw] == [False, True, True, False]
    cot = json.loads((tmp_path / "out" / "cot.json").read_text(encoding="utf-8"))
    assert [r["problem_id"] for r in cot] == [chosen[1]["problem_id"], chosen[2]["problem_id"]]
    assert summary["selected"] == 2 and summary["mean_reward"] == pytest.approx((0.6 + 0.61 + 1.0) / 4)


def test_killed_run_resumes_with_every_record_exactly_once(
    tiny_checkpoint, synthetic_data, train_records, tmp_path
):
    root = Path(synthetic_data["root"])
    records = train_records + train_records  # problem_ids repeat: keys become "<problem_id>@<index>"
    input_file = _write_input(tmp_path / "in.json", records)
    out = tmp_path / "out"
    args = _args(
        input_file, out, root, tiny_checkpoint, "--batch_size", "1", "--max_new_tokens", "24", "--seed", "0"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "src"), TOKENIZERS_PARALLELISM="false")
    proc = subprocess.Popen(
        [sys.executable, "-m", "video_r1.cli.main", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    raw_path = out / "raw.jsonl"
    deadline = time.monotonic() + 240
    try:
        while not (raw_path.exists() and raw_path.read_bytes().count(b"\n") >= 1):
            if proc.poll() is not None:
                pytest.fail(
                    f"annotate exited early ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}"
                )
            if time.monotonic() > deadline:
                pytest.fail("annotate wrote no result within 240 s")
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    before = ResultsFile(raw_path).records()
    assert 1 <= len(before) < len(records), "the run should have been killed part-way"
    assert not (out / "summary.json").exists()

    assert main(args) == 0
    after = ResultsFile(raw_path).records()
    keys = [line["key"] for line in after]
    assert sorted(keys) == sorted(record_keys(records)) and len(set(keys)) == len(records)
    assert after[: len(before)] == before  # results written before the kill are kept as they were
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["done"] == summary["total"] == len(records) and summary["errors"] == 0
    json.loads((out / "cot.json").read_text(encoding="utf-8"))  # rebuilt (possibly empty: random model)


def test_output_dir_of_another_input_is_refused(synthetic_data, train_records, tmp_path):
    out = tmp_path / "out"
    ResultsFile(out / "raw.jsonl").append({"key": "not-a-record"})
    config = AnnotateConfig(
        dataset_name=str(_write_input(tmp_path / "in.json", train_records[:2])),
        output_dir=str(out),
        data_root=str(synthetic_data["root"]),
        backend="hf",
    )
    with pytest.raises(UserError, match="another input file"):
        annotate(config)


def test_helpers():
    assert record_keys([{"problem_id": 1}, {"problem_id": 2}]) == ["1", "2"]
    assert record_keys([{"problem_id": 1}, {"problem_id": 1}, {"problem_id": 2}]) == ["1@0", "1@1", "2@2"]
    assert extract_think("x <think>a\nb</think> <answer>1</answer>") == "<think>a\nb</think>"
    assert extract_think("<answer>1</answer>") is None and extract_think(None) is None
    raw = [
        {
            "key": "a",
            "problem_id": 1,
            "output": "<think>t</think><answer>A</answer>",
            "select": True,
            "reward": 1.0,
        },
        {
            "key": "b",
            "problem_id": 2,
            "output": "<answer>A</answer>",
            "select": True,
            "reward": 1.0,
        },  # no think
        {"key": "c", "problem_id": 3, "output": "<think>t</think>", "select": False, "reward": 0.0},
    ]
    assert build_cot_records(raw, order=["c", "b", "a"]) == [{"problem_id": 1, "process": "<think>t</think>"}]


def test_launcher_help():
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "annotate_cot.sh"), "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    assert "MODEL" in result.stdout and "OUTPUT_DIR" in result.stdout and "BACKEND" in result.stdout


def test_vllm_backend_without_vllm_is_a_clear_error(
    tiny_checkpoint, synthetic_data, train_records, tmp_path, capsys
):
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here")
    input_file = _write_input(tmp_path / "in.json", train_records[:1])
    args = _args(input_file, tmp_path / "out", synthetic_data["root"], tiny_checkpoint)
    args[args.index("--backend") + 1] = "vllm"
    del args[args.index("--device") : args.index("--device") + 2]  # hf only: refused with vllm
    assert main(args) == 1
    assert "install the GPU stack: bash setup.sh --gpu" in capsys.readouterr().err


def test_annotate_preset_defaults_to_the_recorded_one_and_keeps_the_preset_alias(tiny_checkpoint, tmp_path):
    from video_r1.cli._parse import parse_command

    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "video_r1_run.json").write_text(json.dumps({"vision_preset": "tiny", "max_frames": 8}))
    base = ["--input", "x.json", "--output_dir", str(tmp_path / "out"), "--backend", "hf"]
    (config,) = parse_command(
        "video-r1 annotate", [AnnotateConfig], [*base, "--model_name_or_path", str(ckpt)]
    )
    assert (config.vision_preset, config.max_frames) == ("tiny", 8)
    assert "vision preset: tiny, max_frames 8" in config.vision_note
    (config,) = parse_command(
        "video-r1 annotate", [AnnotateConfig], [*base, "--model_name_or_path", str(ckpt), "--preset", "eval"]
    )
    assert (config.vision_preset, config.max_frames, config.vision_note) == ("eval", None, "")
    (config,) = parse_command(
        "video-r1 annotate", [AnnotateConfig], [*base, "--model_name_or_path", str(tiny_checkpoint)]
    )
    assert (config.vision_preset, config.max_frames) == ("train", None)  # no record: the original's
