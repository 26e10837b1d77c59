"""Qwen3-VL requests through vLLM 0.31's real input processing, on CPU, compared with the project's HF path.

Runs in ``.venv-vllm`` like ``test_real_vllm.py`` (whose :class:`RealInputProcessing` it reuses: vLLM's
renderer, its Qwen3-VL multimodal processor and ``InputProcessor.process_inputs``, everything
``vllm.LLM.generate`` does per prompt before the engine core). For every request kind - ordered and shuffled
video, image, image + video, text only, an eval-style and an annotate-style prompt, as text prompts and as the
trainer's token-id prompts - vLLM's prompt ids, placeholder ranges, grids, pixels, timestamps and M-RoPE
positions (vLLM's ``Qwen3VLForConditionalGeneration._get_mrope_input_positions``) must equal the HF path's, the
project's positions (``qwen3_vl.rope_index``) and transformers' own ``get_rope_index``.
"""

from __future__ import annotations

import functools
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
if os.environ.get("VIDEO_R1_REQUIRE_VLLM") == "1":
    import vllm  # noqa: F401  (scripts/test.sh: a missing vLLM must fail, not skip)
vllm = pytest.importorskip(
    "vllm", reason="vLLM is not installed here: run in .venv-vllm (setup.sh --vllm-check)"
)

from test_real_vllm import RealInputProcessing  # noqa: E402  (same folder: pytest puts it on sys.path)

from video_r1.data.shuffle import seeded_generator, shuffle_permutation, shuffled_video  # noqa: E402
from video_r1.data.synthetic import encode_video  # noqa: E402
from video_r1.data.vision import get_preset, to_video_metadata  # noqa: E402
from video_r1.models import qwen3_vl  # noqa: E402
from video_r1.models.family import QWEN3_5, QWEN3_VL, load_model  # noqa: E402
from video_r1.vllm.requests import family_vllm_request  # noqa: E402

pytestmark = pytest.mark.vllm

QUESTION = "In which direction does the red box move?"


@pytest.fixture(scope="module")
def processing(tiny_qwen3_vl_checkpoint):
    return RealInputProcessing(tiny_qwen3_vl_checkpoint)


@pytest.fixture(scope="module")
def processor(tiny_qwen3_vl_checkpoint):
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(tiny_qwen3_vl_checkpoint)


@pytest.fixture(scope="module")
def model(tiny_qwen3_vl_checkpoint):
    from transformers import AutoModelForImageTextToText, Qwen3VLConfig

    # the config class passed explicitly: vLLM registers its own configs with AutoConfig in this process
    config = Qwen3VLConfig.from_pretrained(tiny_qwen3_vl_checkpoint)
    return AutoModelForImageTextToText.from_pretrained(tiny_qwen3_vl_checkpoint, config=config).eval()


def _video(n=8, height=64, width=96, step=5, fps=8.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    frames = torch.randint(0, 256, (n, 3, height, width), dtype=torch.uint8, generator=g)
    metadata = {
        "total_num_frames": n * step,
        "video_fps": fps,
        "frames_indices": list(range(0, n * step, step)),
        "width": width,
        "height": height,
        "duration": n * step / fps,
        "backend": "decord",
    }
    return {"type": "video", "frames": frames, "video_metadata": metadata}


def _image(side=64, seed=1):
    g = torch.Generator().manual_seed(seed)
    array = torch.randint(0, 256, (side, side, 3), dtype=torch.uint8, generator=g).numpy()
    return {"type": "image", "image": Image.fromarray(array)}


def _text(processor, media):
    content = [{"type": m["type"]} for m in media] + [{"type": "text", "text": QUESTION}]
    return processor.apply_chat_template(
        [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
    )


def _hf(processor, text, media):
    images = [m["image"] for m in media if m["type"] == "image"]
    videos = [m for m in media if m["type"] == "video"]
    return QWEN3_VL.processor_inputs(
        processor,
        [text],
        images=images,
        videos=[v["frames"] for v in videos],
        video_metadata=[to_video_metadata(v["video_metadata"]) for v in videos],
        return_tensors="pt",
    )


def _compare(processing, processor, model, request, hf, media, family=QWEN3_VL):
    """One processed vLLM request against the HF path: ids, ranges, grids, pixels, timestamps, positions."""
    token_ids = family.token_ids(processor)
    hf_ids = hf["input_ids"][0].tolist()
    assert list(request.prompt_token_ids) == hf_ids
    features = request.mm_features or []
    assert [f.modality for f in features] == [m["type"] for m in media]
    for feature, item in zip(features, media, strict=True):
        kind = feature.modality
        pads = [i for i, t in enumerate(hf_ids) if t == token_ids[kind]]
        rng = feature.mm_position
        embed = (
            list(range(rng.offset, rng.offset + rng.length))
            if rng.is_embed is None
            else [rng.offset + int(i) for i in torch.nonzero(rng.is_embed).flatten()]
        )
        assert embed == pads  # the placeholder positions vLLM fills with vision features
        grid_key = f"{kind}_grid_thw"
        assert feature.data[grid_key].data.tolist() == hf[grid_key][0].tolist()
        pixels_key = "pixel_values_videos" if kind == "video" else "pixel_values"
        raw = feature.data[pixels_key].data
        if raw.dtype == torch.uint8:  # normalised on the device
            torch.testing.assert_close(
                processing.pixels(feature), hf[pixels_key].float(), atol=1e-5, rtol=1e-5
            )
        else:  # Qwen3-VL: vLLM keeps the processor's normalised pixels in the model dtype (bfloat16 here)
            assert torch.equal(raw, hf[pixels_key].to(raw.dtype))
        if kind == "video":
            md = item["video_metadata"]
            expected = qwen3_vl.patch_timestamps(md["frames_indices"], md["video_fps"])
            assert list(feature.data["timestamps"].data) == pytest.approx(expected)
            text = processor.tokenizer.decode(hf_ids)
            stamps = qwen3_vl.timestamp_texts(md["frames_indices"], md["video_fps"])
            assert text.index(stamps[0]) < text.index(stamps[-1]) or len(stamps) == 1
    from vllm.model_executor.models.qwen3_vl import Qwen3VLForConditionalGeneration as VLLMQwen3VL

    theirs, _ = VLLMQwen3VL._get_mrope_input_positions(
        input_tokens=list(request.prompt_token_ids),
        mm_features=features,
        config=processing.model_config.hf_config,
    )
    theirs = torch.as_tensor(theirs)
    grids = {k: hf[k] for k in ("image_grid_thw", "video_grid_thw") if k in hf}
    ours, _ = family.rope_index(model.config, hf["input_ids"], **grids)
    transformers_own, _ = model.model.get_rope_index(hf["input_ids"], hf["mm_token_type_ids"], **grids)
    assert torch.equal(theirs, ours[:, 0])
    assert torch.equal(transformers_own[:, 0], ours[:, 0])
    return theirs


KINDS = {
    "ordered": lambda: [_video()],
    "shuffled": lambda: [
        shuffled_video(_video(), shuffle_permutation(8, "temporal_patch", seeded_generator(2)))
    ],
    "image": lambda: [_image()],
    "image+video": lambda: [_image(side=96), _video(n=4, height=32, width=64, step=7, fps=5.0, seed=4)],
    "text": lambda: [],
}


@pytest.mark.parametrize("prompt_form", ["text", "token_ids"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_requests_match_the_hf_path(processing, processor, model, kind, prompt_form):
    media = KINDS[kind]()
    text = _text(processor, media)
    hf = _hf(processor, text, media)
    prompt = text if prompt_form == "text" else hf["input_ids"][0].tolist()
    request = family_vllm_request(QWEN3_VL, prompt, media, token_ids=QWEN3_VL.token_ids(processor))
    positions = _compare(processing, processor, model, processing(request), hf, media)
    if kind == "text":
        assert torch.equal(positions, torch.arange(positions.shape[1]).expand(3, -1))


def test_shuffled_request_keeps_ids_and_timestamps_and_permutes_patches(processing, processor):
    ordered = _video()
    perm = shuffle_permutation(8, "temporal_patch", seeded_generator(2))
    shuffled = shuffled_video(ordered, perm)
    text = _text(processor, [ordered])
    a = processing(family_vllm_request(QWEN3_VL, text, [ordered]))
    b = processing(family_vllm_request(QWEN3_VL, text, [shuffled]))
    assert a.prompt_token_ids == b.prompt_token_ids
    fa, fb = a.mm_features[0], b.mm_features[0]
    assert list(fa.data["timestamps"].data) == list(fb.data["timestamps"].data)  # ascending, unchanged
    t, h, w = fa.data["video_grid_thw"].data.tolist()
    rows_a = processing.pixels(fa).view(t, h * w, -1)
    rows_b = processing.pixels(fb).view(t, h * w, -1)
    order = (perm.view(-1, 2)[:, 0] // 2).tolist()
    assert torch.equal(rows_b, rows_a[order]) and not torch.equal(rows_a, rows_b)


def test_expanded_ids_must_not_reach_vllm(processing, processor):
    """Why token-id prompts are turned back into the template's ids: vLLM expands the video again."""
    media = [_video()]
    hf = _hf(processor, _text(processor, media), media)
    expanded = {"prompt_token_ids": hf["input_ids"][0].tolist(), **family_vllm_request(QWEN3_VL, "x", media)}
    expanded.pop("prompt")
    try:
        request = processing(expanded)
    except Exception:  # noqa: BLE001 - vLLM may refuse it outright; both ways it is not the HF prompt
        return
    assert list(request.prompt_token_ids) != hf["input_ids"][0].tolist()


@pytest.fixture(scope="module")
def clip_records(tmp_path_factory):
    """A 320x180 11 s clip at 8 fps (red box moving right) and a record for it."""
    root = tmp_path_factory.mktemp("clips3")
    rng = np.random.default_rng(0)
    frames = np.zeros((88, 180, 320, 3), dtype=np.uint8)
    for t in range(88):
        frames[t] = rng.integers(0, 60, (1, 1, 3), dtype=np.uint8)
        frames[t, 60:110, 10 + 3 * t : 50 + 3 * t] = (220, 40, 40)
    encode_video(frames, root / "clip.mp4", fps=8.0)
    record = {
        "problem_id": 1,
        "problem": QUESTION,
        "data_type": "video",
        "problem_type": "multiple choice",
        "options": ["A. left", "B. right"],
        "solution": "<answer>B</answer>",
        "path": str(root / "clip.mp4"),
        "data_source": "test",
    }
    (root / "records.json").write_text(json.dumps([record]))
    return record


@pytest.mark.parametrize("variant, preset", [("eval", "eval"), ("annotate", "train")])
def test_eval_and_annotate_style_requests_match_the_hf_path(
    processing, processor, model, clip_records, variant, preset
):
    """What the eval / annotation backends build (prepare_sample: the variant's prompt, the preset's frames)
    with the preset's sizes made for Qwen3-VL (size_factor 32)."""
    from video_r1.inference import GenerationRequest, prepare_sample

    chosen = get_preset(preset, max_frames=4, size_factor=QWEN3_VL.size_factor)
    sample = prepare_sample(GenerationRequest("k", dict(clip_records), variant), processor, chosen)
    assert sample.media["frames"].shape[-1] % 32 == 0 and sample.media["frames"].shape[-2] % 32 == 0
    hf = _hf(processor, sample.text, [sample.media])
    request = processing(family_vllm_request(QWEN3_VL, sample.text, [sample.media]))
    _compare(processing, processor, model, request, hf, [sample.media])
    md = sample.media["video_metadata"]
    assert md["video_fps"] == 8.0 and len(md["frames_indices"]) == 4


@pytest.mark.parametrize("prompt_form", ["text", "token_ids"])
@pytest.mark.parametrize("kind", ["shuffled", "image+video", "text"])
def test_qwen3_5_requests_match_the_hf_path(tiny_qwen3_5_checkpoint, kind, prompt_form):
    """Qwen3.5 through the same family code: vLLM 0.31's real Qwen3.5 processing equals the HF path."""
    from transformers import AutoProcessor

    processing = _qwen3_5_processing(tiny_qwen3_5_checkpoint)
    processor = AutoProcessor.from_pretrained(tiny_qwen3_5_checkpoint)
    model = load_model(str(tiny_qwen3_5_checkpoint))  # the family passes Qwen3_5Config (vLLM's is registered)
    media = KINDS[kind]()
    text = _text(processor, media)
    hf = _hf(processor, text, media)
    prompt = text if prompt_form == "text" else hf["input_ids"][0].tolist()
    request = family_vllm_request(QWEN3_5, prompt, media, token_ids=QWEN3_5.token_ids(processor))
    _compare(processing, processor, model, processing(request), hf, media, QWEN3_5)


@functools.cache
def _qwen3_5_processing(checkpoint):
    return RealInputProcessing(checkpoint)
