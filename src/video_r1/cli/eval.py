"""``video-r1 eval``: score checkpoints on the six video benchmarks of the Video-R1 paper.

    video-r1 eval --model_name_or_path CKPT --eval_dir Video-R1-eval --max_frames 16 32 64 --compare original
    video-r1 eval --check --eval_dir Video-R1-eval          # list missing/unreadable media, no model
    video-r1 eval --convert_media --eval_dir Video-R1-eval  # e.g. MVBench's .webm clips -> the .mp4 named

Decoding defaults are the original ``eval_bench.py``'s (temperature 0.1, top_p 0.001, 1024 new tokens);
frames and resolution come from the ``eval`` vision preset (256*28*28 px per frame, ``--max_frames``).
Per-sample results are appended to ``{output_dir}/{benchmark}_{frames}f.jsonl``; rerunning the same
command resumes. Exit codes: 0 = every benchmark scored; 1 = a benchmark failed (every sample, or more
than ``--max_error_fraction`` of them, are errors; it gets no score and the last line says so) or
``--check`` / ``--convert_media`` left media missing; 2 = bad configuration or input files. See
evaluation/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

from video_r1.cli._types import positive_int

DEFAULT_FRAMES = [32]


def _frames(text: str) -> int:
    value = int(text)
    if value < 2 or value % 2:
        raise argparse.ArgumentTypeError(f"frame counts must be even and >= 2, got {text}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text}")
    return value


def _benchmark_file(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name.strip(), path.strip()


def register(subparsers: argparse._SubParsersAction) -> None:
    from video_r1.evaluation.benchmarks import BENCHMARK_NAMES

    parser = subparsers.add_parser(
        "eval",
        help="evaluate a checkpoint on VSI-Bench, VideoMMMU, MMVU, MVBench, TempCompass, VideoMME",
        description=(
            "Generate answers with vLLM or HF transformers, score them with the original eval_bench.py rules "
            "(multiple choice exact match, numerical 2-decimal match, regression Mean Relative Accuracy) and "
            "write {output_dir}/{benchmark}_{frames}f.jsonl (one line per sample, resumable), results.json "
            "and results.md: the paper-comparable numbers (the paper's table layout) with the benchmarks' "
            "official metrics beside them (VSI-Bench's 8-category mean with its own per-sample rules, "
            "MVBench per task, VideoMME per duration). With --check, only list missing or unreadable media; "
            "with --convert_media, convert media shipped in another container."
        ),
    )
    what = parser.add_argument_group("what to evaluate")
    what.add_argument(
        "--model_name_or_path",
        "--model_path",
        dest="model_path",
        default=None,
        help="checkpoint directory or Hub id (required unless --check); --model_path is an alias",
    )
    what.add_argument(
        "--benchmarks",
        default=None,
        help=(
            f"comma-separated benchmark names among {','.join(BENCHMARK_NAMES)} and names given with "
            "--benchmark_file (default: all six, or only the --benchmark_file ones when any is given)"
        ),
    )
    what.add_argument(
        "--benchmark_file",
        action="append",
        type=_benchmark_file,
        default=[],
        metavar="NAME=PATH",
        help=(
            "records file (JSON or JSONL, Video-R1 record format) of a benchmark; a new NAME registers a "
            "custom benchmark (headline = mean accuracy; relative paths resolve against --data_root, else "
            "the file's folder), a registry NAME overrides its eval_NAME.json; repeatable"
        ),
    )
    what.add_argument(
        "--eval_dir",
        default=None,
        help=(
            "folder holding eval_{benchmark}.json from the HF dataset Video-R1/Video-R1-eval and the "
            "benchmark videos under ./<Benchmark>/... (the original's src/r1-v/Evaluation)"
        ),
    )
    what.add_argument(
        "--data_root",
        default=None,
        help="folder the records' relative 'path' values resolve against (default: --eval_dir)",
    )
    what.add_argument(
        "--max_frames",
        nargs="+",
        type=_frames,
        default=DEFAULT_FRAMES,
        help=(
            "frame counts to evaluate at (one or more; the paper uses 16 32 64); frames are sampled at 2 fps "
            "up to this many, 256*28*28 px each (default: 32)"
        ),
    )
    what.add_argument(
        "--limit",
        type=positive_int,
        default=None,
        help="evaluate only the first N samples of each benchmark (smoke tests; numbers not comparable)",
    )

    gen = parser.add_argument_group("generation")
    gen.add_argument(
        "--backend",
        choices=["vllm", "hf"],
        default="vllm",
        help="vllm = the original's engine (GPU only); hf = transformers generate (works on CPU) (default: vllm)",
    )
    gen.add_argument(
        "--batch_size",
        type=positive_int,
        default=None,
        help="samples per generate call (default: 64 for vllm as the original's BSZ, 4 for hf)",
    )
    gen.add_argument(
        "--dtype",
        default="auto",
        choices=["auto", "bfloat16", "float16", "float32"],
        help="model dtype (default: auto = the checkpoint's, bfloat16 for Qwen2.5-VL)",
    )
    gen.add_argument(
        "--device",
        default=None,
        help="hf backend only: cpu, cuda, cuda:1 or auto (device_map=auto); default cuda if available else cpu",
    )
    gen.add_argument(
        "--temperature",
        type=float,
        default=0.1,
        help=(
            "sampling temperature, as the original eval_bench.py code (its README says 0.01, but the code "
            "has used 0.1 since the first commit); 0 = greedy (default: 0.1)"
        ),
    )
    gen.add_argument(
        "--top_p", type=float, default=0.001, help="nucleus sampling mass, as the original (default: 0.001)"
    )
    gen.add_argument(
        "--max_new_tokens",
        type=positive_int,
        default=1024,
        help="generated tokens per sample, as the original (default: 1024)",
    )
    gen.add_argument(
        "--seed",
        type=int,
        default=42,
        help="sampling seed: vLLM engine seed / per-batch torch seed (default: 42)",
    )
    gen.add_argument(
        "--video_backend",
        choices=["decord", "pyav"],
        default="decord",
        help="video decoder tried first (the other is the fallback; default: decord, as the original)",
    )
    gen.add_argument(
        "--temporal_rope",
        choices=["sampled_fps", "fixed_2fps"],
        default="sampled_fps",
        help=(
            "temporal M-RoPE spacing: sampled_fps passes the real sampled frame rate (the original's eval "
            "passed fps); fixed_2fps = 1 s per temporal patch as in the original's training (default: sampled_fps)"
        ),
    )
    gen.add_argument(
        "--tensor_parallel_size",
        type=positive_int,
        default=None,
        help="vllm only: GPUs per model (default: all visible GPUs, as the original)",
    )
    gen.add_argument(
        "--max_model_len",
        type=positive_int,
        default=16384,
        help="vllm only: context length, as the original (default: 16384)",
    )
    gen.add_argument(
        "--gpu_memory_utilization",
        type=float,
        default=0.8,
        help="vllm only: fraction of GPU memory for the engine, as the original (default: 0.8)",
    )

    out = parser.add_argument_group("output")
    out.add_argument(
        "--output_dir",
        default=None,
        help=(
            "where results go (default: eval_results/<model folder name>, or eval_results for --check and "
            "--convert_media)"
        ),
    )
    out.add_argument(
        "--compare",
        choices=["original"],
        default=None,
        help="original = show the published Video-R1-7B row for each frame count beside ours in results.md",
    )
    out.add_argument(
        "--retry_errors",
        action="store_true",
        help="on resume, drop the error lines of the results files and generate those samples again",
    )
    out.add_argument(
        "--max_error_fraction",
        type=_fraction,
        default=0.05,
        help=(
            "a benchmark (at one frame count) with more error samples than this fraction, or with every "
            "sample an error, gets no score and the run exits 1; below it, error samples count as 0 as in "
            "the original (default: 0.05)"
        ),
    )
    out.add_argument("--no_progress", action="store_true", help="do not show progress bars")

    check = parser.add_argument_group("media check")
    check.add_argument(
        "--check",
        action="store_true",
        help=(
            "load no model: list missing, empty, truncated or unreadable media of the chosen benchmarks "
            "(a missing file that exists in another container, e.g. .webm, is named as such: see "
            "--convert_media), write {output_dir}/missing_media.txt, exit 1 if anything is missing"
        ),
    )
    check.add_argument(
        "--check_decode",
        action="store_true",
        help="with --check: also decode every file with the eval preset (slow, catches corrupt streams)",
    )
    check.add_argument(
        "--convert_media",
        action="store_true",
        help=(
            "load no model: for every missing media file of the chosen benchmarks that exists beside it "
            "under the same name in another container (e.g. MVBench's ssv2 .webm clips named .mp4 in the "
            "records), write the named file with PyAV (H.264, video only; via a temporary file moved into "
            "place, never half-written), then run --check; exit 1 if anything is still missing"
        ),
    )
    parser.set_defaults(func=run)


def _config(args: argparse.Namespace):
    from video_r1.evaluation.benchmarks import BENCHMARK_NAMES, BENCHMARKS, Benchmark
    from video_r1.evaluation.runner import EvalConfig

    custom: dict[str, Benchmark] = {}
    for name, path in args.benchmark_file:
        if name in custom:
            raise SystemExit(f"video-r1 eval: --benchmark_file {name}= given twice")
        absolute = str(Path(path).resolve())
        if name in BENCHMARKS:
            custom[name] = dataclasses.replace(
                BENCHMARKS[name],
                file=absolute,
                # Registry files keep resolving against the eval dir (or --data_root).
                data_root=None if args.eval_dir is None else str(Path(args.eval_dir).resolve()),
                # The released file's record count says nothing about a replacement file.
                expected_records=None,
            )
        else:
            custom[name] = Benchmark(name, name, file=absolute)
    if args.benchmarks:
        names = [name.strip() for name in args.benchmarks.split(",") if name.strip()]
    elif custom:
        names = list(custom)
    else:
        names = list(BENCHMARK_NAMES)
    if len(set(names)) != len(names):
        raise SystemExit(f"video-r1 eval: --benchmarks lists a name twice: {args.benchmarks}")
    unknown = [name for name in names if name not in BENCHMARKS and name not in custom]
    if unknown:
        raise SystemExit(
            f"video-r1 eval: unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARK_NAMES)} "
            "(or register one with --benchmark_file NAME=PATH)"
        )
    frames = list(dict.fromkeys(args.max_frames))
    output_dir = args.output_dir
    if output_dir is None:
        output_dir = (
            "eval_results"
            if args.check or not args.model_path
            else str(Path("eval_results") / (Path(args.model_path).name or "model"))
        )
    return EvalConfig(
        model_path=args.model_path,
        benchmarks=names,
        output_dir=output_dir,
        eval_dir=args.eval_dir,
        data_root=args.data_root,
        custom_benchmarks=custom,
        max_frames=frames,
        backend=args.backend,
        batch_size=args.batch_size,
        dtype=args.dtype,
        device=args.device,
        limit=args.limit,
        seed=args.seed,
        temperature=args.temperature,
        top_p=args.top_p,
        max_new_tokens=args.max_new_tokens,
        video_backend=args.video_backend,
        temporal_rope=args.temporal_rope,
        tensor_parallel_size=args.tensor_parallel_size,
        max_model_len=args.max_model_len,
        gpu_memory_utilization=args.gpu_memory_utilization,
        retry_errors=args.retry_errors,
        progress=not args.no_progress,
        compare=args.compare,
        max_error_fraction=args.max_error_fraction,
    )


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
    args += ["--benchmarks", ",".join(config.benchmarks)]
    for name, bench in config.custom_benchmarks.items():
        args += ["--benchmark_file", f"{name}={bench.file}"]
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


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.check_decode and not args.check:
        raise SystemExit("video-r1 eval: --check_decode needs --check")
    if args.convert_media and args.check:
        raise SystemExit(
            "video-r1 eval: --convert_media runs the check itself; do not combine it with --check"
        )
    config = _config(args)
    if args.check:
        return _run_check(config, args.check_decode)
    if args.convert_media:
        return _run_convert(config)
    if not args.model_path:
        raise SystemExit(
            "video-r1 eval: --model_name_or_path is required (or use --check to only check media)"
        )
    if not 0 < args.top_p <= 1:
        raise SystemExit(f"video-r1 eval: --top_p must be in (0, 1], got {args.top_p}")
    if args.temperature < 0:
        raise SystemExit(f"video-r1 eval: --temperature must be >= 0, got {args.temperature}")
    if args.device is not None and args.backend == "vllm":
        raise SystemExit(
            "video-r1 eval: --device applies to --backend hf only (vLLM places the model itself)"
        )

    from video_r1.data.records import RecordError
    from video_r1.evaluation.runner import SettingsMismatchError, run_eval
    from video_r1.resumable import ResultsFileError

    try:
        results = run_eval(config)
    except (FileNotFoundError, SettingsMismatchError, RecordError, ResultsFileError) as err:
        print(f"video-r1 eval: {err}", file=sys.stderr)
        return 2
    except ImportError as err:
        if args.backend != "vllm":
            raise
        print(f"video-r1 eval: {err}; on a machine without vLLM use --backend hf", file=sys.stderr)
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
            f"video-r1 eval: FAILED: {len(failures)} benchmark run(s) have no score: " + "; ".join(failures),
            file=sys.stderr,
        )
        return 1
    return 0
