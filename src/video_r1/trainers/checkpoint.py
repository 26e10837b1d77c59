"""Resuming from a checkpoint folder with the model's own key mapping.

transformers 5.x saves Qwen2.5-VL weights under the Hub checkpoint's key names (``model.layers.*``,
``visual.*``) while the module tree uses ``model.language_model.*`` / ``model.visual.*``.
``Trainer._load_from_checkpoint`` (5.17) loads the file with a plain non-strict ``load_state_dict``, so on
resume *no* weight is restored - only a "missing keys" warning is logged and training silently continues
from the initial weights. :class:`ResumeWithKeyMappingMixin` reloads the checkpoint through
``from_pretrained`` (which applies the key mapping) and copies the weights in strictly. DeepSpeed, FSDP and
PEFT resumes keep transformers' own paths (their checkpoints are not affected: a LoRA checkpoint holds
``adapter_model.safetensors`` under the module tree's names, which ``load_adapter`` restores;
``tests/trainers/test_lora.py`` checks that a resumed LoRA run continues from the saved adapter).
"""

from __future__ import annotations

import os

from transformers.utils import SAFE_WEIGHTS_INDEX_NAME, SAFE_WEIGHTS_NAME


class ResumeWithKeyMappingMixin:
    def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
        model = self.model if model is None else model
        has_weights = any(
            os.path.isfile(os.path.join(resume_from_checkpoint, name))
            for name in (SAFE_WEIGHTS_NAME, SAFE_WEIGHTS_INDEX_NAME)
        )
        special = self.is_deepspeed_enabled or self.is_fsdp_enabled or hasattr(model, "peft_config")
        if special or not has_weights:
            return super()._load_from_checkpoint(resume_from_checkpoint, model=model)
        dtype = next(model.parameters()).dtype
        saved = type(model).from_pretrained(resume_from_checkpoint, dtype=dtype)
        model.load_state_dict(saved.state_dict(), strict=True)
        del saved
