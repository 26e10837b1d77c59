"""MVBench-style ``.webm`` media named ``.mp4`` in the records: ``--check`` says so, ``--convert_media``
converts them with PyAV, and a failed or interrupted conversion never leaves a file under the target name."""

from __future__ import annotations

import json
import os
from pathlib import Path

import av
import numpy as np
import pytest

from video_r1.cli.main import main
from video_r1.evaluation import convert
from video_r1.evaluation.convert import (
    MediaConversionError,
    convert_missing_media,
    convert_video,
    find_alternatives,
    temporary_path,
)

N_FRAMES = 10


def make_webm(path: Path, frames: int = N_FRAMES, width: int = 35, height: int = 27, fps: int = 12) -> Path:
    """A VP9 WebM with odd dimensions; frame i is uniformly grey level 20*i."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libvpx-vp9", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frames):
            image = np.full((height, width, 3), 20 * index, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def decode(path: Path) -> tuple[list[float], list[np.ndarray], tuple[int, int]]:
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
        stream = container.streams.video[0]
        size = (stream.codec_context.width, stream.codec_context.height)
    return [round(f.time, 3) for f in frames], [f.to_ndarray(format="gray") for f in frames], size


def mvbench_release(eval_dir: Path) -> list[dict]:
    records = [
        {
            "problem_id": pid,
            "problem": "What is the person doing?",
            "data_type": "video",
            "problem_type": "multiple choice",
            "options": ["A. opening", "B. closing"],
            "solution": "<answer>A</answer>",
            "path": path,
        }
        for pid, path in enumerate(
            [
                "./MVBench/ssv2_video/1001.mp4",
                "./MVBench/ssv2_video/1001.mp4",
                "./MVBench/ssv2_video/1002.mp4",
            ],
            start=1,
        )
    ]
    eval_dir.mkdir(parents=True, exist_ok=True)
    (eval_dir / "eval_mvbench.json").write_text(json.dumps(records, indent=4), encoding="utf-8")
    return records


def test_find_alternatives(tmp_path):
    target = tmp_path / "v" / "1001.mp4"
    assert find_alternatives(target) == []  # no folder
    make_webm(tmp_path / "v" / "1001.webm")
    (tmp_path / "v" / "1001.MKV").write_bytes(b"x")
    (tmp_path / "v" / "1001.json").write_text("{}")  # not a video suffix
    (tmp_path / "v" / "1001.avi").write_bytes(b"")  # empty
    (tmp_path / "v" / "10011.webm").write_bytes(b"x")  # another stem
    temporary_path(target).write_bytes(b"partial")  # a leftover of a killed conversion
    assert [p.name for p in find_alternatives(target)] == ["1001.webm", "1001.MKV"]


def test_convert_video_keeps_frames_and_timing(tmp_path):
    source = make_webm(tmp_path / "a.webm")
    target = tmp_path / "a.mp4"
    assert convert_video(source, target) == N_FRAMES
    src_times, src_frames, _ = decode(source)
    times, frames, size = decode(target)
    assert size == (34, 26)  # even dimensions for H.264
    assert times == src_times and len(times) == N_FRAMES
    for index, frame in enumerate(frames):
        assert abs(float(frame.mean()) - float(src_frames[index].mean())) < 3.0
    assert not temporary_path(target).exists()
    with av.open(str(target)) as container:
        assert "mp4" in container.format.name and container.streams.video[0].codec_context.name == "h264"
    # the project's decoder reads it (decord first, as the evaluation does)
    from video_r1.data import vision

    video, meta = vision.load_video(target, vision.get_preset("eval", max_frames=16), backend="decord")
    assert video.shape[0] >= 2 and meta is not None


def test_failed_or_interrupted_conversion_leaves_nothing(tmp_path, monkeypatch):
    source = make_webm(tmp_path / "a.webm")
    target = tmp_path / "a.mp4"
    real_encode = convert._encode

    def encode_then_fail(src, dst, encoder):
        real_encode(src, dst, encoder)  # a complete temporary file exists at this point
        assert Path(dst).is_file() and Path(dst) == temporary_path(target)
        raise OSError("disk full")

    monkeypatch.setattr(convert, "_encode", encode_then_fail)
    with pytest.raises(MediaConversionError, match=r"a\.webm -> .*a\.mp4: OSError: disk full"):
        convert_video(source, target)
    assert not target.exists() and not temporary_path(target).exists()

    def encode_interrupted(src, dst, encoder):
        Path(dst).write_bytes(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(convert, "_encode", encode_interrupted)
    with pytest.raises(KeyboardInterrupt):
        convert_video(source, target)
    assert not target.exists() and not temporary_path(target).exists()

    monkeypatch.setattr(convert, "_encode", real_encode)
    garbage = tmp_path / "b.webm"
    garbage.write_bytes(os.urandom(4096))
    report = convert_missing_media([str(tmp_path / "b.mp4"), str(tmp_path / "c.mp4")])
    assert report.converted == [] and report.no_alternative == [str(tmp_path / "c.mp4")]
    assert len(report.failed) == 1 and str(garbage) in report.failed[0][2]
    assert not (tmp_path / "b.mp4").exists() and not temporary_path(tmp_path / "b.mp4").exists()


def test_check_reports_webm_and_convert_media_fixes_it(tmp_path, capsys):
    eval_dir = tmp_path / "Evaluation"
    mvbench_release(eval_dir)
    make_webm(eval_dir / "MVBench" / "ssv2_video" / "1001.webm")
    out = tmp_path / "out"
    common = ["eval", "--eval_dir", str(eval_dir), "--benchmarks", "mvbench", "--output_dir", str(out)]

    assert main([*common, "--check", "--no_progress"]) == 1
    captured = capsys.readouterr()
    assert "1 missing" in captured.out and "1 other_container" in captured.out
    assert f"convert them with: video-r1 eval --convert_media --eval_dir {eval_dir} --benchmarks mvbench" in (
        captured.err
    )
    problems = {
        fields[2]: fields
        for fields in (line.split("\t") for line in (out / "missing_media.txt").read_text().splitlines()[1:])
    }
    webm_line = problems[str(eval_dir / "MVBench" / "ssv2_video" / "1001.mp4")]
    assert webm_line[1] == "other_container" and webm_line[3] == "2" and "1001.webm" in webm_line[4]
    assert problems[str(eval_dir / "MVBench" / "ssv2_video" / "1002.mp4")][1] == "missing"

    # Converts what it can, then checks: 1002 has no alternative, so still exit 1.
    assert main([*common, "--convert_media"]) == 1
    captured = capsys.readouterr()
    assert "converted 1 file(s); 0 failed; 1 missing file(s) have no same-named file" in captured.out
    converted = eval_dir / "MVBench" / "ssv2_video" / "1001.mp4"
    assert decode(converted)[0] == decode(eval_dir / "MVBench" / "ssv2_video" / "1001.webm")[0]

    make_webm(eval_dir / "MVBench" / "ssv2_video" / "1002.webm", frames=4)
    assert main([*common, "--convert_media", "--no_progress"]) == 0
    assert len(decode(eval_dir / "MVBench" / "ssv2_video" / "1002.mp4")[0]) == 4
    assert decode(converted)[0] == decode(eval_dir / "MVBench" / "ssv2_video" / "1001.webm")[0]  # untouched
    assert main([*common, "--check", "--no_progress"]) == 0
    assert sorted(p.name for p in (eval_dir / "MVBench" / "ssv2_video").iterdir()) == [
        "1001.mp4",
        "1001.webm",
        "1002.mp4",
        "1002.webm",
    ]


def test_check_warns_on_a_record_count_that_differs_from_the_release(tmp_path, capsys):
    eval_dir = tmp_path / "Evaluation"
    video = make_webm(tmp_path / "v.webm")
    convert_video(video, eval_dir / "VideoMME" / "v.mp4")
    record = {
        "problem_id": 1,
        "problem": "q",
        "data_type": "video",
        "problem_type": "multiple choice",
        "options": ["A. a", "B. b"],
        "solution": "<answer>A</answer>",
        "path": "./VideoMME/v.mp4",
        "duration": "short",
    }
    (eval_dir / "eval_videomme.json").write_text(json.dumps([record]), encoding="utf-8")
    common = [
        "eval",
        "--check",
        "--eval_dir",
        str(eval_dir),
        "--output_dir",
        str(tmp_path / "o"),
        "--no_progress",
    ]
    assert main([*common, "--benchmarks", "videomme"]) == 0  # a warning, not a failure
    captured = capsys.readouterr()
    assert "warning: videomme: 1 records, the released eval_videomme.json has 2700" in captured.err
    assert "1 record_count" in captured.out
    report = (tmp_path / "o" / "missing_media.txt").read_text().splitlines()
    assert report[1].split("\t")[:2] == ["videomme", "record_count"]
