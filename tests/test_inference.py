"""Batched generation over records (tiny checkpoint, synthetic data): HF backend and vLLM request building."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
from PIL import Image

from video_r1.data.records import load_records
from video_r1.inference import (
    BackendOptions,
    GenerationRequest,
    GenerationResult,
    HFBackend,
    PreparedSample,
    SamplingConfig,
    build_vllm_requests,
    load_backend,
    prepare_sample,
    vision_placeholder_ids,
    vllm_sampling_kwargs,
)

MAX_NEW_TOKENS = 6


@pytest.fixture(scope="module")
def records(synthetic_data):
    ds = load_records(synthetic_data["train"])
    rows = [ds[i] for i in range(len(ds))]
    videos = [r for r in rows if r["data_type"] == "video"]
    images = [r for r in rows if r["data_type"] == "image"]
    # a mixed batch: video, image, video, video
    return [videos[0], images[0], videos[1], videos[2]]


@pytest.fixture(scope="module")
def backend(tiny_checkpoint):
    options = BackendOptions(
        preset="tiny",
        sampling=SamplingConfig(temperature=0.0, max_new_tokens=MAX_NEW_TOKENS),
        batch_size=2,
        dtype="float32",
    )
    be = load_backend("hf", str(tiny_checkpoint), options, device="cpu")
    yield be
    be.close()


def _requests(records, prefix="r"):
    return [GenerationRequest(key=f"{prefix}{i}", record=r) for i, r in enumerate(records)]


def test_mixed_batch_generates_in_order(backend, records):
    assert isinstance(backend, HFBackend)
    results = backend.generate(_requests(records))
    assert [r.key for r in results] == ["r0", "r1", "r2", "r3"]
    for result, record in zip(results, records):
        assert result.error is None
        assert isinstance(result.output, str)
        assert 1 <= result.num_tokens <= MAX_NEW_TOKENS
        if record["data_type"] == "video":
            assert result.sample_fps == pytest.approx(2.0)  # synthetic clips: 8 frames at 2 fps, all kept
        else:
            assert result.sample_fps is None


def test_greedy_is_deterministic_and_batching_does_not_change_outputs(backend, records):
    batched = backend.generate(_requests(records))
    again = backend.generate(_requests(records))
    backend.batch_size = 1
    try:
        single = backend.generate(_requests(records))
    finally:
        backend.batch_size = 2
    assert [r.output for r in batched] == [r.output for r in again]
    assert [r.output for r in batched] == [r.output for r in single]
    assert [r.num_tokens for r in batched] == [r.num_tokens for r in single]


def test_bad_media_gives_an_error_for_that_sample_only(backend, records, tmp_path):
    clean = {r.key: r.output for r in backend.generate(_requests(records))}
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).bytes(2048))
    missing = dict(records[0], media_path=str(tmp_path / "nope.mp4"), problem_id=9001)
    broken = dict(records[2], media_path=str(corrupt), problem_id=9002)
    # batches (size 2): [missing, r1] and [broken, r3]: every bad sample has a healthy neighbour
    mixed = [missing, records[1], broken, records[3]]
    results = backend.generate(_requests(mixed))
    assert results[0].output is None and results[2].output is None
    assert results[0].error.startswith("MediaError: problem_id=9001")
    assert str(tmp_path / "nope.mp4") in results[0].error and "missing" in results[0].error
    assert results[2].error.startswith("MediaError: problem_id=9002") and str(corrupt) in results[2].error
    assert results[1].error is None and results[1].output == clean["r1"]
    assert results[3].error is None and results[3].output == clean["r3"]


def test_failed_batch_is_retried_one_by_one(backend, records, monkeypatch):
    clean = {r.key: r.output for r in backend.generate(_requests(records))}
    original = backend._generate_prepared
    calls = []

    def flaky(samples):
        calls.append([s.key for s in samples])
        if any(s.key == "r2" for s in samples):
            raise RuntimeError("boom in the model")
        return original(samples)

    monkeypatch.setattr(backend, "_generate_prepared", flaky)
    results = backend.generate(_requests(records))
    assert results[2].output is None and results[2].error == "RuntimeError: boom in the model"
    assert results[2].sample_fps == pytest.approx(2.0)
    for i in (0, 1, 3):
        assert results[i].error is None and results[i].output == clean[f"r{i}"]
    assert calls == [["r0", "r1"], ["r2", "r3"], ["r2"], ["r3"]]


def test_iter_generate_yields_each_batch_as_it_finishes(backend, records, monkeypatch):
    original = backend._generate_prepared
    calls = []
    monkeypatch.setattr(backend, "_generate_prepared", lambda s: calls.append(len(s)) or original(s))
    stream = backend.iter_generate(_requests(records), progress="test")
    first = next(stream)
    assert isinstance(first, GenerationResult) and first.key == "r0"
    assert calls == [2]  # only the first batch has been generated so far
    rest = list(stream)
    assert [r.key for r in rest] == ["r1", "r2", "r3"] and calls == [2, 2]


def test_duplicate_keys_are_rejected(backend, records):
    with pytest.raises(ValueError, match="unique"):
        backend.generate([GenerationRequest("k", records[0]), GenerationRequest("k", records[1])])


def test_seeded_sampling_is_reproducible(tiny_checkpoint, records):
    sampling = SamplingConfig(temperature=1.0, top_p=0.95, max_new_tokens=MAX_NEW_TOKENS, seed=7)
    be = load_backend(
        "hf",
        str(tiny_checkpoint),
        BackendOptions(preset="tiny", sampling=sampling, batch_size=2),
        device="cpu",
    )
    try:
        config = be.generation_config
        assert (
            config.do_sample and config.top_k == 0 and config.repetition_penalty == 1.0
        )  # no checkpoint leak
        first = [r.output for r in be.generate(_requests(records[:2]))]
        second = [r.output for r in be.generate(_requests(records[:2]))]
    finally:
        be.close()
    assert first == second


def test_vision_placeholders_are_suppressed(backend):
    tok = backend.tokenizer
    ids = vision_placeholder_ids(tok)
    for token in ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>"):
        assert tok.convert_tokens_to_ids(token) in ids
    assert set(ids) <= set(backend.generation_config.suppress_tokens)
    assert tok.convert_tokens_to_ids("<|im_end|>") in backend.eos_token_ids


def test_vllm_request_building(backend, records):
    processor = backend.processor
    video, image = records[0], records[1]
    samples = [
        prepare_sample(GenerationRequest("v", video), processor, backend.preset),
        prepare_sample(GenerationRequest("i", image), processor, backend.preset),
    ]
    assert all(isinstance(s, PreparedSample) for s in samples)
    requests = build_vllm_requests(samples)
    assert [r["prompt"] for r in requests] == [s.text for s in samples]
    assert "<|vision_start|><|video_pad|><|vision_end|>" in requests[0]["prompt"]
    assert requests[0]["prompt"].endswith("<|im_start|>assistant\n")
    frames, metadata = requests[0]["multi_modal_data"]["video"]
    torch_frames = samples[0].media["frames"]
    assert frames.dtype == np.uint8 and frames.shape == tuple(torch_frames.permute(0, 2, 3, 1).shape)
    assert metadata["fps"] == pytest.approx(samples[0].media["video_metadata"]["video_fps"])
    assert metadata["frames_indices"] == samples[0].media["video_metadata"]["frames_indices"]
    assert requests[0]["mm_processor_kwargs"] == {"do_sample_frames": False, "do_resize": False}
    assert isinstance(requests[1]["multi_modal_data"]["image"], Image.Image)
    assert "mm_processor_kwargs" not in requests[1]
    fixed = build_vllm_requests(samples[:1], temporal_rope="fixed_2fps")[0]
    _, fixed_md = fixed["multi_modal_data"]["video"]
    assert fixed_md["fps"] == 2.0 and fixed_md["frames_indices"] == list(range(len(frames)))


def test_prepare_sample_reports_bad_records(backend, records):
    bad = dict(records[0], problem_type="essay")
    result = prepare_sample(GenerationRequest("x", bad), backend.processor, backend.preset)
    assert isinstance(result, GenerationResult)
    assert result.output is None and "essay" in result.error


def test_vllm_sampling_params_and_missing_vllm(tiny_checkpoint):
    sampling = SamplingConfig(temperature=0.1, top_p=0.001, max_new_tokens=1024, seed=3)
    assert vllm_sampling_kwargs(sampling) == {
        "temperature": 0.1,
        "top_p": 0.001,
        "max_tokens": 1024,
        "seed": 3,
    }
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here")
    with pytest.raises(ImportError, match=r"bash setup\.sh --gpu"):
        load_backend("vllm", os.fspath(tiny_checkpoint), BackendOptions(preset="tiny", sampling=sampling))


def test_bad_arguments():
    with pytest.raises(ValueError, match="temperature"):
        SamplingConfig(temperature=-1)
    with pytest.raises(ValueError, match="top_p"):
        SamplingConfig(top_p=0)
    with pytest.raises(ValueError, match="unknown backend"):
        load_backend("onnx", "x", BackendOptions(preset="tiny", sampling=SamplingConfig()))


def test_a_prompt_over_the_length_limit_is_that_samples_error(backend, records, monkeypatch):
    """A 2 MB question used to run for minutes; now it is a per-sample error and its neighbours generate."""
    import time

    from video_r1.models.qwen2_5_vl import vision_token_count

    huge = dict(records[0], problem="why? " * 400_000, problem_id="huge")
    requests = [
        GenerationRequest("ok", records[1]),
        GenerationRequest("huge", huge),
        GenerationRequest("ok2", records[2]),
    ]
    monkeypatch.setattr(backend, "max_prompt_length", 4096)
    start = time.perf_counter()
    results = backend.generate(requests)
    assert time.perf_counter() - start < 120
    by_key = {r.key: r for r in results}
    assert by_key["ok"].error is None and by_key["ok2"].error is None
    error = by_key["huge"].error
    assert error.startswith("PromptTooLong: problem_id=huge") and "max_prompt_length=4096" in error
    # the count is text + vision tokens: a limit just below a normal prompt's length catches it too
    sample = backend._prepare_batch([GenerationRequest("x", records[1])])[0]
    tokens = len(backend.processor.tokenizer(sample.text, add_special_tokens=False).input_ids) - 1
    exact = tokens + vision_token_count(sample.media)
    monkeypatch.setattr(backend, "max_prompt_length", exact)
    assert backend._check_length(sample) is sample
    monkeypatch.setattr(backend, "max_prompt_length", exact - 1)
    assert backend._check_length(sample).error.startswith("PromptTooLong")


def test_vision_token_count_matches_the_processor(backend, records):
    from video_r1.data.collate import build_processor_inputs
    from video_r1.models.qwen2_5_vl import vision_token_count

    for record in records[:2]:
        sample = backend._prepare_batch([GenerationRequest("k", record)])[0]
        ids = build_processor_inputs(backend.processor, [sample.text], [sample.media])["input_ids"][0]
        pad = "<|video_pad|>" if sample.media["type"] == "video" else "<|image_pad|>"
        assert list(ids).count(backend.processor.tokenizer.convert_tokens_to_ids(pad)) == vision_token_count(
            sample.media
        )
