"""A complete, tiny, random-weight Qwen2.5-VL checkpoint built offline in seconds.

Tests and the CPU demo cannot download ``Qwen/Qwen2.5-VL-7B-Instruct``, so this module builds a checkpoint
with the same *shape of files* and the same code paths as the real one:

* ``config.json`` - a ``Qwen2_5_VLConfig`` with a 2-layer text model and a 2-layer vision tower (defaults:
  ~0.2M parameters; every size can be overridden, e.g. for the demo's larger model);
* ``model.safetensors`` - random weights from ``torch.manual_seed(seed)``;
* a byte-level BPE tokenizer trained here on a small corpus (the project's prompt wording and the
  synthetic tasks' vocabulary) with Qwen2.5-VL's 14 special tokens plus ``<think>``/``</think>``/
  ``<answer>``/``</answer>`` as added tokens, wrapped as ``Qwen2Tokenizer`` (eos ``<|im_end|>``,
  pad ``<|endoftext|>``, as the real tokenizer);
* the real Qwen2.5-VL chat template (the copy TRL ships), and ``Qwen2VLImageProcessor`` /
  ``Qwen2VLVideoProcessor`` configs with the real 7B pixel bounds;
* ``generation_config.json`` with the real checkpoint's eos/pad ids and sampling defaults.

The result loads with ``AutoProcessor.from_pretrained`` and ``AutoModelForImageTextToText.from_pretrained``
exactly like the 7B. Everything is deterministic for a seed: the tokenizer corpus is fixed and the weights
come from a seeded generator.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

#: Qwen2.5-VL's special tokens, in the real tokenizer's order (ids 151643..151656 there).
QWEN_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
#: Reasoning/answer tags: single tokens here so that short completions can be well formed.
TAG_TOKENS = ("<think>", "</think>", "<answer>", "</answer>")

# Real Qwen2.5-VL-7B-Instruct processor settings (preprocessor_config.json).
_IMAGE_MEAN = [0.48145466, 0.4578275, 0.40821073]
_IMAGE_STD = [0.26862954, 0.26130258, 0.27577711]
_MIN_PIXELS = 3136
_MAX_PIXELS = 12845056


@dataclass(frozen=True)
class TinySize:
    """Sizes of the tiny model; every field can be overridden through ``build_tiny_checkpoint(**overrides)``."""

    hidden_size: int = field(default=64, metadata={"help": "Text model width."})
    num_hidden_layers: int = field(default=2, metadata={"help": "Text decoder layers."})
    num_attention_heads: int = field(
        default=4, metadata={"help": "Attention heads (must divide hidden_size)."}
    )
    num_key_value_heads: int = field(
        default=2, metadata={"help": "Key/value heads (grouped-query attention)."}
    )
    intermediate_size: int = field(default=128, metadata={"help": "Text MLP size."})
    vision_hidden_size: int = field(default=32, metadata={"help": "Vision tower width."})
    vision_depth: int = field(default=2, metadata={"help": "Vision tower blocks."})
    vision_num_heads: int = field(default=2, metadata={"help": "Vision attention heads."})
    vision_intermediate_size: int = field(default=64, metadata={"help": "Vision MLP size."})
    vocab_size: int = field(
        default=1024, metadata={"help": "BPE vocabulary trained offline (before special and added tokens)."}
    )
    max_position_embeddings: int = field(default=32768, metadata={"help": "Text context length."})


def _mrope_section(head_dim: int) -> list[int]:
    """Split head_dim/2 rotary frequencies into (temporal, height, width) like the 7B's [16, 24, 24]."""
    half = head_dim // 2
    t = half // 4
    h = (half - t) // 2
    return [t, h, half - t - h]


def _tokenizer_corpus() -> list[str]:
    """A fixed corpus: the project's prompt wording, option letters, digits and the synthetic tasks' words."""
    from video_r1.prompts import (
        QUESTION_TEMPLATE_EVAL,
        QUESTION_TEMPLATE_TRAIN,
        SFT_SYSTEM_PROMPT,
        TYPE_TEMPLATE,
    )

    lines = [
        QUESTION_TEMPLATE_TRAIN,
        QUESTION_TEMPLATE_EVAL,
        *TYPE_TEMPLATE.values(),
        SFT_SYSTEM_PROMPT + ".",
        "system\nuser\nassistant\n",
        "Options:\nA. left\nB. right\nC. up\nD. down\n",
        "In which direction does the object move? Which object appears first? Does the shape grow or shrink?",
        "How many squares are in the image? What is the side length of the square in pixels?",
        "What colour is the square? red green blue yellow white black purple orange cyan magenta",
        "Let me think. The square starts on the left and ends on the right, so it moves right.",
        "Hmm, wait, let's break it down. oh, I see. The circle appears before the triangle.",
        "The shape gets bigger over time, so it grows. The shape gets smaller, so it shrinks.",
        "0 1 2 3 4 5 6 7 8 9 10 12 16 20 32 42 3.14 0.5 1,000 A B C D E",
        "the a an of to in is it and or what which how many first last frame frames video image",
    ]
    # Repeat so that frequent template words win merges; a fixed list keeps training deterministic.
    return lines * 4


def _build_tokenizer(vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    backend = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=list(QWEN_SPECIAL_TOKENS),
    )
    backend.train_from_iterator(_tokenizer_corpus(), trainer=trainer)
    tokenizer = Qwen2Tokenizer(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        bos_token=None,
        model_max_length=131072,
        errors="replace",
        clean_up_tokenization_spaces=False,
    )
    tokenizer.add_special_tokens({"additional_special_tokens": list(QWEN_SPECIAL_TOKENS[3:])})
    # The tags are ordinary (non-special) added tokens, as in the real vocabulary, so that decoding with
    # skip_special_tokens=True keeps them - the rewards parse them from decoded text.
    tokenizer.add_tokens(list(TAG_TOKENS), special_tokens=False)
    return tokenizer


def tiny_size(size_overrides: dict) -> TinySize:
    """A :class:`TinySize` from overrides, refusing unknown names (every family's builder starts here)."""
    valid = {f.name for f in fields(TinySize)}
    unknown = sorted(set(size_overrides) - valid)
    if unknown:
        raise TypeError(f"unknown tiny-model size override(s) {unknown}; valid: {sorted(valid)}")
    return TinySize(**size_overrides)


def save_tiny(model, processor, path: Path, ids: dict[str, int], record: dict) -> Path:
    """Give ``model`` the released checkpoints' generation defaults, save it with ``processor`` to ``path``
    and write ``record`` (seed, family, sizes) to ``tiny_size.json`` (every family's builder ends here)."""
    from transformers import GenerationConfig

    model.generation_config = GenerationConfig(
        bos_token_id=ids["<|endoftext|>"],
        pad_token_id=ids["<|endoftext|>"],
        eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]],
        do_sample=True,
        temperature=0.1,
        top_p=0.001,
        top_k=1,
        repetition_penalty=1.05,
    )
    model.save_pretrained(path)
    processor.save_pretrained(path)
    (path / "tiny_size.json").write_text(json.dumps(record, indent=2) + "\n")
    return path


def build_tiny_checkpoint(path: str | Path, seed: int = 0, **size_overrides) -> Path:
    """Write a complete tiny Qwen2.5-VL checkpoint to ``path`` and return the path.

    ``size_overrides`` are :class:`TinySize` fields (e.g. ``hidden_size=128, vision_hidden_size=64``).
    The same ``seed`` and sizes always give the same tokenizer, config and weights.
    """
    import torch
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )
    from trl.chat_template_utils import qwen2_5_vl_chat_template

    size = tiny_size(size_overrides)
    if size.hidden_size % size.num_attention_heads:
        raise ValueError(f"hidden_size {size.hidden_size} not divisible by heads {size.num_attention_heads}")

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)

    tokenizer = _build_tokenizer(size.vocab_size)
    ids = {tok: tokenizer.convert_tokens_to_ids(tok) for tok in QWEN_SPECIAL_TOKENS}
    vocab = len(tokenizer)

    image_processor = Qwen2VLImageProcessor(
        min_pixels=_MIN_PIXELS,
        max_pixels=_MAX_PIXELS,
        patch_size=14,
        temporal_patch_size=2,
        merge_size=2,
        image_mean=_IMAGE_MEAN,
        image_std=_IMAGE_STD,
    )
    video_processor = Qwen2VLVideoProcessor(
        size={"shortest_edge": _MIN_PIXELS, "longest_edge": _MAX_PIXELS},
        patch_size=14,
        temporal_patch_size=2,
        merge_size=2,
        image_mean=_IMAGE_MEAN,
        image_std=_IMAGE_STD,
        # qwen-vl-utils' per-frame pixel cap (transformers warns on every call while this is unset).
        cap_pixels_per_frame=True,
    )
    processor = Qwen2_5_VLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        chat_template=qwen2_5_vl_chat_template,
    )

    head_dim = size.hidden_size // size.num_attention_heads
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": vocab,
            "hidden_size": size.hidden_size,
            "intermediate_size": size.intermediate_size,
            "num_hidden_layers": size.num_hidden_layers,
            "num_attention_heads": size.num_attention_heads,
            "num_key_value_heads": size.num_key_value_heads,
            "max_position_embeddings": size.max_position_embeddings,
            "rms_norm_eps": 1e-6,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 1000000.0,
                "mrope_section": _mrope_section(head_dim),
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
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "tokens_per_second": 2,
            "window_size": 112,
            "fullatt_block_indexes": [size.vision_depth - 1],
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    return save_tiny(model, processor, path, ids, {"seed": seed, **asdict(size)})
