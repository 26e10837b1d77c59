"""``video-r1 make-tiny --shape 7b``: the random checkpoint ``scripts/gpu_smoke.sh --bench-7b`` trains.

Built on the meta device (no weight is allocated) with the model's ``save_pretrained`` captured: the layer
shapes and the parameter count come from the real Qwen2.5-VL classes and the real config the command writes.
"""

from __future__ import annotations

import json

import torch
from transformers import PreTrainedModel

from video_r1.cli.main import main


def test_7b_shape_has_the_7b_layer_sizes_and_7_21b_parameters(tmp_path, monkeypatch):
    saved = []
    monkeypatch.setattr(PreTrainedModel, "save_pretrained", lambda self, *a, **k: saved.append(self))
    with torch.device("meta"):
        code = main(
            ["make-tiny", "--output_dir", str(tmp_path / "7b"), "--shape", "7b", "--dtype", "bfloat16"]
        )
    assert code == 0
    assert torch.get_default_dtype() == torch.float32  # restored
    (model,) = saved
    text, vision = model.config.text_config, model.config.vision_config
    assert (text.hidden_size, text.num_hidden_layers, text.intermediate_size) == (3584, 28, 18944)
    assert (text.num_attention_heads, text.num_key_value_heads) == (28, 4)
    assert (vision.hidden_size, vision.depth, vision.intermediate_size, vision.num_heads) == (
        1280,
        32,
        3420,
        16,
    )
    assert vision.out_hidden_size == 3584
    params = dict(model.named_parameters())
    assert all(p.is_meta and p.dtype == torch.bfloat16 for p in params.values())
    vocab = text.vocab_size
    assert vocab < 2000  # the tiny tokenizer's vocabulary
    assert params["lm_head.weight"].shape == (vocab, 3584)
    layer = "model.language_model.layers.0."
    assert params[layer + "mlp.gate_proj.weight"].shape == (18944, 3584)
    assert params[layer + "self_attn.k_proj.weight"].shape == (4 * 128, 3584)  # 4 KV heads of 128
    assert params["model.visual.blocks.31.mlp.up_proj.weight"].shape == (3420, 1280)
    total = sum(p.numel() for p in params.values())
    assert 7.20e9 < total < 7.22e9, total  # Qwen2.5-VL-7B's 8.29B minus its two 152k-token embeddings
    recorded = json.loads((tmp_path / "7b" / "tiny_size.json").read_text())
    assert recorded["num_hidden_layers"] == 28 and recorded["vision_depth"] == 32
