"""``video-r1 annotate``: generate chain-of-thought for a Video-R1-format file (COT-165k recipe).

Runs a strong model (default Qwen2.5-VL-72B-Instruct) on every record with the original annotation prompt,
scores each completion with the accuracy reward and keeps those with reward > ``--min_reward``. Writes
``raw.jsonl`` (incrementally; a restarted run resumes), ``cot.json`` (ready for ``video-r1 sft``) and
``summary.json`` to ``--output_dir``. Settings: :class:`video_r1.annotate.AnnotateConfig`, from
``--config file.yaml`` and/or flags.
"""

from __future__ import annotations

import json
import logging
import sys

from video_r1.cli._parse import build_parser as _build
from video_r1.cli._parse import parse_command

PROG = "video-r1 annotate"
HELP = "generate chain-of-thought (process) for a Video-R1-format file and keep the correct ones"
DESCRIPTION = (
    "Generate one completion per record with the original CoT-annotation prompt (evaluation wording, no system "
    "prompt), score it with the accuracy reward against the record's solution and keep the records with reward "
    "> --min_reward. Output in --output_dir: raw.jsonl (every record with output, answer, reward, select, error; "
    "written as it goes, so a killed run resumes where it stopped), cot.json (selected records + their "
    "<think>...</think> block as 'process', COT-165k format, for video-r1 sft) and summary.json."
)


def build_parser():
    from video_r1.annotate import AnnotateConfig

    return _build(PROG, [AnnotateConfig], DESCRIPTION)


def main(argv: list[str]) -> int:
    from video_r1.annotate import AnnotateConfig, annotate

    (config,) = parse_command(PROG, [AnnotateConfig], argv, description=DESCRIPTION)
    from video_r1.cli._model import check_model

    check_model(config.model_name_or_path)
    if getattr(config, "vision_note", ""):
        print(config.vision_note, flush=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        summary = annotate(config)
    except ImportError as err:
        if "setup.sh --gpu" not in str(err):
            raise
        print(f"{PROG}: error: {err} (or run on CPU with --backend hf)", file=sys.stderr)
        return 1
    keys = ("total", "done", "selected", "cot_records", "errors", "mean_reward", "wall_time_s")
    print(json.dumps({k: summary[k] for k in keys}))
    print(f"cot.json: {summary['files']['cot']}")
    return 0
