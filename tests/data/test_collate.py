"""Mixed image+video loading: decoding in DataLoader workers, once per sample, into processor inputs."""

from __future__ import annotations

import json
import os

import pytest
import torch
from torch.utils.data import DataLoader
from transformers import AutoProcessor

from video_r1.data import collate, media
from video_r1.data.collate import build_processor_inputs, with_media
from video_r1.data.media import BadMediaPolicy, MediaError
from video_r1.data.records import load_records


@pytest.fixture(scope="module")
def processor(tiny_checkpoint):
    return AutoProcessor.from_pretrained(tiny_checkpoint)


def _mixed_indices(dataset):
    types = dataset["data_type"]
    return types.index("video"), types.index("image")


def test_rows_carry_prompt_media_and_build_processor_inputs(synthetic_data, processor):
    records = load_records(synthetic_data["train"])
    dataset = with_media(records, "tiny")
    vi, ii = _mixed_indices(records)
    rows = dataset.__getitems__([vi, ii])
    video_row, image_row = rows
    assert video_row["media"]["type"] == "video" and image_row["media"]["type"] == "image"
    frames = video_row["media"]["frames"]
    assert frames.dtype == torch.uint8 and tuple(frames.shape) == (8, 3, 56, 56)
    assert video_row["prompt"][0]["content"][0] == {"type": "video"}
    assert video_row["skipped_media"] == []

    texts = [
        processor.apply_chat_template(r["prompt"], tokenize=False, add_generation_prompt=True) for r in rows
    ]
    inputs = build_processor_inputs(
        processor, texts, [r["media"] for r in rows], padding=True, padding_side="left", return_tensors="pt"
    )
    config_ids = processor.tokenizer.convert_tokens_to_ids(["<|video_pad|>", "<|image_pad|>"])
    # 8 frames of 56x56: 4 temporal x 4x4 patches -> 16 merged tokens; one video, one image in one batch.
    assert inputs["video_grid_thw"].tolist() == [[4, 4, 4]]
    assert (inputs["input_ids"][0] == config_ids[0]).sum().item() == 16
    image_tokens = int(inputs["image_grid_thw"][0].prod().item()) // 4
    assert (inputs["input_ids"][1] == config_ids[1]).sum().item() == image_tokens
    assert (inputs["input_ids"][1] == config_ids[0]).sum().item() == 0
    # synthetic clips: 8 frames at 2 fps -> 2 frames per temporal patch = 1.0 s
    assert inputs["second_per_grid_ts"].tolist() == pytest.approx([1.0])


def test_each_sample_decoded_once_per_fetch(synthetic_data, monkeypatch):
    calls = []
    real = media.load_media_for_record

    def counting(record, *args, **kwargs):
        calls.append(record["problem_id"])
        return real(record, *args, **kwargs)

    monkeypatch.setattr(collate, "load_media_for_record", counting)
    records = load_records(synthetic_data["train"])
    dataset = with_media(records, "tiny")
    vi, ii = _mixed_indices(records)
    # what RepeatSampler fetches for 2 prompts x 4 generations
    rows = dataset.__getitems__([vi] * 4 + [ii] * 4)
    assert sorted(calls) == sorted([records[vi]["problem_id"], records[ii]["problem_id"]])
    assert all(r["media"]["frames"] is rows[0]["media"]["frames"] for r in rows[:4])


def test_decoding_happens_in_dataloader_workers(synthetic_data):
    dataset = with_media(load_records(synthetic_data["train"]), "tiny")
    loader = DataLoader(dataset, batch_size=4, num_workers=2, collate_fn=lambda rows: rows)
    pids = {row["media"]["decoded_in_pid"] for batch in loader for row in batch}
    assert os.getpid() not in pids and len(pids) >= 1
    assert sum(len(batch) for batch in DataLoader(dataset, batch_size=4, collate_fn=lambda r: r)) == len(
        dataset
    )


def _with_broken_video(synthetic_data, tmp_path):
    records = json.loads(synthetic_data["train"].read_text())
    broken = next(r for r in records if r["data_type"] == "video")
    (tmp_path / "broken.mp4").write_bytes(b"not a video at all")
    broken["path"] = str(tmp_path / "broken.mp4")
    data_file = tmp_path / "train.json"
    data_file.write_text(json.dumps(records))
    dataset = load_records(data_file, data_root=synthetic_data["root"])  # absolute path elsewhere: no flag
    return dataset, records.index(broken), broken


def test_bad_media_error_policy_names_record_and_file(synthetic_data, tmp_path):
    dataset, index, broken = _with_broken_video(synthetic_data, tmp_path)
    with pytest.raises(MediaError) as exc:
        with_media(dataset, "tiny")[index]
    assert str(broken["problem_id"]) in str(exc.value) and "broken.mp4" in str(exc.value)


def test_bad_media_skip_policy_drops_whole_record(synthetic_data, tmp_path):
    dataset, index, broken = _with_broken_video(synthetic_data, tmp_path)
    policy = BadMediaPolicy("skip", output_dir=tmp_path / "out")
    row = with_media(dataset, "tiny", policy)[index]
    replacement = dataset[index + 1]
    assert row["skipped_media"] == [broken["problem_id"]]
    # the slot holds the NEXT record as a whole: its question, its answer and its own media
    assert row["problem_id"] == replacement["problem_id"]
    assert row["solution"] == replacement["solution"] and row["problem"] == replacement["problem"]
    assert row["media"]["path"] == replacement["media_path"]
    logged = [json.loads(x) for x in (tmp_path / "out" / "skipped_media.jsonl").read_text().splitlines()]
    assert [x["problem_id"] for x in logged] == [broken["problem_id"]]
