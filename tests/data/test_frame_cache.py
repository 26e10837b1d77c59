"""FrameCache: each media file is decoded once, later requests get the same frames, bad media is not cached."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from video_r1.data import vision
from video_r1.data.collate import with_media
from video_r1.data.frame_cache import FrameCache
from video_r1.data.media import BadMediaPolicy, MediaError, load_media_for_record
from video_r1.data.records import load_records


@pytest.fixture
def decode_counter(monkeypatch):
    """Counts real decodes per file: every call of video_r1.data.vision.load_video / load_image."""
    counts: Counter[str] = Counter()
    real_video, real_image = vision.load_video, vision.load_image

    def load_video(path, *args, **kwargs):
        counts[str(path)] += 1
        return real_video(path, *args, **kwargs)

    def load_image(path, *args, **kwargs):
        counts[str(path)] += 1
        return real_image(path, *args, **kwargs)

    monkeypatch.setattr(vision, "load_video", load_video)
    monkeypatch.setattr(vision, "load_image", load_image)
    return counts


@pytest.fixture(scope="module")
def records(synthetic_data):
    return [dict(r) for r in load_records(synthetic_data["train"])]


def test_each_file_is_decoded_once(records, decode_counter):
    cache = FrameCache()
    video = next(r for r in records if r["data_type"] == "video")
    image = next(r for r in records if r["data_type"] == "image")
    first = cache.load_media_for_record(video, "tiny")
    for _ in range(3):
        again = cache.load_media_for_record(video, "tiny")
        assert again.frames is first.frames  # the cached tensor itself
        assert again.video_metadata == first.video_metadata
    cache(image, "tiny")
    cache(image, "tiny")
    assert decode_counter == Counter({video["media_path"]: 1, image["media_path"]: 1})
    assert cache.stats() == {"items": 2, "decodes": 2, "hits": 4}

    # The cached frames are exactly what a direct decode gives.
    direct = load_media_for_record(video, "tiny")
    assert torch.equal(direct.frames, first.frames)
    assert direct.video_metadata == first.video_metadata


def test_key_includes_preset_and_decoder_arguments(records, decode_counter):
    cache = FrameCache()
    video = next(r for r in records if r["data_type"] == "video")
    cache(video, "tiny")
    cache(video, vision.get_preset("tiny", max_frames=4))
    cache(video, "tiny", video_kwargs={"backend": "pyav"})
    cache(video, "tiny", video_kwargs={"backend": "pyav"})
    assert decode_counter[video["media_path"]] == 3
    assert len(cache) == 3
    assert cache(video, vision.get_preset("tiny", max_frames=4)).frames.shape[0] == 4


def test_shared_file_keeps_each_records_problem_id(records, decode_counter):
    cache = FrameCache()
    video = next(r for r in records if r["data_type"] == "video")
    twin = {**video, "problem_id": 999}
    assert cache(video, "tiny").problem_id == video["problem_id"]
    assert cache(twin, "tiny").problem_id == 999
    assert cache(video, "tiny").problem_id == video["problem_id"]
    assert decode_counter[video["media_path"]] == 1


def test_bad_media_is_not_cached_and_follows_the_policy(tmp_path, records, decode_counter):
    cache = FrameCache()
    missing = {**records[0], "problem_id": 77, "media_path": str(tmp_path / "gone.mp4"), "data_type": "video"}
    for _ in range(2):
        with pytest.raises(MediaError, match="problem_id=77"):
            cache(missing, "tiny")
    policy = BadMediaPolicy("skip", output_dir=tmp_path)
    assert cache(missing, "tiny", policy) is None
    assert cache(missing, "tiny", policy) is None
    assert policy.skipped_media == 2 and policy.count_logged() == 2  # every skipped request is logged
    assert len(cache) == 0 and cache.decodes == 0


def test_prefill_then_dataset_epochs_only_hit(synthetic_data, decode_counter):
    dataset = load_records(synthetic_data["train"])
    cache = FrameCache()
    assert cache.prefill(dataset, "tiny", progress=False) == len(dataset)
    assert cache.prefill(dataset, "tiny", progress=False) == 0
    transformed = with_media(dataset, "tiny", loader=cache)
    for _epoch in range(3):
        rows = transformed[list(range(len(dataset)))]
        assert len(rows["media"]) == len(dataset)
    assert set(decode_counter.values()) == {1} and len(decode_counter) == len(dataset)
    assert cache.hits == 4 * len(dataset)  # the second prefill and three epochs


def test_with_media_default_still_decodes_on_every_access(synthetic_data, decode_counter):
    dataset = load_records(synthetic_data["train"])
    transformed = with_media(dataset, "tiny")
    transformed[0]
    transformed[0]
    assert sum(decode_counter.values()) == 2


def test_pickled_cache_carries_no_frames(records):
    import pickle

    cache = FrameCache()
    cache(next(r for r in records if r["data_type"] == "video"), "tiny")
    payload = pickle.dumps(cache)
    assert len(payload) < 1000  # datasets fingerprints transforms by pickling them: keep that cheap
    clone = pickle.loads(payload)
    assert len(clone) == 0 and clone.stats() == {"items": 0, "decodes": 0, "hits": 0}
