"""``video_r1_run.json``: the media settings a checkpoint was trained with, written beside the model.

TRL pickles the whole training config to ``training_args.bin``, which needs torch and TRL (and the same
classes) to read back. Both trainers also write this small JSON file wherever they save a model (the final
``output_dir`` and every ``checkpoint-*``), so ``video-r1 eval`` and ``video-r1 annotate`` can decode a
checkpoint's media the way it was trained (e.g. the demo's ``tiny`` preset) without the user repeating it::

    {"vision_preset": "tiny", "max_frames": null, "temporal_rope": "sampled_fps", "video_backend": null,
     "trainer": "TGRPOTrainer", "video_r1_version": "0.1.0"}

A LoRA adapter folder gets the same file (it is saved by the same ``save_model``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

# The reader lives with the commands that use it (eval and annotate must not import the trainers and TRL).
from video_r1.generation import RUN_RECORD_NAME, read_run_record

__all__ = ["RECORDED_FIELDS", "RUN_RECORD_NAME", "read_run_record", "write_run_record"]
#: The training settings recorded (fields of ``MediaConfigMixin``).
RECORDED_FIELDS = ("vision_preset", "max_frames", "temporal_rope", "video_backend")


def write_run_record(output_dir: str | os.PathLike[str], args: Any, trainer: str) -> Path:
    """Write :data:`RUN_RECORD_NAME` into ``output_dir`` from the training config ``args``."""
    from video_r1 import __version__

    record = {name: getattr(args, name, None) for name in RECORDED_FIELDS}
    record.update(trainer=trainer, video_r1_version=__version__)
    path = Path(output_dir) / RUN_RECORD_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
