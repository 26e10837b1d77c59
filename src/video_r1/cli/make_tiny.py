"""``video-r1 make-tiny --output_dir OUT``: write the tiny offline Qwen2.5-VL checkpoint used by tests and the demo."""

from __future__ import annotations

from dataclasses import dataclass, field

from video_r1.cli._parse import build_parser as _build
from video_r1.cli._parse import parse_command
from video_r1.resumable import check_output_path
from video_r1.testing.tiny import TinySize

PROG = "video-r1 make-tiny"
HELP = "build a tiny random-weight Qwen2.5-VL checkpoint offline"
DESCRIPTION = (
    "Build a complete tiny Qwen2.5-VL checkpoint (config, random weights, byte-level BPE tokenizer with Qwen's "
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
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"num_attention_heads ({self.num_attention_heads}) must divide hidden_size ({self.hidden_size})"
            )


def build_parser():
    return _build(PROG, [MakeTinyArguments], DESCRIPTION)


def main(argv: list[str]) -> int:
    from video_r1.testing.tiny import build_tiny_checkpoint

    if argv and not argv[0].startswith("-"):  # the old positional OUT, kept for one release
        argv = ["--output_dir", argv[0], *argv[1:]]
    (args,) = parse_command(PROG, [MakeTinyArguments], argv, description=DESCRIPTION)
    sizes = shape_sizes(args)
    import torch

    default_dtype = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, args.dtype))  # the weights are created (and saved) in this dtype
    try:
        path = build_tiny_checkpoint(args.output_dir, seed=args.seed, **sizes)
    finally:
        torch.set_default_dtype(default_dtype)
    print(
        f"{'tiny' if args.shape == 'tiny' else args.shape + '-shaped'} Qwen2.5-VL checkpoint written to {path}"
    )
    return 0


def shape_sizes(args: MakeTinyArguments) -> dict[str, int]:
    """The :class:`TinySize` fields of ``args``, with ``--shape``'s sizes over them."""
    sizes = {name: getattr(args, name) for name in TinySize.__dataclass_fields__}
    return {**sizes, **SHAPES[args.shape]}
