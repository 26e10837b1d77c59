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

    def __post_init__(self) -> None:
        if not self.output_dir:
            raise ValueError("--output_dir is required")
        check_output_path(self.output_dir)
        from video_r1.testing.tiny_families import TINY_BUILDERS

        if self.model_family not in TINY_BUILDERS:
            raise ValueError(
                f"--model_family must be one of {sorted(TINY_BUILDERS)}, got {self.model_family!r}"
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
    sizes = {name: getattr(args, name) for name in TinySize.__dataclass_fields__}
    path = build_tiny(args.model_family, args.output_dir, seed=args.seed, **sizes)
    name = {"qwen2_5_vl": "Qwen2.5-VL", "qwen3_vl": "Qwen3-VL", "qwen3_5": "Qwen3.5"}[args.model_family]
    print(f"tiny {name} checkpoint written to {path}")
    return 0
