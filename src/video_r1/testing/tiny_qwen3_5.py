"""A complete, tiny, random-weight Qwen3.5 checkpoint built offline (``video-r1 make-tiny --model_family qwen3_5``).

Qwen3.5 shares Qwen3-VL's processor, video processor and timestamp scheme; its text model mixes linear-attention
(gated delta net) and full-attention layers, rotates only ``partial_rotary_factor`` of each head, and its vision
tower has no DeepStack. Sizes as :mod:`video_r1.testing.tiny_qwen3_vl`.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from video_r1.testing.tiny import QWEN_SPECIAL_TOKENS, _build_tokenizer, save_tiny, tiny_size
from video_r1.testing.tiny_qwen3_vl import HEAD_DIM, mrope_section, qwen3_processor

#: Share of each head's dimensions that is rotated (the 9B's is 0.25 of 256; here half of 32).
PARTIAL_ROTARY_FACTOR = 0.5


def build_tiny_qwen3_5_checkpoint(path: str | Path, seed: int = 0, **size_overrides) -> Path:
    """Write a complete tiny Qwen3.5 checkpoint to ``path`` and return it (``size_overrides``: :class:`TinySize`)."""
    import torch
    from transformers import (
        Qwen3_5Config,
        Qwen3_5ForConditionalGeneration,
    )
    from trl.chat_template_utils import qwen3_5_think_chat_template

    size = tiny_size(size_overrides)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)

    tokenizer = _build_tokenizer(size.vocab_size)
    ids = {tok: tokenizer.convert_tokens_to_ids(tok) for tok in QWEN_SPECIAL_TOKENS}
    processor = qwen3_processor(tokenizer, qwen3_5_think_chat_template)
    vision_side = 12  # sqrt(num_position_embeddings): learned vision positions, interpolated per grid
    config = Qwen3_5Config(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": size.hidden_size,
            "intermediate_size": size.intermediate_size,
            "num_hidden_layers": size.num_hidden_layers,
            "num_attention_heads": size.num_attention_heads,
            "num_key_value_heads": size.num_key_value_heads,
            "head_dim": HEAD_DIM,
            "layer_types": [
                "linear_attention" if (i + 1) % 2 else "full_attention" for i in range(size.num_hidden_layers)
            ],
            "linear_conv_kernel_dim": 4,
            "linear_key_head_dim": 16,
            "linear_value_head_dim": 16,
            "linear_num_key_heads": 2,
            "linear_num_value_heads": 4,
            "max_position_embeddings": size.max_position_embeddings,
            "rms_norm_eps": 1e-6,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 5000000.0,
                "mrope_section": mrope_section(int(HEAD_DIM * PARTIAL_ROTARY_FACTOR)),
                "mrope_interleaved": True,
                "partial_rotary_factor": PARTIAL_ROTARY_FACTOR,
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
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = Qwen3_5ForConditionalGeneration(config).eval()
    return save_tiny(model, processor, path, ids, {"seed": seed, "model_family": "qwen3_5", **asdict(size)})
