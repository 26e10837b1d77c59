"""Pieces shared by the training subcommands (``video-r1 grpo``, ``video-r1 sft``)."""

from __future__ import annotations

import os
import sys
from typing import Any


def apply_model_init_args(script_args: Any, training_args: Any) -> None:
    """Fold the script's ``dtype`` / ``attn_implementation`` into ``training_args.model_init_kwargs``."""
    init_kwargs = dict(training_args.model_init_kwargs or {})
    if script_args.dtype:
        init_kwargs["dtype"] = script_args.dtype
    if script_args.attn_implementation:
        init_kwargs["attn_implementation"] = script_args.attn_implementation
    training_args.model_init_kwargs = init_kwargs or None


def end_distributed_run() -> None:
    """End a multi-process run with ``os._exit(0)`` once every rank has finished writing; no-op otherwise.

    On CPU (gloo, torchrun and DeepSpeed alike) a finished run's non-main rank was seen aborting in
    interpreter teardown ("terminate called without an active exception", SIGABRT) about one run in four,
    turning a completed training into a failed job. The root cause (a native thread destroyed while
    joinable) is not identified; everything is saved and synchronised before the exit.
    """
    import torch.distributed as dist

    # Only a launched multi-process job (never an in-process call that happens to find a 1-process group).
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.barrier()
        dist.destroy_process_group()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
