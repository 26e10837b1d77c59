"""Benchmark evaluation of Video-R1 checkpoints: registry, scoring, runner and reports.

- :mod:`~video_r1.evaluation.scoring`: per-sample ``score(output, solution, problem_type)`` (the original
  ``eval_bench.py`` rules), ``mean_relative_accuracy`` and per-benchmark aggregates.
- :mod:`~video_r1.evaluation.benchmarks`: the six benchmarks of the paper and its published numbers.
- :mod:`~video_r1.evaluation.runner`: resumable generate -> score -> aggregate loop (``video-r1 eval``).
- :mod:`~video_r1.evaluation.report`: ``results.json`` / ``results.md``.
- :mod:`~video_r1.evaluation.check`: ``video-r1 eval --check`` (missing or unreadable media).

Only the scoring module is imported here; the others import torch/transformers lazily when run.
"""

from video_r1.evaluation.scoring import aggregate, extract_prediction, mean_relative_accuracy, score

__all__ = ["aggregate", "extract_prediction", "mean_relative_accuracy", "score"]
