"""The settings of ``video-r1 eval``: one documented dataclass, parsed from ``--config file.yaml`` plus flags."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from video_r1.evaluation.benchmarks import BENCHMARK_NAMES, BENCHMARKS, Benchmark, get_benchmark
from video_r1.generation import GenerationArguments
from video_r1.resumable import check_output_path

#: Default of ``--max_error_fraction``: a benchmark with more error samples than this gets no score.
DEFAULT_MAX_ERROR_FRACTION = 0.05
COMPARE_CHOICES = ("original",)
VISION_PRESETS = ("eval", "train", "tiny")


@dataclass
class EvalConfig(GenerationArguments):
    """Settings of ``video-r1 eval`` (decoding defaults: the original ``eval_bench.py``'s)."""

    # ---- what to evaluate ----------------------------------------------------------------------------
    benchmarks: list[str] | None = field(
        default=None,
        metadata={
            "help": f"Benchmarks to evaluate, space- or comma-separated, among {', '.join(BENCHMARK_NAMES)} and "
            "the names given with --benchmark_file (default: all six, or only the --benchmark_file ones)."
        },
    )
    benchmark_file: list[str] = field(
        default_factory=list,
        metadata={
            "help": "NAME=PATH records files (JSON or JSONL, Video-R1 record format). A new NAME registers a custom "
            "benchmark (headline = mean accuracy; relative paths resolve against --data_root, else the file's "
            "folder); a registry NAME replaces its eval_NAME.json."
        },
    )
    eval_dir: str | None = field(
        default=None,
        metadata={
            "help": "Folder holding eval_{benchmark}.json from the HF dataset Video-R1/Video-R1-eval and the "
            "benchmark videos under ./<Benchmark>/... (the original's src/r1-v/Evaluation)."
        },
    )
    data_root: str | None = field(
        default=None,
        metadata={
            "help": "Folder the records' relative 'path' values resolve against (default: --eval_dir)."
        },
    )
    allow_parent_traversal: bool = field(
        default=False,
        metadata={
            "help": "Accept relative media paths whose '..' steps climb out of the data root ('../../x.mp4'); "
            "by default such a sample is an error naming the record. Absolute paths and symlinked media folders are "
            "always accepted. Old name: --allow_outside_data_root (deprecated).",
            "aliases": ["--allow_outside_data_root", "--allow-outside-data-root"],
        },
    )
    vision_preset: str | None = field(
        default=None,
        metadata={
            "help": "How frames are decoded: eval (256*28*28 px per frame, the paper's evaluation), train "
            "(128*28*28 px, 16 frames) or tiny (the CPU demo's small clips). Default: the preset the checkpoint "
            "was trained with when its run recorded one (video_r1_run.json; a 'train' run is evaluated with "
            "eval, as in the paper), else eval; the choice is printed.",
            "choices": ["eval", "train", "tiny"],
        },
    )
    max_frames: list[int] | None = field(
        default=None,
        metadata={
            "help": "Frame counts to evaluate at (the paper: 16 32 64); frames are sampled at 2 fps up to this "
            "many (default: the frame cap of the vision preset, 32 for eval, or the one the checkpoint "
            "recorded)."
        },
    )
    limit: int | None = field(
        default=None,
        metadata={
            "help": "Evaluate only the first N samples of each benchmark (smoke tests; not comparable)."
        },
    )
    # ---- output --------------------------------------------------------------------------------------
    output_dir: str | None = field(
        default=None,
        metadata={
            "help": "Where results go (default: eval_results/<model folder name>, or eval_results for --check "
            "and --convert_media).",
            "aliases": ["--out"],
        },
    )
    compare: str | None = field(
        default=None,
        metadata={
            "help": "original: show the published Video-R1-7B row for each frame count beside ours.",
            "choices": list(COMPARE_CHOICES),
        },
    )
    max_error_fraction: float = field(
        default=DEFAULT_MAX_ERROR_FRACTION,
        metadata={
            "help": "A benchmark (at one frame count) with more error samples than this fraction, or with every "
            "sample an error, gets no score and the run exits 1; below it, error samples count as 0 as in the "
            "original."
        },
    )
    # ---- media check ---------------------------------------------------------------------------------
    check: bool = field(
        default=False,
        metadata={
            "help": "Load no model: list missing, empty, truncated or unreadable media of the chosen benchmarks "
            "(a missing file present in another container, e.g. .webm, is named as such: see --convert_media), "
            "write {output_dir}/missing_media.txt, exit 1 if anything is missing."
        },
    )
    check_decode: bool = field(
        default=False,
        metadata={
            "help": "With --check: also decode every file with the eval preset (slow; finds corrupt streams)."
        },
    )
    convert_media: bool = field(
        default=False,
        metadata={
            "help": "Load no model: write every missing media file of the chosen benchmarks that exists under the "
            "same name in another container (e.g. MVBench's .webm clips named .mp4 in the records) with PyAV "
            "(H.264, video only, through a temporary file, never half-written), then run --check."
        },
    )
    # ---- decoding defaults of the original eval_bench.py ---------------------------------------------
    temperature: float = field(
        default=0.1,
        metadata={
            "help": "Sampling temperature, as the original eval_bench.py code (its README says 0.01; the code has "
            "used 0.1 since the first commit); 0 = greedy."
        },
    )
    top_p: float = field(default=0.001, metadata={"help": "Nucleus sampling mass, as the original."})
    max_new_tokens: int = field(
        default=1024, metadata={"help": "Generated tokens per sample, as the original."}
    )
    seed: int | None = field(
        default=42, metadata={"help": "Sampling seed (vLLM engine seed / per-batch torch seed)."}
    )
    batch_size: int | None = field(
        default=None,
        metadata={
            "help": "Samples per generate call (default: 64 with vllm, the original's BSZ; 4 with hf)."
        },
    )
    max_model_len: int = field(
        default=16384, metadata={"help": "vllm backend: context length, as the original."}
    )
    # ---- derived -------------------------------------------------------------------------------------
    custom_benchmarks: dict[str, Benchmark] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.custom_benchmarks = {}
        for spec in self.benchmark_file:
            name, sep, path = str(spec).partition("=")
            name, path = name.strip(), path.strip()
            if not sep or not name or not path:
                raise ValueError(f"benchmark_file: expected NAME=PATH, got {spec!r}")
            if name in self.custom_benchmarks:
                raise ValueError(f"benchmark_file: {name}= given twice")
            absolute = str(Path(path).resolve())
            if name in BENCHMARKS:
                self.custom_benchmarks[name] = dataclasses.replace(
                    BENCHMARKS[name],
                    file=absolute,
                    # registry files keep resolving against the eval dir (or --data_root)
                    data_root=None if self.eval_dir is None else str(Path(self.eval_dir).resolve()),
                    expected_records=None,  # the released file's count says nothing about a replacement
                )
            else:
                self.custom_benchmarks[name] = Benchmark(name, name, file=absolute)
        if self.benchmarks:
            names = [n.strip() for item in self.benchmarks for n in str(item).split(",") if n.strip()]
        elif self.custom_benchmarks:
            names = list(self.custom_benchmarks)
        else:
            names = list(BENCHMARK_NAMES)
        if len(set(names)) != len(names):
            raise ValueError(f"benchmarks lists a name twice: {' '.join(names)}")
        unknown = [n for n in names if n not in BENCHMARKS and n not in self.custom_benchmarks]
        if unknown:
            raise ValueError(
                f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARK_NAMES)} (or register one "
                "with --benchmark_file NAME=PATH)"
            )
        self.benchmarks = names
        if self.vision_preset is not None and self.vision_preset not in VISION_PRESETS:
            raise ValueError(f"vision_preset must be one of {VISION_PRESETS}, got {self.vision_preset!r}")
        no_model = self.check or self.convert_media or not self.model_name_or_path
        self.vision_preset, recorded_frames = (
            (self.vision_preset or "eval", None)
            if no_model
            else self.recorded_vision(self.vision_preset, "eval")
        )
        if self.max_frames is None:
            from video_r1.data.vision import get_preset

            self.max_frames = [recorded_frames or get_preset(self.vision_preset).max_frames]
        bad = [f for f in self.max_frames if int(f) < 2 or int(f) % 2]
        if bad or not self.max_frames:
            raise ValueError(f"max_frames must be even numbers >= 2, got {self.max_frames}")
        self.max_frames = list(dict.fromkeys(int(f) for f in self.max_frames))
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")
        if not 0.0 <= self.max_error_fraction <= 1.0:
            raise ValueError(f"max_error_fraction must be in [0, 1], got {self.max_error_fraction}")
        if self.compare is not None and self.compare not in COMPARE_CHOICES:
            raise ValueError(f"compare must be one of {COMPARE_CHOICES}, got {self.compare!r}")
        if self.check_decode and not self.check:
            raise ValueError("check_decode needs --check")
        if self.convert_media and self.check:
            raise ValueError("--convert_media runs the check itself; do not combine it with --check")
        check_output_path(self.output_dir)
        if self.output_dir is None:
            self.output_dir = (
                "eval_results"
                if no_model
                else str(Path("eval_results") / (Path(self.model_name_or_path).name or "model"))
            )

    def effective_batch_size(self) -> int:
        """``batch_size``, or the default of the backend: 64 for vLLM (the original's BSZ), 4 for HF."""
        if self.batch_size is not None:
            return self.batch_size
        return 64 if self.backend == "vllm" else 4

    def benchmark(self, name: str) -> Benchmark:
        return get_benchmark(name, self.custom_benchmarks)
