"""Bad media under the "error" and "skip" policies (video_r1.data.media).

Every bad file must end in a MediaError naming the record's problem_id and path, or - when skipping -
in ``None`` plus a counted, logged skip. Nothing else's media may come back in its place.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from video_r1.data.media import (
    BadMediaPolicy,
    LoadedMedia,
    MediaError,
    load_media_for_record,
    mp4_truncation_reason,
)
from video_r1.data.vision import load_video


def write_video(path: Path, num_frames: int, faststart: bool = False, size: int = 64) -> Path:
    """A small h264 mp4 (``faststart`` puts the moov index before the frame data)."""
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        rng = np.random.default_rng(0)
        for _ in range(num_frames):  # noisy frames so the payload is large compared to the header
            rgb = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        for _ in range(8):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate = 16000
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def cut(src: Path, dst: Path, fraction: float = 0.5) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("media")
    good = write_video(root / "good.mp4", 30)
    good_fs = write_video(root / "good_faststart.mp4", 30, faststart=True)
    zeroed = bytearray(good_fs.read_bytes())
    mdat = zeroed.find(b"mdat")
    zeroed[mdat + 4 :] = bytes(len(zeroed) - mdat - 4)  # container intact, every frame undecodable
    (root / "zeroed.mp4").write_bytes(bytes(zeroed))
    (root / "empty.mp4").write_bytes(b"")
    (root / "noise.mp4").write_bytes(
        np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    )
    image = root / "good.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (120, 160, 3), dtype=np.uint8)).save(image)
    (root / "noise.png").write_bytes(
        np.random.default_rng(3).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    )
    (root / "empty.png").write_bytes(b"")
    return {
        "good": good,
        "good_faststart": good_fs,
        "cut_half": cut(good, root / "cut_half.mp4"),  # index (moov) at the end: cut before it
        "cut_half_faststart": cut(good_fs, root / "cut_half_faststart.mp4"),  # index intact, frames missing
        "zeroed": root / "zeroed.mp4",
        "audio_only": write_audio_only(root / "audio_only.mp4"),
        "one_frame": write_video(root / "one_frame.mp4", 1),
        "empty": root / "empty.mp4",
        "noise": root / "noise.mp4",
        "missing": root / "does_not_exist.mp4",
        "good_image": image,
        "cut_image": cut(image, root / "cut.png"),
        "noise_image": root / "noise.png",
        "empty_image": root / "empty.png",
        "missing_image": root / "does_not_exist.png",
    }


BAD_VIDEOS = {
    "empty": "empty",
    "noise": "unreadable",
    "missing": "missing",
    "cut_half": "truncated",
    "cut_half_faststart": "truncated",
    "zeroed": "no_frames",
    "audio_only": "no_frames",
    "one_frame": "too_short",
}
BAD_IMAGES = {
    "empty_image": "empty",
    "noise_image": "unreadable",
    "missing_image": "missing",
    "cut_image": "truncated",
}


def record(problem_id, path: Path, data_type: str = "video") -> dict:
    return {"problem_id": problem_id, "data_type": data_type, "media_path": str(path), "problem": "q?"}


@pytest.mark.parametrize(("name", "kind"), sorted({**BAD_VIDEOS, **BAD_IMAGES}.items()))
def test_error_policy_raises_naming_problem_id_and_path(media, name, kind):
    data_type = "image" if name.endswith("image") else "video"
    with pytest.raises(MediaError) as info:
        load_media_for_record(record(4242, media[name], data_type), "tiny", policy="error")
    err = info.value
    assert (err.problem_id, err.path, err.kind) == (4242, str(media[name]), kind)
    assert "problem_id=4242" in str(err) and str(media[name]) in str(err)
    copy = pickle.loads(pickle.dumps(err))  # crosses DataLoader worker boundaries intact
    assert (copy.problem_id, copy.path, copy.kind, str(copy)) == (4242, err.path, kind, str(err))


@pytest.mark.parametrize(("name", "kind"), sorted({**BAD_VIDEOS, **BAD_IMAGES}.items()))
def test_skip_policy_drops_counts_and_logs(media, tmp_path, name, kind):
    data_type = "image" if name.endswith("image") else "video"
    policy = BadMediaPolicy("skip", output_dir=tmp_path / "run")
    assert load_media_for_record(record("p-7", media[name], data_type), "tiny", policy) is None
    assert policy.skipped_media == 1 and policy.metrics() == {"skipped_media": 1}
    lines = (tmp_path / "run" / "skipped_media.jsonl").read_text().splitlines()
    assert len(lines) == 1 and policy.count_logged() == 1
    logged = json.loads(lines[0])
    assert logged["problem_id"] == "p-7" and logged["path"] == str(media[name]) and logged["kind"] == kind
    assert logged["reason"]


def test_truncated_but_partly_decodable_video_is_an_error(media):
    """The faststart file still decodes its first frames; fewer than declared counts as truncated."""
    with pytest.raises(MediaError) as info:
        load_video(media["cut_half_faststart"], "tiny", backend="pyav")
    assert info.value.kind == "truncated"
    assert "of 30 declared frames" in info.value.backend_errors["pyav"]
    assert "decord" in info.value.backend_errors  # the other backend was tried too


def test_skip_never_substitutes_and_keeps_going(media, tmp_path):
    policy = BadMediaPolicy("skip", output_dir=tmp_path)
    records = [
        record(1, media["good"]),
        record(2, media["noise"]),
        record(3, media["good_image"], "image"),
        record(4, media["cut_half"]),
        record(5, media["good_faststart"]),
    ]
    results = [load_media_for_record(r, "tiny", policy) for r in records]
    assert [r is None for r in results] == [False, True, False, True, False]
    for rec, result in zip(records, results):
        if result is not None:
            assert isinstance(result, LoadedMedia)
            assert (result.problem_id, result.path) == (rec["problem_id"], rec["media_path"])
    assert results[0].frames.shape[0] == 6 and results[0].video_metadata["path"] == str(media["good"])
    assert results[2].image is not None and results[2].frames is None
    assert policy.skipped_media == 2 == policy.count_logged()
    logged = [json.loads(line) for line in (tmp_path / "skipped_media.jsonl").read_text().splitlines()]
    assert [entry["problem_id"] for entry in logged] == [2, 4]


def test_good_media_loads_under_both_policies(media):
    for policy in ("error", BadMediaPolicy("skip")):
        loaded = load_media_for_record(
            record(9, media["good"]), "tiny", policy, video_kwargs={"backend": "pyav"}, image_kwargs={}
        )
        assert loaded.data_type == "video" and loaded.video_metadata["total_num_frames"] == 30
        assert loaded.video_metadata["backend"] == "pyav"
        image = load_media_for_record(
            record(9, media["good_image"], "image"), "train", policy, video_kwargs={"backend": "pyav"}
        ).image
        assert image.size == (168, 112)  # 160x120 rounds to 168x112 = 18,816 px, inside the bounds


def test_media_path_precedence_and_fallback(media):
    rec = {
        "problem_id": 1,
        "data_type": "video",
        "path": str(media["noise"]),
        "media_path": str(media["good"]),
    }
    assert load_media_for_record(rec, "tiny").path == str(media["good"])
    rec = {"problem_id": 1, "data_type": "video", "path": str(media["good"])}
    assert load_media_for_record(rec, "tiny").path == str(media["good"])


def test_malformed_records_raise_even_when_skipping(media):
    policy = BadMediaPolicy("skip")
    with pytest.raises(ValueError, match="problem_id=11"):
        load_media_for_record(
            {"problem_id": 11, "data_type": "audio", "media_path": str(media["good"])}, "tiny", policy
        )
    with pytest.raises(ValueError, match="problem_id=12"):
        load_media_for_record({"problem_id": 12, "data_type": "video"}, "tiny", policy)
    assert policy.skipped_media == 0


def test_policy_validation_and_log_without_output_dir(media):
    with pytest.raises(ValueError, match="on_bad_media"):
        BadMediaPolicy("ignore")
    policy = BadMediaPolicy("skip")
    assert load_media_for_record(record(1, media["empty"]), "tiny", policy) is None
    assert policy.skipped_media == 1 and policy.log_path is None and policy.count_logged() == 0


def test_mp4_truncation_reason(media):
    assert mp4_truncation_reason(media["good"]) is None
    assert mp4_truncation_reason(media["good_faststart"]) is None
    assert "mdat" in mp4_truncation_reason(media["cut_half"])
    assert mp4_truncation_reason(media["noise"]) is None  # not an MP4 at all: not judged


def test_relative_path_without_media_path_is_refused(tmp_path, monkeypatch):
    from video_r1.data.media import record_media_path

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"problem_id=9: relative path './v.mp4' has no 'media_path'"):
        record_media_path({"problem_id": 9, "data_type": "video", "path": "./v.mp4"})
    assert (
        record_media_path({"problem_id": 9, "path": "./v.mp4", "media_path": "/data/v.mp4"}) == "/data/v.mp4"
    )
    assert record_media_path({"problem_id": 9, "path": "/abs/v.mp4"}) == "/abs/v.mp4"


def test_an_image_qwen_vl_utils_cannot_resize_is_a_media_error_under_both_policies(tmp_path):
    """A 6000x20 image (aspect ratio 300 > 200) made qwen-vl-utils raise a bare ValueError naming no record."""
    from PIL import Image

    from video_r1.data.media import BadMediaPolicy, MediaError, load_media_for_record

    path = tmp_path / "strip.png"
    Image.new("RGB", (6000, 20), (200, 10, 10)).save(path)
    record = {"problem_id": 42, "data_type": "image", "media_path": str(path)}
    with pytest.raises(MediaError) as caught:
        load_media_for_record(record, "train", "error")
    message = str(caught.value)
    assert "problem_id=42" in message and str(path) in message and "aspect ratio" in message
    policy = BadMediaPolicy("skip", output_dir=tmp_path / "out")
    assert load_media_for_record(record, "train", policy) is None
    assert policy.count_logged() == 1


def test_a_video_qwen_vl_utils_cannot_resize_is_a_media_error(tmp_path):
    import numpy as np

    from video_r1.data.media import MediaError, load_media_for_record
    from video_r1.data.synthetic import encode_video

    path = encode_video(np.zeros((8, 8, 1800, 3), dtype=np.uint8), tmp_path / "strip.mp4", fps=2.0)
    record = {"problem_id": 7, "data_type": "video", "media_path": str(path)}
    with pytest.raises(MediaError, match=r"problem_id=7.*cannot resize 1800x8 frames.*aspect ratio"):
        load_media_for_record(record, "train", "error")
