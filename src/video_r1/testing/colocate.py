"""A T-GRPO trainer on TRL's vLLM colocate path without a GPU: only vLLM's engine core is stood in for.

``colocate_trainer`` builds :class:`~video_r1.trainers.TGRPOTrainer` with ``use_vllm=True,
vllm_mode="colocate"``. Everything runs as on a GPU machine - TRL's own ``VLLMGeneration`` is constructed
from the trainer's config, syncs the weights and builds the prompts; the trainer's
:class:`~video_r1.vllm.colocate.MediaAwareLLM` rewrites them - except ``vllm.LLM`` itself, which TRL's module
is given as :class:`StandInEngine`: it records the requests and the synced weight names and answers with
fixed completions. A ``process`` callback (used in ``.venv-vllm``) runs each request through vLLM's real
input processing first.

For tests only; the GPU smoke recipe (``scripts/gpu_smoke.sh``) runs the real engine.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

_LAUNCH_ENV = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


class StandInEngine:
    """Stands in for ``vllm.LLM`` (the part that needs a GPU): records prompts, answers fixed completions."""

    def __init__(
        self, completions: Sequence[Sequence[int]], process: Callable[[dict, Any], Any] | None = None
    ):
        self.completions = [list(c) for c in completions]
        self.process = process
        self.engine_args: dict[str, Any] = {}
        self.prompts: list[dict[str, Any]] = []
        self.processed: list[Any] = []
        self.sampling_params: list[Any] = []
        self.calls = 0
        self.loaded_weights: set[str] = set()
        # TRL's colocate weight sync reaches the model through this attribute path
        self.llm_engine = SimpleNamespace(
            model_executor=SimpleNamespace(
                driver_worker=SimpleNamespace(model_runner=SimpleNamespace(model=self))
            )
        )

    def __call__(self, **engine_args: Any) -> StandInEngine:
        """Used as ``vllm.LLM``: keeps the arguments TRL built the engine with."""
        self.engine_args = engine_args
        return self

    def load_weights(self, weights) -> None:
        self.loaded_weights.update(name for name, _ in weights)

    def reset_prefix_cache(self) -> None:
        pass

    def sleep(self, level: int = 1) -> None:  # vllm_enable_sleep_mode
        self.sleeps = getattr(self, "sleeps", 0) + 1

    def wake_up(self, tags=None) -> None:
        pass

    def generate(self, prompts, sampling_params=None, use_tqdm=False):
        self.calls += 1
        outputs = []
        for prompt in prompts:
            ids = self.completions[len(self.prompts) % len(self.completions)]
            self.prompts.append(prompt)
            self.sampling_params.append(sampling_params)
            if self.process is not None:
                self.processed.append(self.process(prompt, sampling_params))
            logprobs = [{t: SimpleNamespace(rank=1, logprob=-0.5)} for t in ids]
            seq = SimpleNamespace(token_ids=list(ids), logprobs=logprobs)
            outputs.append(SimpleNamespace(prompt_token_ids=prompt["prompt_token_ids"], outputs=[seq]))
        return outputs


def colocate_trainer(
    monkeypatch,
    model: str,
    dataset,
    engine: StandInEngine,
    *,
    reward_funcs=None,
    args=None,
    peft_config=None,
    **config: Any,
):
    """A :class:`~video_r1.trainers.TGRPOTrainer` in TRL's colocate mode whose ``vllm.LLM`` is ``engine``.

    ``monkeypatch`` is pytest's fixture (TRL's module-level ``LLM`` is replaced for the test only; where vLLM
    is not installed, ``SamplingParams`` becomes ``dict`` and the availability check passes). Pass a
    :class:`~video_r1.trainers.TGRPOConfig` with ``use_vllm=True`` as ``args``, or its fields as ``config``;
    ``peft_config`` trains a LoRA adapter (TRL merges it into the weights it syncs).
    """
    import trl.generation.vllm_generation as vllm_generation
    from trl.import_utils import is_vllm_available

    from video_r1.trainers import TGRPOConfig, TGRPOTrainer

    if not is_vllm_available():
        monkeypatch.setattr(vllm_generation, "is_vllm_available", lambda: True)
        monkeypatch.setattr(vllm_generation, "SamplingParams", dict, raising=False)
    monkeypatch.setattr(vllm_generation, "LLM", engine, raising=False)
    if args is None:
        args = TGRPOConfig(use_vllm=True, vllm_mode="colocate", **config)
    elif config or not (args.use_vllm and args.vllm_mode == "colocate"):
        raise ValueError("pass either args (with use_vllm=True, vllm_mode='colocate') or config fields")
    # TRL's colocate set-up writes RANK / LOCAL_RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT into os.environ
    # (for vLLM's launcher). Left behind, they would make every later trainer of the test process initialise
    # torch.distributed; the stand-in engine does not need them.
    saved = {name: os.environ.get(name) for name in _LAUNCH_ENV}
    try:
        return TGRPOTrainer(
            model=model, reward_funcs=reward_funcs, args=args, train_dataset=dataset, peft_config=peft_config
        )
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
