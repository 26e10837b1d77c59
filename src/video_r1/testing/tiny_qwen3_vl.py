"""A complete, tiny, random-weight Qwen3-VL (dense) checkpoint built offline in seconds.

The same shape of files as ``Qwen/Qwen3-VL-8B-Instruct`` and the same code paths, like
:mod:`video_r1.testing.tiny` does for Qwen2.5-VL (whose tokenizer builder and sizes it reuses):

* ``config.json`` - a ``Qwen3VLConfig``: 2 text layers with an explicit ``head_dim`` and interleaved M-RoPE
  (``mrope_section`` split like the 8B's [24, 20, 20] of 64, e.g. [6, 5, 5] for ``head_dim`` 32), a
  2-block vision tower (patch 16, merge 2) with one DeepStack layer, ``out_hidden_size`` = text width;
* ``model.safetensors`` - random weights from ``torch.manual_seed(seed)``;
* the project's offline byte-level BPE tokenizer (Qwen's 14 special tokens, ``<think>``/``<answer>`` tags);
* TRL's copy of the Qwen3-VL chat template, ``Qwen2VLImageProcessor`` / ``Qwen3VLVideoProcessor`` configs with
  patch 16, mean/std 0.5 and the pixel bounds of the 8B's ``preprocessor_config.json`` /
  ``video_preprocessor_config.json`` (image 65,536..16,777,216 px, video 4,096..25,165,824 px, fps 2);
* ``generation_config.json`` as the Qwen2.5-VL tiny model's.

It loads with ``AutoProcessor`` / ``AutoModelForImageTextToText.from_pretrained`` and with vLLM 0.31's
input processing (tests/vllm_io/test_real_vllm_qwen3_vl.py).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from video_r1.testing.tiny import QWEN_SPECIAL_TOKENS, _build_tokenizer, save_tiny, tiny_size

_MEAN = [0.5, 0.5, 0.5]
_STD = [0.5, 0.5, 0.5]
_IMAGE_SIZE = {"shortest_edge": 65536, "longest_edge": 16777216}
_VIDEO_SIZE = {"shortest_edge": 4096, "longest_edge": 25165824}
#: Text head width of the tiny model (Qwen3-VL configs name it explicitly; the default would be 128).
HEAD_DIM = 32


def mrope_section(head_dim: int) -> list[int]:
    """(temporal, height, width) split of ``head_dim / 2`` like the 8B's [24, 20, 20] of 64."""
    half = head_dim // 2
    side = half * 20 // 64
    return [half - 2 * side, side, side]


def qwen3_processor(tokenizer, chat_template: str):
    """The ``Qwen3VLProcessor`` of the Qwen3-VL and Qwen3.5 tiny checkpoints (patch 16, merge 2, fps 2)."""
    from transformers import Qwen2VLImageProcessor, Qwen3VLProcessor, Qwen3VLVideoProcessor

    image_processor = Qwen2VLImageProcessor(
        size=dict(_IMAGE_SIZE),
        patch_size=16,
        temporal_patch_size=2,
        merge_size=2,
        image_mean=_MEAN,
        image_std=_STD,
    )
    video_processor = Qwen3VLVideoProcessor(
        size=dict(_VIDEO_SIZE),
        patch_size=16,
        temporal_patch_size=2,
        merge_size=2,
        fps=2,
        min_frames=4,
        max_frames=768,
        image_mean=_MEAN,
        image_std=_STD,
        cap_pixels_per_frame=True,
    )
    return Qwen3VLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        chat_template=chat_template,
    )


def build_tiny_qwen3_vl_checkpoint(path: str | Path, seed: int = 0, **size_overrides) -> Path:
    """Write a complete tiny Qwen3-VL checkpoint to ``path`` and return it (``size_overrides``: :class:`TinySize`)."""
    import torch
    from transformers import (
        Qwen3VLConfig,
        Qwen3VLForConditionalGeneration,
    )
    from trl.chat_template_utils import qwen3_vl_chat_template

    size = tiny_size(size_overrides)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)

    tokenizer = _build_tokenizer(size.vocab_size)
    ids = {tok: tokenizer.convert_tokens_to_ids(tok) for tok in QWEN_SPECIAL_TOKENS}
    processor = qwen3_processor(tokenizer, qwen3_vl_chat_template)
    vision_side = 12  # sqrt(num_position_embeddings): learned vision positions, interpolated per grid
    config = Qwen3VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": size.hidden_size,
            "intermediate_size": size.intermediate_size,
            "num_hidden_layers": size.num_hidden_layers,
            "num_attention_heads": size.num_attention_heads,
            "num_key_value_heads": size.num_key_value_heads,
            "head_dim": HEAD_DIM,
            "max_position_embeddings": size.max_position_embeddings,
            "rms_norm_eps": 1e-6,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 5000000.0,
                "mrope_section": mrope_section(HEAD_DIM),
                "mrope_interleaved": True,
            },
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
            "tie_word_embeddings": False,
        },
        vision_config={
            "depth": size.vision_depth,
            "hidden_size": size.vision_hidden_size,
            "intermediate_size": size.vision_intermediate_size,
            "num_heads": size.vision_num_heads,
            "out_hidden_size": size.hidden_size,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "num_position_embeddings": vision_side * vision_side,
            "deepstack_visual_indexes": [0],
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = Qwen3VLForConditionalGeneration(config).eval()
    return save_tiny(model, processor, path, ids, {"seed": seed, "model_family": "qwen3_vl", **asdict(size)})
