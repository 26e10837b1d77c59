"""The two generation engines behind one interface: HF ``generate`` (any device) and ``vllm.LLM`` (GPU)."""

from __future__ import annotations

import dataclasses
import logging
import time
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from video_r1.data.collate import build_processor_inputs
from video_r1.data.vision import TEMPORAL_ROPE_MODES, VisionPreset, get_preset, to_video_metadata
from video_r1.errors import ModelPathError
from video_r1.inference.requests import (
    GenerationRequest,
    GenerationResult,
    PreparedSample,
    SamplingConfig,
    build_vllm_requests,
    format_error,
    prepare_sample,
)
from video_r1.models.family import QWEN2_5_VL, ModelFamily, family_for
from video_r1.models.qwen2_5_vl import (
    adapter_base,
    check_model_path,
    load_model,
    merge_command,
    processor_path,
)

logger = logging.getLogger(__name__)

BACKENDS = ("hf", "vllm")
VLLM_INSTALL_HINT = "vLLM is not installed (it is GPU-only); install the GPU stack: bash setup.sh --gpu"


@dataclass(frozen=True)
class BackendOptions:
    """What every backend needs besides the model: the media settings (one resolved
    :class:`~video_r1.data.vision.VisionPreset`, video decoder included), sampling, batch size, dtype and the
    temporal positions mode. ``preset`` may be given by name; it is resolved once here."""

    preset: VisionPreset | str
    sampling: SamplingConfig
    batch_size: int = 8
    dtype: str = "auto"
    temporal_rope: str = "sampled_fps"

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.temporal_rope not in TEMPORAL_ROPE_MODES:
            raise ValueError(
                f"temporal_rope must be one of {TEMPORAL_ROPE_MODES}, got {self.temporal_rope!r}"
            )
        object.__setattr__(self, "preset", get_preset(self.preset))

    def replace(self, **changes: Any) -> BackendOptions:
        return dataclasses.replace(self, **changes)


def _batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class _Backend:
    """Shared batching, background decoding, progress and per-sample error handling.

    ``family`` (:func:`~video_r1.models.family.family_for` of the model) sets the preset's ``size_factor``:
    frames and images are sized in multiples of 28 for Qwen2.5-VL (as the presets are), 32 for Qwen3-VL.
    """

    name = "base"

    def __init__(
        self,
        processor,
        options: BackendOptions,
        *,
        family: ModelFamily | None = None,
        decode_workers: int = 1,
        max_prompt_length: int | None = None,
    ) -> None:
        self.processor = processor
        self.family = family
        #: Written by the chat template's generation prompt, part of the reply (Qwen3.5: the opening think
        #: tag): put in front of every output, so scoring and CoT annotation see the whole reply.
        self.reply_prefix = family.reply_prefix(processor) if family is not None else ""
        if family is not None and options.preset.size_factor != family.size_factor:
            options = options.replace(preset=get_preset(options.preset, size_factor=family.size_factor))
        self.options = options
        self.preset: VisionPreset = options.preset
        self.sampling = options.sampling
        self.batch_size = options.batch_size
        self.temporal_rope = options.temporal_rope
        self.max_prompt_length = max_prompt_length
        self._pool: ThreadPoolExecutor | None = ThreadPoolExecutor(
            max_workers=max(1, decode_workers), thread_name_prefix="video-r1-decode"
        )

    # -- to implement ------------------------------------------------------------------------------

    def _generate_prepared(self, samples: Sequence[PreparedSample]) -> list[tuple[str, int]]:
        """(text, num_tokens) per sample; may raise for the whole batch."""
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------------

    def _prepare_batch(
        self, requests: Sequence[GenerationRequest]
    ) -> list[PreparedSample | GenerationResult]:
        # Runs in the decode thread. It only renders the chat template (tokenize=False, no Rust tokenizer
        # call) and decodes media, so it does not race with the processor call of the batch being generated.
        return [prepare_sample(r, self.processor, self.preset) for r in requests]

    def _run_batch(self, prepared: Sequence[PreparedSample | GenerationResult]) -> list[GenerationResult]:
        prepared = [self._check_length(p) if isinstance(p, PreparedSample) else p for p in prepared]
        results: list[GenerationResult | None] = [
            p if isinstance(p, GenerationResult) else None for p in prepared
        ]
        ready = [(i, p) for i, p in enumerate(prepared) if isinstance(p, PreparedSample)]
        if ready:
            samples = [p for _, p in ready]
            try:
                outputs = self._generate_prepared(samples)
            except Exception as err:
                if len(samples) == 1:
                    outputs = [err]
                else:
                    logger.warning(
                        "%s: batch of %d failed (%s); retrying its samples one by one",
                        self.name,
                        len(samples),
                        format_error(err),
                    )
                    outputs = []
                    for sample in samples:
                        try:
                            outputs.append(self._generate_prepared([sample])[0])
                        except Exception as single_err:
                            outputs.append(single_err)
            for (index, sample), out in zip(ready, outputs, strict=True):
                if isinstance(out, BaseException):
                    logger.warning("sample %s: generation failed: %s", sample.key, format_error(out))
                    results[index] = GenerationResult(
                        key=sample.key, output=None, error=format_error(out), sample_fps=sample.sample_fps
                    )
                else:
                    text, num_tokens = out
                    results[index] = GenerationResult(
                        key=sample.key,
                        output=self.reply_prefix + text,
                        num_tokens=num_tokens,
                        sample_fps=sample.sample_fps,
                    )
        return [r for r in results if r is not None]

    def _check_length(self, sample: PreparedSample) -> PreparedSample | GenerationResult:
        """A prompt (text + vision tokens) over ``max_prompt_length`` is the sample's error, not a run-long stall."""
        if self.max_prompt_length is None:
            return sample
        # the family's count (Qwen3-VL: timestamp text, per-patch vision tags, enlarged images); without a
        # family, Qwen2.5-VL's, as everywhere else in the backends. Main thread: no tokenizer race.
        family = self.family or QWEN2_5_VL
        metadata = (
            [to_video_metadata(sample.media["video_metadata"], self.temporal_rope)]
            if sample.media["type"] == "video"
            else []
        )
        length = family.prompt_length(self.processor, sample.text, [sample.media], metadata)
        if length <= self.max_prompt_length:
            return sample
        error = (
            f"PromptTooLong: problem_id={sample.info.get('problem_id')} ({sample.info.get('path')}): the prompt has "
            f"{length} tokens (text + vision), more than max_prompt_length={self.max_prompt_length}"
        )
        logger.warning("sample %s: %s", sample.key, error)
        return GenerationResult(key=sample.key, output=None, error=error, sample_fps=sample.sample_fps)

    def iter_generate(
        self, requests: Sequence[GenerationRequest], progress: bool | str = True
    ) -> Iterator[GenerationResult]:
        """Yield results batch by batch, in request order, as each batch finishes.

        ``progress`` is ``False`` (no bar), ``True`` or a description string for the tqdm bar (samples/s).
        Media of batch ``i+1`` is decoded in the background while batch ``i`` generates.
        """
        from tqdm.auto import tqdm

        if self._pool is None:
            raise RuntimeError(f"{type(self).__name__} is closed")
        requests = list(requests)
        keys = [r.key for r in requests]
        if len(set(keys)) != len(keys):
            dup = next(k for k in keys if keys.count(k) > 1)
            raise ValueError(f"request keys must be unique; {dup!r} appears more than once")
        batches = _batches(requests, self.batch_size)
        bar = tqdm(
            total=len(requests),
            desc=progress if isinstance(progress, str) else self.name,
            unit="sample",
            disable=not progress,
            dynamic_ncols=True,
        )
        try:
            pending: Future | None = self._pool.submit(self._prepare_batch, batches[0]) if batches else None
            for index in range(len(batches)):
                prepared = pending.result()
                pending = (
                    self._pool.submit(self._prepare_batch, batches[index + 1])
                    if index + 1 < len(batches)
                    else None
                )
                start = time.perf_counter()
                results = self._run_batch(prepared)
                errors = sum(r.error is not None for r in results)
                logger.debug(
                    "%s: batch %d/%d (%d samples, %d errors) in %.1f s",
                    self.name,
                    index + 1,
                    len(batches),
                    len(results),
                    errors,
                    time.perf_counter() - start,
                )
                bar.update(len(results))
                yield from results
        finally:
            bar.close()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        """Results for ``requests``, in the same order (no progress bar)."""
        return list(self.iter_generate(requests, progress=False))

    def close(self) -> None:
        """Stop the decoding thread and release the model."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class HFBackend(_Backend):
    """``transformers`` generation: batched, left padded, on any device and dtype.

    ``device``: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ... or ``"auto"`` (``device_map="auto"``, to spread a
    large model over the visible GPUs); default: ``"cuda"`` when available, else ``"cpu"``.

    ``model_name_or_path`` may be a LoRA adapter folder (``--use_peft`` training output): the base model named
    in its ``adapter_config.json`` is loaded with :func:`~video_r1.models.qwen2_5_vl.load_model` (``dtype``
    and the project's fixes apply) and the adapter is applied on top, unmerged (a ``peft.PeftModel``).
    """

    name = "hf"

    def __init__(
        self,
        model_name_or_path: str,
        options: BackendOptions,
        *,
        device: str | None = None,
        model=None,
        processor=None,
        **model_kwargs: Any,
    ) -> None:
        import torch
        from transformers import AutoProcessor

        family = family_for(model if model is not None else model_name_or_path)
        family.install_positions()  # also for a model instance passed in
        if processor is None:
            processor = AutoProcessor.from_pretrained(processor_path(model_name_or_path))
        super().__init__(processor, options, family=family)
        dtype = options.dtype
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if model is None:
            torch_dtype: Any = dtype if dtype == "auto" else getattr(torch, dtype)
            kwargs = dict(model_kwargs)
            if device == "auto":
                kwargs["device_map"] = "auto"
            model = load_model(model_name_or_path, dtype=torch_dtype, **kwargs)
            if device != "auto":
                model = model.to(device)
        self.model = model.eval()
        self.device = self.model.device if device == "auto" else torch.device(device)
        self.tokenizer = getattr(processor, "tokenizer", processor)
        eos = [self.tokenizer.eos_token_id, self.tokenizer.convert_tokens_to_ids("<|im_end|>")]
        self.eos_token_ids = sorted({i for i in eos if i is not None and i != self.tokenizer.unk_token_id})
        self.pad_token_id = (
            self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.eos_token_ids[0]
        )
        self.suppress_tokens = family.suppressed_token_ids(self.tokenizer)
        self.generation_config = self._generation_config()

    def _generation_config(self):
        from transformers import GenerationConfig

        s = self.sampling
        common = {
            "max_new_tokens": s.max_new_tokens,
            "eos_token_id": self.eos_token_ids,
            "pad_token_id": self.pad_token_id,
            "suppress_tokens": self.suppress_tokens,
            "repetition_penalty": 1.0,
        }
        if s.greedy:
            # Sampling fields at their neutral values, so the checkpoint's own (e.g. top_k=1) do not leak in
            # and transformers does not warn about sampling flags in greedy mode.
            return GenerationConfig(do_sample=False, temperature=1.0, top_p=1.0, top_k=50, **common)
        return GenerationConfig(do_sample=True, temperature=s.temperature, top_p=s.top_p, top_k=0, **common)

    def _seed_batch(self, samples: Sequence[PreparedSample]) -> None:
        """Seed torch from (seed, the batch's keys): a rerun with the same batches reproduces the samples."""
        import torch

        if self.sampling.seed is None or self.sampling.greedy:
            return
        digest = zlib.crc32("\x00".join(s.key for s in samples).encode("utf-8"))
        torch.manual_seed((self.sampling.seed * 1_000_003 + digest) % (2**63))

    def _generate_prepared(self, samples: Sequence[PreparedSample]) -> list[tuple[str, int]]:
        import torch

        inputs = build_processor_inputs(
            self.processor,
            [s.text for s in samples],
            [s.media for s in samples],
            temporal_rope=self.temporal_rope,
            padding=True,
            return_tensors="pt",
            padding_side="left",
        )
        inputs = inputs.to(self.device)
        if self.model.dtype.is_floating_point:
            for name in ("pixel_values", "pixel_values_videos"):
                if name in inputs:
                    inputs[name] = inputs[name].to(self.model.dtype)
        self._seed_batch(samples)
        with torch.inference_mode():
            out = self.model.generate(**inputs, generation_config=self.generation_config)
        completions = out[:, inputs["input_ids"].shape[1] :].tolist()
        results = []
        eos = set(self.eos_token_ids)
        for ids in completions:
            length = next((i + 1 for i, t in enumerate(ids) if t in eos), len(ids))
            ids = ids[:length]
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
            results.append((text, length))
        return results

    def close(self) -> None:
        super().close()
        self.model = None


class VLLMBackend(_Backend):
    """``vllm.LLM`` generation (GPU only; vLLM is imported when the backend is built).

    Engine defaults are the original evaluation's: tensor parallel over every visible GPU,
    ``max_model_len=16384``, ``gpu_memory_utilization=0.8``, one image and one video per prompt. Any
    other ``vllm.LLM`` argument can be passed as ``engine_kwargs`` (CoT annotation uses
    ``max_model_len=8192``). A LoRA adapter folder is refused with the merge command (see
    :func:`check_vllm_model`).
    """

    name = "vllm"

    def __init__(
        self,
        model_name_or_path: str,
        options: BackendOptions,
        *,
        tensor_parallel_size: int | None = None,
        max_model_len: int = 16384,
        gpu_memory_utilization: float = 0.8,
        limit_mm_per_prompt: dict[str, int] | None = None,
        processor=None,
        **engine_kwargs: Any,
    ) -> None:
        check_model_path(model_name_or_path)
        check_vllm_model(model_name_or_path)
        vllm = import_vllm()
        from transformers import AutoProcessor

        if processor is None:
            processor = AutoProcessor.from_pretrained(model_name_or_path)
        super().__init__(processor, options, family=family_for(model_name_or_path))
        sampling = options.sampling
        if tensor_parallel_size is None:
            import torch

            tensor_parallel_size = max(1, torch.cuda.device_count())
        self.engine_args = {
            "model": model_name_or_path,
            "tensor_parallel_size": tensor_parallel_size,
            "max_model_len": max_model_len,
            "gpu_memory_utilization": gpu_memory_utilization,
            "limit_mm_per_prompt": dict(limit_mm_per_prompt or {"image": 1, "video": 1}),
            "dtype": options.dtype,
            **engine_kwargs,
        }
        if sampling.seed is not None:
            self.engine_args.setdefault("seed", sampling.seed)
        logger.info("vLLM engine: %s", self.engine_args)
        self.llm = vllm.LLM(**self.engine_args)
        self.sampling_params = vllm_sampling_params(sampling)

    def _generate_prepared(self, samples: Sequence[PreparedSample]) -> list[tuple[str, int]]:
        prompts = build_vllm_requests(samples, self.temporal_rope, self.family)
        outputs = self.llm.generate(prompts, sampling_params=self.sampling_params, use_tqdm=False)
        if len(outputs) != len(samples):
            raise RuntimeError(f"vLLM returned {len(outputs)} outputs for {len(samples)} prompts")
        return [(o.outputs[0].text, len(o.outputs[0].token_ids)) for o in outputs]

    def close(self) -> None:
        super().close()
        self.llm = None


def check_vllm_model(model_name_or_path: str) -> None:
    """Raise a ``ValueError`` naming the merge command when ``model_name_or_path`` is a LoRA adapter folder.

    vLLM could serve the adapter itself (``enable_lora`` + a ``LoRARequest`` per call), but that path cannot be
    run here (no GPU); a merged checkpoint is what the vLLM backend is tested with.
    """
    if adapter_base(model_name_or_path) is not None:
        raise ModelPathError(
            f"{model_name_or_path} is a LoRA adapter folder (adapter_config.json); the vllm backend needs a full "
            f"checkpoint: merge it first with `{merge_command(model_name_or_path)}` and pass the merged folder, "
            "or use --backend hf (it loads base model + adapter)"
        )


def import_vllm():
    """``import vllm`` with a clear message when it is missing."""
    try:
        import vllm
    except ImportError as err:
        raise ImportError(f"{VLLM_INSTALL_HINT} ({err})") from err
    return vllm


def vllm_sampling_kwargs(sampling: SamplingConfig) -> dict[str, Any]:
    """``vllm.SamplingParams`` arguments for ``sampling`` (pure; vLLM treats temperature 0 as greedy)."""
    return {
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "max_tokens": sampling.max_new_tokens,
        "seed": sampling.seed,
    }


def vllm_sampling_params(sampling: SamplingConfig):
    """``vllm.SamplingParams(temperature, top_p, max_tokens, seed)``."""
    return import_vllm().SamplingParams(**vllm_sampling_kwargs(sampling))


def load_backend(
    name: str,
    model_name_or_path: str,
    options: BackendOptions,
    *,
    device: str | None = None,
    **engine_kwargs: Any,
) -> HFBackend | VLLMBackend:
    """Build the ``"hf"`` or ``"vllm"`` backend.

    ``engine_kwargs`` go to ``from_pretrained`` (HF) or ``vllm.LLM`` (vLLM; e.g. ``max_model_len``,
    ``tensor_parallel_size``). ``device`` applies to the HF backend only (vLLM places the model itself).
    """
    if name == "hf":
        return HFBackend(model_name_or_path, options, device=device, **engine_kwargs)
    if name == "vllm":
        if device not in (None, "cuda", "auto"):
            raise ValueError(f"the vllm backend places the model itself; device={device!r} is not supported")
        return VLLMBackend(model_name_or_path, options, **engine_kwargs)
    raise ValueError(f"unknown backend {name!r}; expected one of {BACKENDS}")
