"""Vision presets, frame sampling/sizing, backends and processor inputs (video_r1.data.vision).

Expected numbers are worked out by hand from the original's rules (docs/original-behaviour.md §7):
n = clamp(duration * 2, 4, min(max_frames, total)) floored to even, indices = round(linspace(0, total-1, n)),
sample_fps = n / total * fps, frame size = smart_resize(h, w, 28, VIDEO_MIN_PIXELS, cap) with
cap = max(min(VIDEO_MAX_PIXELS, total_budget / n * 2), int(VIDEO_MIN_PIXELS * 1.05)).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image

from video_r1.data import vision
from video_r1.data.media import MediaError
from video_r1.data.vision import (
    PRESETS,
    get_preset,
    load_image,
    load_video,
    processor_video_kwargs,
    to_video_metadata,
)

FPS = 10


def write_video(path: Path, num_frames: int, width: int = 320, height: int = 180, fps: int = FPS) -> Path:
    """An h264 clip whose frame i is flat with red = 2*i, so a decoded frame tells its own index."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(num_frames):
            rgb = np.empty((height, width, 3), np.uint8)
            rgb[..., 0], rgb[..., 1], rgb[..., 2] = 2 * i, 255 - 2 * i, 128
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("clips")
    return {
        "10s": write_video(root / "10s.mp4", 100),  # 10 s: capped at 16 frames
        "3.3s": write_video(root / "3p3s.mp4", 33),  # 6.6 -> floored to 6 frames
        "1.2s": write_video(root / "1p2s.mp4", 12),  # 2.4 -> raised to min_frames 4
        "mkv": write_video(root / "clip.mkv", 37, width=96, height=64),  # no nb_frames in Matroska
        "tiny8": write_video(root / "tiny8.mp4", 8, width=56, height=56),
        "tiny40": write_video(root / "tiny40.mp4", 40, width=56, height=56),
    }


def red_levels(frames: torch.Tensor) -> list[float]:
    return frames[:, 0].float().mean(dim=(1, 2)).tolist()


# ----------------------------------------------------------------------------------------------- presets


def test_preset_numbers_match_the_original_constants():
    train, evaluation, tiny = PRESETS["train"], PRESETS["eval"], PRESETS["tiny"]
    assert (train.fps, train.min_frames, train.max_frames) == (2.0, 4, 16)
    assert train.video_min_pixels == train.video_max_pixels == 100_352
    assert (train.image_min_pixels, train.image_max_pixels) == (3_136, 200_704)
    assert train.video_total_pixels == 90_316_800
    assert (evaluation.max_frames, evaluation.video_min_pixels, evaluation.video_max_pixels) == (
        32,
        100_352,
        200_704,
    )
    assert evaluation.image_max_pixels == 200_704
    # Per-frame cap: min == max in training, so the 1.05 floor wins.
    assert train.frame_max_pixels(16) == train.frame_max_pixels(2) == 105_369
    assert evaluation.frame_max_pixels(64) == 200_704
    # The total budget only binds for very long samples: 90,316,800 / 1000 * 2 < 200,704.
    assert evaluation.frame_max_pixels(1000) == pytest.approx(180_633.6)
    assert tiny.frame_max_pixels(16) == 16 * 28 * 28


def test_video_item_drives_qwen_vl_utils_0_0_14_to_the_original_cap():
    from qwen_vl_utils import vision_process as qvu

    for name, cap in (("train", 105_369), ("eval", 200_704)):
        item = PRESETS[name].video_item("/x.mp4")
        assert item["max_pixels"] == cap
        # 0.0.14's own rule with its frozen 768*28*28 ceiling, applied to the per-message settings.
        n = item["max_frames"]
        limit = max(
            min(qvu.VIDEO_MAX_TOKEN_NUM * 28 * 28, item["total_pixels"] / n * 2),
            int(item["min_pixels"] * 1.05),
        )
        assert min(item["max_pixels"], limit) == cap


def test_get_preset_overrides_and_validation():
    assert get_preset("eval", max_frames=64).max_frames == 64
    assert get_preset("eval", max_frames=None) is PRESETS["eval"]
    assert PRESETS["eval"].max_frames == 32  # presets are not mutated
    with pytest.raises(ValueError, match="unknown vision preset"):
        get_preset("nope")
    with pytest.raises(TypeError, match="unknown VisionPreset field"):
        get_preset("train", max_pixels=1)
    with pytest.raises(ValueError, match="video_min_pixels <= video_max_pixels"):
        get_preset("train", video_max_pixels=1000)
    with pytest.raises(ValueError, match="video_backend"):
        get_preset("train", video_backend="torchvision")


# ------------------------------------------------------------------------------------ synthetic videos


TRAIN_CASES = {
    # clip: (indices, sample_fps)
    "10s": ([0, 7, 13, 20, 26, 33, 40, 46, 53, 59, 66, 73, 79, 86, 92, 99], 1.6),
    "3.3s": ([0, 6, 13, 19, 26, 32], 6 / 33 * 10),
    "1.2s": ([0, 4, 7, 11], 4 / 12 * 10),
}


@pytest.mark.parametrize("backend", ["decord", "pyav"])
@pytest.mark.parametrize("clip", sorted(TRAIN_CASES))
def test_train_preset_on_synthetic_clips(clips, clip, backend):
    frames, md = load_video(clips[clip], "train", backend=backend)
    indices, sample_fps = TRAIN_CASES[clip]
    # 320x180 rounds to 308x168 = 51,744 px < 100,352, so it is upscaled: ceil28(180*1.3199) = 252,
    # ceil28(320*1.3199) = 448 -> 112,896 px, above the 105,369 cap (smart_resize's ceil rounding).
    assert frames.shape == (len(indices), 3, 252, 448)
    assert frames.dtype == torch.uint8
    assert md["frames_indices"] == indices
    assert md["nframes"] == len(indices)
    assert md["sample_fps"] == pytest.approx(sample_fps)
    assert md["total_num_frames"] == {"10s": 100, "3.3s": 33, "1.2s": 12}[clip]
    assert md["video_fps"] == pytest.approx(10.0)
    assert (md["height"], md["width"], md["source_height"], md["source_width"]) == (252, 448, 180, 320)
    assert md["backend"] == backend and md["backend_errors"] == {}
    assert md["path"] == str(clips[clip])
    # The returned frames really are the sampled ones (frame i has red level 2*i).
    assert red_levels(frames) == pytest.approx([2 * i for i in indices], abs=3)


def test_eval_preset_on_synthetic_clip(clips):
    frames, md = load_video(clips["10s"], "eval")
    assert frames.shape == (20, 3, 252, 448)  # 10 s * 2 fps = 20 <= 32; same upscale as training
    assert md["frames_indices"] == [round(i * 99 / 19) for i in range(20)]
    assert md["sample_fps"] == pytest.approx(2.0)
    frames, md = load_video(clips["10s"], "eval", max_frames=16)
    assert frames.shape[0] == 16


@pytest.mark.parametrize("clip", ["10s", "mkv"])
def test_decord_and_pyav_agree(clips, clip):
    a, ma = load_video(clips[clip], "train", backend="decord")
    b, mb = load_video(clips[clip], "train", backend="pyav")
    assert (ma["backend"], mb["backend"]) == ("decord", "pyav")
    assert a.shape == b.shape
    for key in ("frames_indices", "total_num_frames", "sample_fps", "video_fps", "height", "width"):
        assert ma[key] == mb[key], key
    assert (a.int() - b.int()).abs().max() <= 2


def test_mkv_without_declared_frame_count(clips):
    frames, md = load_video(clips["mkv"], "train", backend="pyav")
    assert md["total_num_frames"] == 37
    assert md["frames_indices"] == [0, 7, 14, 22, 29, 36]  # 3.7 s -> 7.4 -> 6 frames
    assert red_levels(frames) == pytest.approx([2 * i for i in md["frames_indices"]], abs=3)


def test_decord_path_equals_qwen_vl_utils_fetch_video(clips):
    """Same per-message settings through the library's own pipeline give the same pixels."""
    from qwen_vl_utils import vision_process as qvu

    if qvu.get_video_reader_backend() != "decord":
        pytest.skip("qwen-vl-utils would not use decord here")
    for preset in ("train", "eval", "tiny"):
        frames, md = load_video(clips["10s"], preset, backend="decord")
        reference, ref_md = qvu.fetch_video(
            PRESETS[preset].video_item(clips["10s"]), return_video_metadata=True
        )
        assert ref_md["frames_indices"] == md["frames_indices"]
        assert torch.equal(reference, frames.float()), preset


def test_tiny_preset_keeps_small_clip_size(clips):
    frames, md = load_video(clips["tiny8"], "tiny")
    assert frames.shape == (4, 3, 56, 56)  # 0.8 s -> min_frames 4
    assert md["frames_indices"] == [0, 2, 5, 7]
    frames, md = load_video(clips["tiny40"], "tiny", backend="pyav")
    assert frames.shape == (8, 3, 56, 56)  # 4 s * 2 fps
    # The training preset would upscale the same clip to the 100,352 px minimum.
    assert load_video(clips["tiny8"], "train")[0].shape[-2:] == (336, 336)


def test_keyword_overrides(clips):
    assert load_video(clips["10s"], "train", max_frames=8)[0].shape[0] == 8
    assert load_video(clips["10s"], "train", fps=1.0)[0].shape[0] == 10
    frames, md = load_video(clips["10s"], "tiny", min_pixels=28 * 28, max_pixels=4 * 28 * 28)
    h, w = frames.shape[-2:]
    assert h % 28 == 0 and w % 28 == 0 and h * w <= max(4 * 28 * 28, int(28 * 28 * 1.05))
    with pytest.raises(ValueError, match="backend"):
        load_video(clips["10s"], "train", backend="torchvision")


def test_falls_back_to_the_other_backend(clips, monkeypatch):
    def broken(path, preset):
        raise vision._ReadFailure("unreadable", "simulated decord failure")

    monkeypatch.setitem(vision._READERS, "decord", broken)
    frames, md = load_video(clips["10s"], "train", backend="decord")
    assert md["backend"] == "pyav"
    assert "simulated decord failure" in md["backend_errors"]["decord"]
    assert frames.shape[0] == 16


def test_error_names_both_backends(tmp_path):
    bad = tmp_path / "noise.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(MediaError) as info:
        load_video(bad)
    assert "decord:" in str(info.value) and "pyav:" in str(info.value)
    assert set(info.value.backend_errors) == {"decord", "pyav"}
    assert str(bad) in str(info.value)


# ------------------------------------------------------------------------------------------ real video


@pytest.mark.media
@pytest.mark.parametrize("backend", ["decord", "pyav"])
def test_shared_video_train_preset(shared_video, backend):
    frames, md = load_video(shared_video, "train", backend=backend)
    assert frames.shape == (16, 3, 224, 420)  # 640x360 -> 224x420 = 94,080 px (floor rounding)
    assert md["total_num_frames"] == 491
    assert md["sample_fps"] == pytest.approx(0.726, abs=1e-3)
    assert md["frames_indices"][:4] == [0, 33, 65, 98] and md["frames_indices"][-1] == 490


@pytest.mark.media
@pytest.mark.parametrize("max_frames", [16, 32])
def test_shared_video_eval_preset(shared_video, max_frames):
    frames, md = load_video(shared_video, "eval", max_frames=max_frames)
    # 256*28*28 cap: 360x640 -> 336x588 = 197,568 px.
    assert frames.shape == (max_frames, 3, 336, 588)
    assert md["sample_fps"] == pytest.approx(max_frames / 491 * 22.29, rel=1e-4)


# ---------------------------------------------------------------------------------------------- images


def test_load_image_bounds(tmp_path):
    rng = np.random.default_rng(0)
    big = tmp_path / "big.png"
    Image.fromarray(rng.integers(0, 256, (600, 1000, 3), dtype=np.uint8)).save(big)
    small = tmp_path / "small.png"
    Image.new("RGBA", (30, 20), (0, 0, 0, 0)).save(small)

    image = load_image(big, "train")
    # 1000x600 = 600,000 px > 200,704: scale by sqrt(600000/200704), floor to 28 -> 560x336.
    assert (image.mode, image.size) == ("RGB", (560, 336))
    assert image.size[0] * image.size[1] <= 200_704
    assert load_image(big, "tiny").size == (140, 84)
    assert load_image(big, "train", max_pixels=64 * 28 * 28).size == (280, 168)

    image = load_image(small, "train")
    # 30x20 -> below 3,136 px: scale by sqrt(3136/600), ceil to 28 -> 84x56.
    assert (image.mode, image.size) == ("RGB", (84, 56))
    assert image.getpixel((0, 0)) == (255, 255, 255)  # qwen-vl-utils 0.0.14 composites alpha on white


# ----------------------------------------------------------------------------------- processor inputs


def _processor_out(processor, frames, **kwargs):
    text = "<|im_start|>user\n<|vision_start|><|video_pad|><|vision_end|>Describe.<|im_end|>\n"
    return processor(text=[text], videos=[frames], return_tensors="pt", **kwargs)


def test_second_per_grid_ts_follows_metadata(tiny_checkpoint, clips):
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_checkpoint)
    frames, md = load_video(clips["10s"], "tiny")
    assert frames.shape == (16, 3, 84, 140)
    patch = processor.video_processor.temporal_patch_size

    out = _processor_out(processor, frames, **processor_video_kwargs([md]))
    # One temporal patch spans `patch` sampled frames, i.e. patch / sample_fps seconds (2 / 1.6 = 1.25).
    assert out["second_per_grid_ts"].tolist() == pytest.approx([patch / md["sample_fps"]])
    assert out["second_per_grid_ts"].tolist() == pytest.approx([1.25])
    assert out["video_grid_thw"].tolist() == [[8, 84 // 14, 140 // 14]]  # frames not re-sampled/resized

    fixed = _processor_out(processor, frames, **processor_video_kwargs([md], temporal_rope="fixed_2fps"))
    assert fixed["second_per_grid_ts"].tolist() == pytest.approx([1.0])
    assert torch.equal(fixed["pixel_values_videos"], out["pixel_values_videos"])

    # What transformers 5.x does without metadata: it assumes 24 fps.
    bare = _processor_out(processor, frames, do_sample_frames=False)
    assert bare["second_per_grid_ts"].tolist() == pytest.approx([2 / 24])

    # A processor whose own bounds would upscale the frames leaves them alone with our kwargs.
    processor.video_processor.size = {"shortest_edge": 100_352, "longest_edge": 602_112}
    kept = _processor_out(processor, frames, **processor_video_kwargs([md]))
    assert kept["video_grid_thw"].tolist() == [[8, 6, 10]]
    assert _processor_out(processor, frames, do_sample_frames=False)["video_grid_thw"].tolist() != [
        [8, 6, 10]
    ]


@pytest.mark.media
def test_second_per_grid_ts_on_shared_video(tiny_checkpoint, shared_video):
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_checkpoint)
    frames, md = load_video(shared_video, "train")
    out = _processor_out(processor, frames, **processor_video_kwargs([md]))
    # 16 frames over 22 s: each 2-frame patch covers 2 / 0.7264 = 2.75 s.
    assert out["second_per_grid_ts"].tolist() == pytest.approx([2 / md["sample_fps"]])
    assert out["second_per_grid_ts"].item() == pytest.approx(2.753, abs=1e-3)
    assert out["video_grid_thw"].tolist() == [[8, 16, 30]]
    fixed = _processor_out(processor, frames, **processor_video_kwargs([md], temporal_rope="fixed_2fps"))
    assert fixed["second_per_grid_ts"].tolist() == pytest.approx([1.0])


def test_to_video_metadata_modes():
    md = {
        "frames_indices": [0, 33, 65, 98],
        "total_num_frames": 491,
        "video_fps": 22.29,
        "height": 224,
        "width": 420,
        "backend": "decord",
        "duration": 491 / 22.29,
    }
    real = to_video_metadata(md)
    assert real.sampled_fps == pytest.approx(4 / 491 * 22.29)
    assert real.frames_indices == [0, 33, 65, 98]
    assert to_video_metadata(md, "fixed_2fps").sampled_fps == 2.0
    with pytest.raises(ValueError, match="temporal_rope"):
        to_video_metadata(md, "24fps")
