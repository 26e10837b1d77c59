"""A training run's output folder: never two runs mixed in one, resumed only with the full training state.

Two ways a user silently got something other than what they asked for:

* **a folder that already holds a run.** Training again into it overwrote the final model and some
  checkpoints and kept others, so the folder mixed two runs (and ``video-r1 plot`` drew the old run's curves
  beside the new weights). :class:`RunFolderMixin` refuses such a folder unless the run resumes it
  (``--resume_from_checkpoint last``) or ``--overwrite_output_dir true`` starts over (its checkpoints and
  final model files are deleted first).
* **a checkpoint that holds the model only** (``save_only_model: true``, as the SFT recipe writes). Resuming
  from it restored the weights but restarted AdamW and the LR schedule: a different run than the one asked
  for. Such a resume is refused with what to do instead.

``--resume_from_checkpoint`` also takes ``last`` (or ``latest`` / ``true``): the newest ``checkpoint-*`` of
``output_dir``.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from video_r1.errors import UserError
from video_r1.trainers.run_record import write_run_record

logger = logging.getLogger(__name__)

#: Files a finished or checkpointed run leaves in its output folder.
RUN_FILES = (
    "trainer_state.json",
    "training_args.bin",
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "adapter_config.json",
    "adapter_model.safetensors",
    "video_r1_run.json",
)
#: Values of ``--resume_from_checkpoint`` that mean "the newest checkpoint of output_dir".
RESUME_LAST = ("last", "latest", "true")
OPTIMIZER_FILES = ("optimizer.pt", "optimizer.bin", "optimizer.safetensors")


def existing_run(output_dir: str | os.PathLike[str]) -> list[str]:
    """Names of the checkpoints and run files already in ``output_dir`` (empty: no run there)."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return []
    checkpoints = sorted(p.name for p in folder.glob("checkpoint-*") if p.is_dir())
    files = [name for name in RUN_FILES if (folder / name).exists()]
    return checkpoints + files


def resolve_resume(value, output_dir: str | os.PathLike[str]) -> str | None:
    """The checkpoint folder to resume from, or ``None`` for a fresh run; refuses what cannot be resumed."""
    if value is None or value is False or (isinstance(value, str) and value.lower() in ("", "false", "none")):
        return None
    if value is True or str(value).lower() in RESUME_LAST:
        from transformers.trainer_utils import get_last_checkpoint

        last = get_last_checkpoint(str(output_dir)) if Path(output_dir).is_dir() else None
        if last is None:
            raise UserError(
                f"--resume_from_checkpoint {value}: {output_dir} holds no checkpoint-* folder to resume from"
            )
        path = last
    else:
        path = os.fspath(value)
        if not Path(path).is_dir():
            raise UserError(f"--resume_from_checkpoint {path}: no such checkpoint folder")
    check_full_state(path)
    return path


def check_full_state(checkpoint: str | os.PathLike[str]) -> None:
    """Refuse a checkpoint that cannot continue the run exactly (no trainer state, or no optimizer state)."""
    folder = Path(checkpoint)
    if not (folder / "trainer_state.json").is_file():
        raise UserError(f"{folder} has no trainer_state.json: not a training checkpoint to resume from")
    has_optimizer = any((folder / name).is_file() for name in OPTIMIZER_FILES) or any(
        folder.glob("global_step*")
    )
    if not has_optimizer:
        raise UserError(
            f"{folder} holds the model only (saved with save_only_model: true): resuming from it would restart "
            "the optimizer (AdamW moments) and the LR schedule, so the run would not continue as it was. Resume "
            "from a checkpoint saved with save_only_model: false, or start a new run from these weights with "
            f"--model_name_or_path {folder} and a new --output_dir"
        )


def clear_run(output_dir: str | os.PathLike[str], names: list[str]) -> None:
    """Delete the checkpoints and run files ``names`` of ``output_dir`` (``--overwrite_output_dir``)."""
    folder = Path(output_dir)
    for name in names:
        target = folder / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    logger.warning("overwrite_output_dir: deleted the previous run's %s from %s", ", ".join(names), folder)


class RunFolderMixin:
    """Trainer mixin: checks the output folder and the checkpoint before ``train`` (see the module); every
    ``save_model`` (final model and checkpoints) also writes ``video_r1_run.json`` (:mod:`.run_record`)."""

    def save_model(self, output_dir=None, _internal_call=False):
        super().save_model(output_dir, _internal_call)
        if self.args.should_save:
            write_run_record(output_dir or self.args.output_dir, self.args, type(self).__name__)

    def train(self, resume_from_checkpoint=None, *args, **kwargs):
        output_dir = self.args.output_dir
        resume = resolve_resume(resume_from_checkpoint, output_dir)
        if resume is None:
            found = existing_run(output_dir)
            if found and not getattr(self.args, "overwrite_output_dir", False):
                shown = ", ".join(found[:4]) + (", ..." if len(found) > 4 else "")
                raise UserError(
                    f"{output_dir} already holds a run ({shown}); resume it with --resume_from_checkpoint last, "
                    "start over with --overwrite_output_dir true (deletes those), or choose another --output_dir"
                )
            if found:
                if self.accelerator.is_main_process:
                    clear_run(output_dir, found)
                self.accelerator.wait_for_everyone()
        batches = len(self.get_train_dataloader())
        if batches == 0:
            size = len(self.train_dataset) if self.train_dataset is not None else 0
            raise UserError(
                f"the training set has {size} record(s), fewer than one batch "
                f"(per_device_train_batch_size={self.args.per_device_train_batch_size} rows per process): the run "
                "would train nothing; add records or lower the per-device batch"
            )
        return super().train(resume, *args, **kwargs)
