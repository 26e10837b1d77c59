"""The demo's recipe: one documented dataclass, read from YAML by the same parser as every command's --config.

:class:`DemoRecipe` is what ``video-r1 demo --config recipe.yaml`` parses (TRL's ``TrlParser`` through
:func:`video_r1.cli._parse.parse_command`: top-level YAML keys are its fields, ``--seed`` and the other scalar
flags override them) and what :func:`load_recipe` builds from a file for Python callers. Sections are
checked against the objects they configure, so a misspelt key fails before any work starts.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

#: The recipe used when ``--config`` is not given: ``video_r1/configs/demo_cpu.yaml``, shipped as package
#: data (the repository's ``configs/demo_cpu.yaml`` is a link to it).
DEFAULT_CONFIG = Path(str(resources.files("video_r1") / "configs" / "demo_cpu.yaml"))
#: The packaged recipes by name (``video-r1 demo --recipe NAME``): ``cpu`` the default demo, ``shortcut``
#: the shortcut-task ablation of issue 22 (``demo_shortcut.yaml``).
RECIPES: dict[str, Path] = {
    "cpu": DEFAULT_CONFIG,
    "shortcut": Path(str(resources.files("video_r1") / "configs" / "demo_shortcut.yaml")),
}
#: RL arms when a recipe names none: GRPO (``temporal: false``) and T-GRPO (the recipe's ``grpo`` section
#: as it is), the demo's original ablation.
DEFAULT_ARMS: dict[str, dict[str, Any]] = {
    "grpo_no_temporal": {"label": "GRPO", "temporal": False},
    "grpo": {"label": "T-GRPO"},
}

#: ``data`` keys that are not :func:`~video_r1.data.synthetic.make_synthetic` arguments.
_COT_STYLES = ("short", "generator")
_EVAL_KEYS = {
    "compare_variant",
    "variant",
    "max_new_tokens",
    "batch_size",
    "shuffle_seed",
    "shuffle_unit",
    "limit",
}
#: Sections a recipe's ``quick_overrides`` may override.
_OVERRIDABLE = (
    "seed",
    "threads",
    "model",
    "data",
    "sft",
    "sft_stop",
    "grpo",
    "eval",
    "ablation_seeds",
    "arms",
)
_SFT_STOP_KEYS = {"target_accuracy", "every", "questions", "min_steps", "max_new_tokens"}
#: Names an arm may not take: the pipeline's other stages and output folders.
_RESERVED = {"base", "sft", "model_init", "data"}


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _section(help_: str) -> Any:
    return field(default_factory=dict, metadata={"help": f"{help_} (a YAML mapping in the --config recipe)."})


@dataclass
class DemoRecipe:
    """Sizes, data, step counts and learning rates of ``video-r1 demo`` (``configs/demo_cpu.yaml``)."""

    seed: int = field(
        default=0,
        metadata={"help": "Seed of the model, the data and training (one run; see ablation_seeds)."},
    )
    threads: int | None = field(
        default=None, metadata={"help": "torch CPU threads (default: torch's own choice)."}
    )
    model_family: str = field(
        default="qwen2_5_vl",
        metadata={
            "help": "Model family of the tiny model: qwen2_5_vl (the paper's, default), qwen3_vl (timestamped "
            "video; T-GRPO shuffles whole temporal patches) or qwen3_5; the trainers read it from the "
            "checkpoint's config."
        },
    )
    model: dict[str, Any] = _section("Model size: TinySize fields of video_r1.testing.tiny")
    data: dict[str, Any] = _section(
        "Synthetic data: make_synthetic arguments (num_cot, num_train, num_test, video_tasks, background, "
        "colours, ...) plus cot_style (short | generator)"
    )
    sft: dict[str, Any] = _section("SFT cold start: VideoSFTConfig fields (max_steps: the cap, see sft_stop)")
    sft_stop: dict[str, Any] = _section(
        "Stop SFT at the first check whose greedy accuracy on RL-split questions reaches target_accuracy: "
        "target_accuracy, every (steps between checks), questions, min_steps, max_new_tokens; empty: SFT runs "
        "sft.max_steps"
    )
    grpo: dict[str, Any] = _section("RL: TGRPOConfig fields (temporal is set per arm by --ablation)")
    eval: dict[str, Any] = _section(
        "Held-out evaluation: variant, compare_variant, max_new_tokens, batch_size, shuffle_seed, "
        "shuffle_unit, limit"
    )
    ablation_seeds: list[int] = field(
        default_factory=lambda: [0, 1, 2],
        metadata={"help": "Seeds of --ablation (one full run each).", "aliases": ["--seeds"]},
    )
    arms: dict[str, Any] = field(
        default_factory=lambda: {name: dict(arm) for name, arm in DEFAULT_ARMS.items()},
        metadata={
            "help": "RL arms of --ablation, in order (a YAML mapping in the --config recipe): arm name -> "
            "TGRPOConfig fields that override the grpo section for that arm, plus an optional label; every arm "
            "starts from the same SFT checkpoint, and the first is the baseline the others are compared to "
            "(default: grpo_no_temporal {temporal: false}, grpo {})"
        },
    )
    quick_overrides: dict[str, Any] = _section(
        "What --quick merges over the recipe (the same keys, nested sections merged key by key)"
    )

    def __post_init__(self) -> None:
        for name in ("model", "data", "sft", "sft_stop", "grpo", "eval", "quick_overrides", "arms"):
            if not isinstance(getattr(self, name), Mapping):
                raise ValueError(f"recipe section {name!r} must be a mapping, got {getattr(self, name)!r}")
        self.ablation_seeds = [int(s) for s in self.ablation_seeds]
        if len(set(self.ablation_seeds)) != len(self.ablation_seeds) or not self.ablation_seeds:
            raise ValueError(f"ablation_seeds must be distinct and not empty, got {self.ablation_seeds}")
        from video_r1.models.checkpoint import check_model_type

        check_model_type(self.model_family, f"model_family {self.model_family}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
        unknown = sorted(set(self.quick_overrides) - set(_OVERRIDABLE))
        if unknown:
            raise ValueError(
                f"unknown key(s) {unknown} in quick_overrides; expected some of {list(_OVERRIDABLE)}"
            )
        self._check_sections()
        self._check_arms()

    def _check_arms(self) -> None:
        if not self.arms:
            raise ValueError("arms: the recipe needs at least one RL arm")
        for name, arm in self.arms.items():
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or name in _RESERVED:
                raise ValueError(
                    f"arms: bad arm name {name!r} (letters, digits, '_', '.', '-'; not one of {sorted(_RESERVED)})"
                )
            if arm is None:
                self.arms[name] = {}
            elif not isinstance(arm, Mapping):
                raise ValueError(f"arms.{name} must be a mapping of TGRPOConfig fields, got {arm!r}")
            label = (arm or {}).get("label", name)
            if not isinstance(label, str) or not label:
                raise ValueError(f"arms.{name}.label must be a non-empty string, got {label!r}")

    def arm_overrides(self, names: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """The TGRPOConfig overrides of each arm (``names``: a selection, in the recipe's order)."""
        selected = list(self.arms) if names is None else list(names)
        unknown = [name for name in selected if name not in self.arms]
        if unknown:
            raise ValueError(f"unknown arm(s) {unknown}; the recipe's arms are {list(self.arms)}")
        order = [name for name in self.arms if name in selected]
        return {name: {k: v for k, v in self.arms[name].items() if k != "label"} for name in order}

    def arm_labels(self) -> dict[str, str]:
        """Each arm's label (its ``label`` key, else its name)."""
        return {name: str(arm.get("label", name)) for name, arm in self.arms.items()}

    def _check_sections(self) -> None:
        from video_r1.testing.tiny import TinySize

        checks = [
            ("model", self.model, {f.name for f in dataclasses.fields(TinySize)}),
            ("data", self.data, _data_keys()),
            ("eval", self.eval, _EVAL_KEYS),
            ("sft_stop", self.sft_stop, _SFT_STOP_KEYS),
        ]
        for name, section, valid in checks:
            unknown = sorted(set(section) - valid)
            if unknown:
                raise ValueError(f"unknown {name} key(s) {unknown}; expected some of {sorted(valid)}")
        if self.sft_stop and "target_accuracy" not in self.sft_stop:
            raise ValueError(
                "sft_stop needs target_accuracy (or leave the section out: SFT runs sft.max_steps)"
            )
        style = self.data.get("cot_style", "short")
        if style not in _COT_STYLES:
            raise ValueError(f"data.cot_style must be one of {_COT_STYLES}, got {style!r}")

    def check_trainer_sections(self, arms: Sequence[str] | None = ()) -> None:
        """Check ``sft`` / ``grpo`` keys (and those of the ``arms`` named, all with None) against the
        trainers' configs (imports TRL, so not at parse time)."""
        from video_r1.trainers import TGRPOConfig, VideoSFTConfig

        sections = [("sft", self.sft, VideoSFTConfig), ("grpo", self.grpo, TGRPOConfig)]
        if arms is None or arms:
            sections += [(f"arms.{n}", a, TGRPOConfig) for n, a in self.arm_overrides(arms).items()]
        for name, section, config in sections:
            valid = {f.name for f in dataclasses.fields(config)}
            unknown = sorted(set(section) - valid)
            if unknown:
                raise ValueError(f"unknown {name} key(s) {unknown}: not fields of {config.__name__}")

    def with_quick(self) -> DemoRecipe:
        """The recipe with ``quick_overrides`` merged over it (``--quick``)."""
        merged = _deep_merge(self.to_dict(), self.quick_overrides)
        return DemoRecipe(**merged)

    def to_dict(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "quick_overrides"
        }


def _data_keys() -> set[str]:
    from video_r1.data.synthetic import make_synthetic

    params = inspect.signature(make_synthetic).parameters
    return (set(params) - {"output_dir", "seed", "progress"}) | {"cot_style"}


def recipe_path(path: str | os.PathLike[str] | None) -> Path:
    """A recipe file: a packaged recipe's name (:data:`RECIPES`), a path, or None (:data:`DEFAULT_CONFIG`)."""
    if path is None:
        return DEFAULT_CONFIG
    if isinstance(path, str) and path in RECIPES:
        return RECIPES[path]
    return Path(path)


def read_recipe(path: str | os.PathLike[str] | None = None) -> DemoRecipe:
    """The :class:`DemoRecipe` of a YAML file or packaged recipe name (default :data:`DEFAULT_CONFIG`);
    errors name the file."""
    import yaml

    path = recipe_path(path)
    if not path.is_file():
        raise FileNotFoundError(f"demo recipe {path} not found (pass --config PATH)")
    mapping = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(mapping, dict):
        raise ValueError(f"{path}: a demo recipe is a YAML mapping, got {type(mapping).__name__}")
    valid = {f.name for f in dataclasses.fields(DemoRecipe)}
    unknown = sorted(set(mapping) - valid)
    if unknown:
        raise ValueError(f"{path}: unknown recipe key(s) {unknown}; expected some of {sorted(valid)}")
    try:
        return DemoRecipe(**mapping)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


def load_recipe(
    path: str | os.PathLike[str] | DemoRecipe | None = None, *, quick: bool = False, source: str | None = None
) -> dict[str, Any]:
    """The recipe as the pipeline reads it: a dict of :class:`DemoRecipe` fields (``quick_overrides``
    merged in with ``quick``, then dropped) plus ``source`` (the file it came from, or ``source``)."""
    if isinstance(path, DemoRecipe):
        recipe = path
        source = source or "(parsed recipe)"
    else:
        recipe = read_recipe(path)
        source = source or str(recipe_path(path))
    if quick:
        recipe = recipe.with_quick()
    return {**recipe.to_dict(), "source": source}
