"""Batched generation over Video-R1 records with per-sample errors, on HF ``generate`` or vLLM.

Evaluation and CoT annotation both turn records into completions: build the conversation
(:func:`video_r1.prompts.build_conversation`), decode the record's media with a vision preset, apply the
chat template and generate. The original did this inline with vLLM and, when anything in a batch failed
(one unreadable video), replaced the *whole batch* with ``"<answer>error</answer>"``. Here every sample
gets its own :class:`GenerationResult`: a sample whose media or prompt cannot be built carries an
``error`` and no ``output``, and its batch neighbours are generated as usual. When the model call itself
fails for a batch, its samples are retried one by one so that only the sample that really fails gets an
error.

Two backends with one interface (:func:`load_backend`, configured by one :class:`BackendOptions`):

- :class:`HFBackend`: ``transformers`` ``AutoModelForImageTextToText.generate``, batched with left
  padding, any device and dtype (the CPU path, tests, and small GPU runs);
- :class:`VLLMBackend`: ``vllm.LLM`` (GPU only, imported lazily), the original's engine; requests are built
  by :func:`build_vllm_requests` from the same decoded frames the HF path uses (see
  :mod:`video_r1.vllm.requests`).

Both expose ``generate(requests) -> list[GenerationResult]`` (same order), ``iter_generate(requests)``
(yields results as each batch finishes, with a progress bar showing samples/s) and ``close()``. Media of
the next batch is decoded in a background thread while the current batch generates.

Sampling: ``temperature == 0`` is greedy. Sampling uses exactly ``temperature`` and ``top_p``: the
checkpoint's own ``generation_config`` defaults (Qwen2.5-VL ships ``top_k=1`` and
``repetition_penalty=1.05``) are overridden with ``top_k`` off and no repetition penalty, because the
original passed explicit ``SamplingParams`` to vLLM, which ignore the checkpoint's defaults.

Modules: :mod:`.requests` (what one sample is: requests, results, prompt building and media decoding) and
:mod:`.backends` (the two engines behind one interface).
"""

from video_r1.inference.backends import (
    BACKENDS,
    VLLM_INSTALL_HINT,
    BackendOptions,
    HFBackend,
    VLLMBackend,
    check_vllm_model,
    import_vllm,
    load_backend,
    vllm_sampling_kwargs,
    vllm_sampling_params,
)
from video_r1.inference.requests import (
    GenerationRequest,
    GenerationResult,
    PreparedSample,
    SamplingConfig,
    build_vllm_requests,
    chat_prompt,
    format_error,
    prepare_sample,
)
from video_r1.models.qwen2_5_vl import vision_placeholder_ids

__all__ = [
    "BACKENDS",
    "VLLM_INSTALL_HINT",
    "BackendOptions",
    "GenerationRequest",
    "GenerationResult",
    "HFBackend",
    "PreparedSample",
    "SamplingConfig",
    "VLLMBackend",
    "build_vllm_requests",
    "chat_prompt",
    "check_vllm_model",
    "format_error",
    "import_vllm",
    "load_backend",
    "prepare_sample",
    "vision_placeholder_ids",
    "vllm_sampling_kwargs",
    "vllm_sampling_params",
]
