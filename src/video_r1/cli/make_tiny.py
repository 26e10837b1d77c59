"""``video-r1 make-tiny --output_dir OUT [--model_family qwen3_vl]``: write a tiny offline checkpoint (Qwen2.5-VL by
default, Qwen3-VL or Qwen3.5) used by tests and the demo."""

from __future__ import annotations

from dataclasses import dataclass, field

from video_r1.cli._parse import build_parser as _build
from video_r1.cli._parse import parse_command
from video_r1.resumable import check_output_path
from video_r1.testing.tiny import TinySize

PROG = "video-r1 make-tiny"
HELP = "build a tiny random-weight Qwen2.5-VL, Qwen3-VL or Qwen3.5 checkpoint offline"
DESCRIPTION = (
    "Build a complete tiny Qwen2.5-VL (default), Qwen3-VL or Qwen3.5 checkpoint (config, random weights, byte-level BPE "
    "tokenizer with Qwen's "
    "special tokens and <think>/<answer> tags, the real chat template, image and video processor configs) that "
    "loads with AutoProcessor / AutoModelForImageTextToText.from_pretrained. No network access is needed; the "
    "same seed and sizes give identical files."
)


#: Layer sizes of released models (their config.json), for random checkpoints of the same shape. The
#: vocabulary stays the tiny tokenizer's (~1.1k tokens): Qwen2.5-VL-7B-Instruct has 8.29B parameters, 1.09B of
#: them in its two 152k-token embedding matrices, so the "7b" shape has 7.21B.
SHAPES: dict[str, dict[str, int]] = {
    "tiny": {},
    "7b": {
        "hidden_size": 3584,
        "num_hidden_layers": 28,
        "num_attention_heads": 28,
        "num_key_value_heads": 4,
        "intermediate_size": 18944,
        "vision_hidden_size": 1280,
        "vision_depth": 32,
        "vision_num_heads": 16,
        "vision_intermediate_size": 3420,
        "max_position_embeddings": 128000,
    },
}


@dataclass(frozen=True)
class MakeTinyArguments(TinySize):
    """Where to write the checkpoint, its seed, and its sizes (:class:`~video_r1.testing.tiny.TinySize`)."""

    output_dir: str | None = field(
        default=None, metadata={"help": "Directory to write the checkpoint to (created). Required."}
    )
    seed: int = field(default=0, metadata={"help": "Seed of the random weights."})
    model_family: str = field(
        default="qwen2_5_vl",
        metadata={
            "help": "The model family (its config model_type): 'qwen2_5_vl' (default), 'qwen3_vl' or 'qwen3_5'."
        },
    )
    shape: str = field(
        default="tiny",
        metadata={
            "help": "tiny: the sizes above. 7b: Qwen2.5-VL-7B's text and vision layer sizes (28 + 32 layers) with "
            "the tiny vocabulary, 7.21B random parameters, for GPU step-time and memory measurements "
            "(scripts/gpu_smoke.sh --bench-7b); size flags given explicitly are ignored with it.",
            "choices": list(SHAPES),
        },
    )
    dtype: str = field(
        default="float32",
        metadata={
            "help": "dtype of the saved weights: float32, or bfloat16 (half the memory and disk: a 7b shape "
            "is 14.4 GB instead of 28.9 GB).",
            "choices": ["float32", "bfloat16"],
        },
    )

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"shape must be one of {list(SHAPES)}, got {self.shape!r}")
        if self.dtype not in ("float32", "bfloat16"):
            raise ValueError(f"dtype must be float32 or bfloat16, got {self.dtype!r}")
        if not self.output_dir:
            raise ValueError("--output_dir is required")
        check_output_path(self.output_dir)
        from video_r1.testing.tiny_families import TINY_BUILDERS

        if self.model_family not in TINY_BUILDERS:
            raise ValueError(
                f"--model_family must be one of {sorted(TINY_BUILDERS)}, got {self.model_family!r}"
            )
        if self.shape != "tiny" and self.model_family != "qwen2_5_vl":
            raise ValueError(
                f"--shape {self.shape} is a Qwen2.5-VL shape: use it with --model_family qwen2_5_vl"
            )
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"num_attention_heads ({self.num_attention_heads}) must divide hidden_size ({self.hidden_size})"
            )


def build_parser():
    return _build(PROG, [MakeTinyArguments], DESCRIPTION)


def main(argv: list[str]) -> int:
    from video_r1.testing.tiny_families import build_tiny

    if argv and not argv[0].startswith("-"):  # the old positional OUT, kept for one release
        argv = ["--output_dir", argv[0], *argv[1:]]
    (args,) = parse_command(PROG, [MakeTinyArguments], argv, description=DESCRIPTION)
    sizes = shape_sizes(args)
    import torch

    default_dtype = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, args.dtype))  # the weights are created (and saved) in this dtype
    try:
        path = build_tiny(args.model_family, args.output_dir, seed=args.seed, **sizes)
    finally:
        torch.set_default_dtype(default_dtype)
    name = {"qwen2_5_vl": "Qwen2.5-VL", "qwen3_vl": "Qwen3-VL", "qwen3_5": "Qwen3.5"}[args.model_family]
    print(f"{'tiny' if args.shape == 'tiny' else args.shape + '-shaped'} {name} checkpoint written to {path}")
    return 0


def shape_sizes(args: MakeTinyArguments) -> dict[str, int]:
    """The :class:`TinySize` fields of ``args``, with ``--shape``'s sizes over them."""
    sizes = {name: getattr(args, name) for name in TinySize.__dataclass_fields__}
    return {**sizes, **SHAPES[args.shape]}
