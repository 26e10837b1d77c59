"""``video-r1 eval``: score checkpoints on the six video benchmarks of the Video-R1 paper.

    video-r1 eval --model_name_or_path CKPT --eval_dir Video-R1-eval --max_frames 16 32 64 --compare original
    video-r1 eval --config my_eval.yaml --max_frames 64            # settings from YAML, flags override
    video-r1 eval --check --eval_dir Video-R1-eval          # list missing/unreadable media, no model
    video-r1 eval --convert_media --eval_dir Video-R1-eval  # e.g. MVBench's .webm clips -> the .mp4 named

Decoding defaults are the original ``eval_bench.py``'s (temperature 0.1, top_p 0.001, 1024 new tokens);
frames and resolution come from the ``eval`` vision preset (256*28*28 px per frame, ``--max_frames``).
Per-sample results are appended to ``{output_dir}/{benchmark}_{frames}f.jsonl``; rerunning the same
command resumes. Exit codes: 0 = every benchmark scored; 1 = a benchmark failed (every sample, or more
than ``--max_error_fraction`` of them, are errors; it gets no score and the last line says so) or
``--check`` / ``--convert_media`` left media missing, or a records file or results file is bad (one line
naming the file); 2 = bad flags or --config file. See
evaluation/README.md.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from video_r1.cli._parse import build_parser as _build
from video_r1.cli._parse import parse_command

PROG = "video-r1 eval"
HELP = "evaluate a checkpoint on VSI-Bench, VideoMMMU, MMVU, MVBench, TempCompass, VideoMME"
DESCRIPTION = (
    "Generate answers with vLLM or HF transformers, score them with the original eval_bench.py rules "
    "(multiple choice exact match, numerical 2-decimal match, regression Mean Relative Accuracy) and write "
    "{output_dir}/{benchmark}_{frames}f.jsonl (one line per sample, resumable), results.json and results.md: the "
    "paper-comparable numbers (the paper's table layout) with the benchmarks' official metrics beside them "
    "(VSI-Bench's 8-category mean with its own per-sample rules, MVBench per task, VideoMME per duration). With "
    "--check, only list missing or unreadable media; with --convert_media, convert media shipped in another "
    "container. Settings come from --config file.yaml and/or flags."
)


def build_parser():
    from video_r1.evaluation.config import EvalConfig

    return _build(PROG, [EvalConfig], DESCRIPTION)


def parse(argv: list[str]):
    from video_r1.evaluation.config import EvalConfig

    (config,) = parse_command(
        PROG, [EvalConfig], argv, description=DESCRIPTION, repeatable=["--benchmark_file"]
    )
    return config


def _run_check(config, decode: bool) -> int:
    from video_r1.evaluation.check import OTHER_CONTAINER, RECORD_COUNT, check_benchmarks, format_summary

    benches = [config.benchmark(name) for name in config.benchmarks]
    checks, report = check_benchmarks(
        benches,
        eval_dir=config.eval_dir,
        data_root=config.data_root,
        output_dir=config.output_dir,
        limit=config.limit,
        decode=decode,
        frames=max(config.max_frames),
        video_backend=config.video_backend,
        progress=config.progress,
        allow_parent_traversal=config.allow_parent_traversal,
    )
    print(format_summary(checks))
    problems = [problem for check in checks for problem in check.problems]
    counts = [problem for problem in problems if problem.kind == RECORD_COUNT]
    for problem in counts:  # a warning: the file may be an older or newer release
        print(f"warning: {problem.benchmark}: {problem.reason}", file=sys.stderr)
    blocking = [problem for problem in problems if problem.kind != RECORD_COUNT]
    if any(problem.kind == OTHER_CONTAINER for problem in blocking):
        print(
            f"{sum(problem.kind == OTHER_CONTAINER for problem in blocking)} missing file(s) exist in another "
            "container; convert them with: video-r1 eval --convert_media "
            + " ".join(_selection_args(config)),
            file=sys.stderr,
        )
    if blocking:
        print(f"{len(blocking)} problem(s) listed in {report}", file=sys.stderr)
        return 1
    print(f"all media present and readable; report in {report}")
    return 0


def _selection_args(config) -> list[str]:
    """The flags that select the same benchmarks and media (for the hint of --check)."""
    args = []
    if config.eval_dir is not None:
        args += ["--eval_dir", str(config.eval_dir)]
    if config.data_root is not None:
        args += ["--data_root", str(config.data_root)]
    args += ["--benchmarks", *config.benchmarks]
    if config.benchmark_file:
        args += ["--benchmark_file", *config.benchmark_file]
    return args


def _run_convert(config) -> int:
    from video_r1.evaluation.convert import convert_missing_media
    from video_r1.evaluation.samples import load_benchmark_samples

    paths: list[str] = []
    for name in config.benchmarks:
        try:
            _, samples = load_benchmark_samples(
                config.benchmark(name),
                eval_dir=config.eval_dir,
                data_root=config.data_root,
                limit=config.limit,
                allow_parent_traversal=config.allow_parent_traversal,
            )
        except (FileNotFoundError, ValueError) as err:
            print(f"video-r1 eval --convert_media: {name}: {err}", file=sys.stderr)
            continue
        paths += [sample.record["media_path"] for sample in samples if sample.error is None]
    report = convert_missing_media(paths, progress=print if config.progress else None)
    for *_, error in report.failed:
        print(f"conversion failed: {error}", file=sys.stderr)
    print(
        f"converted {len(report.converted)} file(s); {len(report.failed)} failed; "
        f"{len(report.no_alternative)} missing file(s) have no same-named file in another container"
    )
    return _run_check(config, decode=False)


def main(argv: list[str]) -> int:
    config = parse(argv)
    if getattr(config, "vision_note", ""):
        print(config.vision_note, flush=True)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if config.check:
        return _run_check(config, config.check_decode)
    if config.convert_media:
        return _run_convert(config)
    if not config.model_name_or_path:
        from video_r1.cli._parse import UsageError

        raise UsageError("--model_name_or_path is required (or use --check to only check media)")
    from video_r1.cli._model import check_model

    check_model(config.model_name_or_path)

    from video_r1.evaluation.runner import run_eval

    try:  # bad records, results of another run, missing files: one line via video-r1 (exit 1)
        results = run_eval(config)
    except ImportError as err:
        if config.backend != "vllm":
            raise
        print(f"{PROG}: error: {err}; on a machine without vLLM use --backend hf", file=sys.stderr)
        return 2
    print(f"results in {Path(config.output_dir) / 'results.json'} and results.md")
    n_errors = sum(
        entry["n_errors"] for bench in results["benchmarks"].values() for entry in bench["frames"].values()
    )
    if n_errors:
        print(f"{n_errors} sample(s) failed; see the 'error' field of the .jsonl files", file=sys.stderr)
    failures = results["failures"]
    if failures:
        print(
            f"{PROG}: FAILED: {len(failures)} benchmark run(s) have no score: " + "; ".join(failures),
            file=sys.stderr,
        )
        return 1
    return 0
