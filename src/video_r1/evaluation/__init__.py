"""Benchmark evaluation of Video-R1 checkpoints: registry, scoring, runner and reports.

- :mod:`~video_r1.evaluation.scoring`: per-sample ``score(output, solution, problem_type)`` (the original
  ``eval_bench.py`` rules), ``mean_relative_accuracy`` and the paper-comparable aggregates.
- :mod:`~video_r1.evaluation.official`: the benchmarks' own metrics, reported beside the paper-comparable
  ones (VSI-Bench's 8-category mean with its per-sample rules, MVBench per task, VideoMME per duration).
- :mod:`~video_r1.evaluation.benchmarks`: the six benchmarks of the paper and its published numbers.
- :mod:`~video_r1.evaluation.samples`: a benchmark's records, checked one by one.
- :mod:`~video_r1.evaluation.runner`: resumable generate -> score -> aggregate loop (``video-r1 eval``).
- :mod:`~video_r1.evaluation.report`: ``results.json`` / ``results.md`` (formatting only).
- :mod:`~video_r1.evaluation.check`: ``video-r1 eval --check`` (missing or unreadable media).
- :mod:`~video_r1.evaluation.convert`: ``video-r1 eval --convert_media`` (e.g. MVBench's ``.webm`` clips).

Imports go one way: runner -> samples/scoring/official -> benchmarks; report and check import no runner.

Only the scoring module is imported here; the others import torch/transformers lazily when run.
"""

from video_r1.evaluation.scoring import aggregate, extract_prediction, mean_relative_accuracy, score

__all__ = ["aggregate", "extract_prediction", "mean_relative_accuracy", "score"]
