"""Errors that are the user's to fix, told apart from bugs.

Every error raised because of the user's input - a malformed record, unusable media, a model path that is
not a Qwen2.5-VL checkpoint, a results file from another run - derives from :class:`UserError`. Its message
says what is wrong, where (file, line, record, flag) and what to do; ``video-r1`` prints it as one line
``video-r1 <cmd>: error: ...`` and exits 1 (``--debug`` shows the traceback). Any other exception is a bug and
keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake in the user's data, media, paths or settings (see the module docstring)."""


class UsageError(UserError, ValueError):
    """A setting is wrong (a flag, a --config value, an argument): ``video-r1`` exits 2 for it."""


class MissingFileError(UserError, FileNotFoundError):
    """An input file (records, benchmark file, run state) that does not exist."""


class ModelPathError(UserError, ValueError):
    """The model path is missing, not a checkpoint, or not a Qwen2.5-VL model."""


class PromptTooLongError(UserError, ValueError):
    """A prompt (GRPO) or a training record (SFT) has more tokens than ``max_prompt_length`` / ``max_length``
    allows (never truncated: cutting vision tokens breaks the forward)."""


class UnknownRewardError(UserError, ValueError):
    """A ``reward_funcs`` name that is neither a registered reward nor an importable ``module:function``."""
