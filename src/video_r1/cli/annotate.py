"""``video-r1 annotate``: generate chain-of-thought for a Video-R1-format file (COT-165k recipe).

Runs a strong model (default Qwen2.5-VL-72B-Instruct) on every record with the original annotation prompt,
scores each completion with the accuracy reward and keeps those with reward > ``--min_reward``. Writes
``raw.jsonl`` (incrementally; a restarted run resumes), ``cot.json`` (ready for ``video-r1 sft``) and
``summary.json`` to ``--output_dir``. See ``video_r1.annotate``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from video_r1.cli._types import positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "annotate",
        help="generate chain-of-thought (process) for a Video-R1-format file and keep the correct ones",
        description=(
            "Generate one completion per record with the original CoT-annotation prompt (evaluation wording, "
            "no system prompt), score it with the accuracy reward against the record's solution and keep the "
            "records with reward > --min_reward. Output in OUTPUT_DIR: raw.jsonl (every record with output, "
            "answer, reward, select, error; written as it goes, so a killed run resumes where it stopped), "
            "cot.json (selected records + their <think>...</think> block as 'process', COT-165k format, for "
            "video-r1 sft) and summary.json."
        ),
    )
    parser.add_argument(
        "--model_name_or_path",
        default="Qwen/Qwen2.5-VL-72B-Instruct",
        help="annotating model, local path or Hub id (default: Qwen/Qwen2.5-VL-72B-Instruct, as the original)",
    )
    parser.add_argument(
        "--input", required=True, help="records to annotate: Video-R1 JSON array or JSON Lines file"
    )
    parser.add_argument(
        "--data_root",
        default=None,
        help="folder the records' 'path' values are relative to (default: the folder holding --input)",
    )
    parser.add_argument(
        "--output_dir", required=True, help="where raw.jsonl, cot.json and summary.json go (created)"
    )
    parser.add_argument(
        "--backend",
        choices=("vllm", "hf"),
        default="vllm",
        help="vllm (GPU; tensor parallel over all visible GPUs, as the original) or hf (transformers "
        "generate; CPU or GPU) (default: vllm)",
    )
    parser.add_argument(
        "--batch_size",
        type=positive_int,
        default=32,
        help="records per generation call (default: 32, as the original)",
    )
    parser.add_argument(
        "--min_reward",
        type=float,
        default=0.6,
        help="keep a record when its reward is strictly greater than this (default: 0.6, as the original)",
    )
    parser.add_argument(
        "--preset",
        choices=("train", "eval", "tiny"),
        default="train",
        help="vision preset (default: train = <=16 frames at 2 fps, 128*28*28 px per frame, images 256*28*28). "
        "The original annotated with whatever its edited vision_process.py held, which is the training "
        "setting, so the CoT describes the same frames SFT later trains on; 'eval' = 256*28*28 px per frame, "
        "32 frames; 'tiny' for the CPU demo",
    )
    parser.add_argument(
        "--max_frames",
        type=positive_int,
        default=None,
        help="override the preset's maximum frame count per video",
    )
    parser.add_argument(
        "--limit", type=positive_int, default=None, help="annotate only the first N records of --input"
    )
    parser.add_argument("--seed", type=int, default=None, help="sampling seed (default: not seeded)")
    parser.add_argument(
        "--temperature", type=float, default=1.0, help="sampling temperature, 0 = greedy (default: 1.0)"
    )
    parser.add_argument("--top_p", type=float, default=0.95, help="nucleus sampling mass (default: 0.95)")
    parser.add_argument(
        "--max_new_tokens",
        type=positive_int,
        default=512,
        help="maximum tokens per completion (default: 512; longer CoTs lose their answer tag and are dropped)",
    )
    parser.add_argument(
        "--video_backend",
        choices=("decord", "pyav"),
        default="decord",
        help="video decoder tried first; the other is the fallback (default: decord)",
    )
    parser.add_argument(
        "--temporal_rope",
        choices=("sampled_fps", "fixed_2fps"),
        default="sampled_fps",
        help="temporal M-RoPE spacing given to the model: the real sampled fps (default; the original passed "
        "fps in annotation too) or fixed_2fps (the original's training behaviour)",
    )
    parser.add_argument(
        "--dtype",
        default="auto",
        help="model dtype: auto, bfloat16, float16 or float32 (default: auto = the checkpoint's)",
    )
    parser.add_argument(
        "--device",
        default=None,
        help="hf backend only: cpu, cuda, cuda:N, or auto (device_map='auto' over all GPUs) "
        "(default: cuda if available, else cpu)",
    )
    parser.add_argument(
        "--tensor_parallel_size",
        type=positive_int,
        default=None,
        help="vllm backend: GPUs per model (default: all visible GPUs)",
    )
    parser.add_argument(
        "--max_model_len",
        type=positive_int,
        default=8192,
        help="vllm backend: context length (default: 8192)",
    )
    parser.add_argument(
        "--gpu_memory_utilization",
        type=float,
        default=0.8,
        help="vllm backend: fraction of GPU memory vLLM may use (default: 0.8)",
    )
    parser.add_argument(
        "--retry_errors",
        action="store_true",
        help="on resume, generate again the records whose earlier attempt ended in an error",
    )
    parser.add_argument("--no_progress", action="store_true", help="do not show the progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from video_r1.annotate import AnnotateConfig, annotate

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = AnnotateConfig(
        input=args.input,
        output_dir=args.output_dir,
        model_name_or_path=args.model_name_or_path,
        data_root=args.data_root,
        backend=args.backend,
        batch_size=args.batch_size,
        min_reward=args.min_reward,
        preset=args.preset,
        max_frames=args.max_frames,
        limit=args.limit,
        seed=args.seed,
        temperature=args.temperature,
        top_p=args.top_p,
        max_new_tokens=args.max_new_tokens,
        video_backend=args.video_backend,
        temporal_rope=args.temporal_rope,
        dtype=args.dtype,
        device=args.device,
        tensor_parallel_size=args.tensor_parallel_size,
        max_model_len=args.max_model_len,
        gpu_memory_utilization=args.gpu_memory_utilization,
        retry_errors=args.retry_errors,
        progress=not args.no_progress,
    )
    try:
        summary = annotate(config)
    except ImportError as err:
        if "setup.sh --gpu" not in str(err):
            raise
        print(f"video-r1 annotate: error: {err} (or run on CPU with --backend hf)", file=sys.stderr)
        return 1
    keys = ("total", "done", "selected", "cot_records", "errors", "mean_reward", "wall_time_s")
    print(json.dumps({k: summary[k] for k in keys}))
    print(f"cot.json: {summary['files']['cot']}")
    return 0
