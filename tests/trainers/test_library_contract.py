"""The TRL / transformers internals the trainers rely on are still what the code was written against.

When this fails after a library upgrade, the message names the method or field and the project file that
depends on it: port that code to the new library version, then update
``src/video_r1/trainers/library_contract.py``.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect

import pytest

from video_r1.models.qwen2_5_vl import install_released_mrope
from video_r1.trainers import library_contract
from video_r1.trainers.library_contract import CONFIG_FIELDS, CONTRACT, TRAINER_ATTRIBUTES


def _resolve(target: str):
    module_name, _, path = target.partition(":")
    obj = importlib.import_module(module_name)
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("hook", CONTRACT, ids=lambda h: h.target.split(":")[1])
def test_hooked_methods_keep_their_parameters(hook):
    install_released_mrope()  # keeps transformers' own get_rope_index as `transformers_get_rope_index`
    try:
        method = _resolve(hook.target)
    except AttributeError as err:
        pytest.fail(f"{hook.target} no longer exists ({err}); {hook.used_by} depends on it: port that code")
    names = tuple(p for p in inspect.signature(method).parameters if p != "self")
    assert names == hook.parameters, (
        f"{hook.target} changed its parameters: the project expects {hook.parameters}, the installed library has "
        f"{names}. Read the library's new {hook.target.split(':')[1]} and port {hook.used_by}; then update "
        "CONTRACT in src/video_r1/trainers/library_contract.py"
    )


@pytest.mark.parametrize("owner", sorted(CONFIG_FIELDS))
def test_config_fields_exist(owner):
    fields = {f.name for f in dataclasses.fields(_resolve(owner))}
    missing = [name for name in CONFIG_FIELDS[owner] if name not in fields]
    assert not missing, (
        f"{owner} lost field(s) {missing} that the recipes or the trainers set or read (configs/*.yaml, "
        "src/video_r1/trainers/); find their replacement in the library's config and update both, then "
        "CONFIG_FIELDS in src/video_r1/trainers/library_contract.py"
    )


def test_trainer_attributes_exist(tiny_checkpoint, synthetic_data, tmp_path):
    from video_r1.data.records import load_records
    from video_r1.trainers import TGRPOConfig, TGRPOTrainer

    args = TGRPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=2,
        num_generations=2,
        report_to="none",
        vision_preset="tiny",
        use_cpu=True,
        max_steps=1,
    )
    trainer = TGRPOTrainer(
        model=str(tiny_checkpoint), args=args, train_dataset=load_records(synthetic_data["train"])
    )
    missing = [name for name in TRAINER_ATTRIBUTES if not hasattr(trainer, name)]
    assert not missing, (
        f"GRPOTrainer no longer sets {missing}; src/video_r1/trainers/tgrpo_trainer.py reads them: port it and "
        "update TRAINER_ATTRIBUTES in src/video_r1/trainers/library_contract.py"
    )


def test_version_check_names_the_supported_series(monkeypatch):
    import trl

    library_contract.check_library_versions()  # the pinned stack passes
    monkeypatch.setattr(trl, "__version__", "1.17.0")
    monkeypatch.delenv(library_contract.ALLOW_ENV, raising=False)
    with pytest.raises(RuntimeError, match=r"trl 1\.17\.0 \(supported: 1\.16\.x\)") as err:
        library_contract.check_library_versions()
    assert "pip install -r requirements.txt" in str(err.value)
    monkeypatch.setenv(library_contract.ALLOW_ENV, "1")
    library_contract.check_library_versions()  # a warning only


def test_trainers_refuse_an_unsupported_trl(monkeypatch, tiny_checkpoint, tmp_path):
    import trl

    from video_r1.trainers import TGRPOConfig, TGRPOTrainer, VideoSFTConfig, VideoSFTTrainer

    monkeypatch.setattr(trl, "__version__", "2.0.0")
    monkeypatch.delenv(library_contract.ALLOW_ENV, raising=False)
    args = TGRPOConfig(
        output_dir=str(tmp_path),
        report_to="none",
        use_cpu=True,
        num_generations=2,
        per_device_train_batch_size=2,
    )
    with pytest.raises(RuntimeError, match="supported: 1.16.x"):
        TGRPOTrainer(model=str(tiny_checkpoint), args=args)
    with pytest.raises(RuntimeError, match="supported: 1.16.x"):
        VideoSFTTrainer(
            model=str(tiny_checkpoint),
            args=VideoSFTConfig(output_dir=str(tmp_path), report_to="none", use_cpu=True),
        )


def test_pyproject_holds_trl_and_transformers_to_the_supported_series():
    import tomllib
    from pathlib import Path

    from packaging.requirements import Requirement
    from packaging.version import Version

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    deps = {Requirement(d).name: Requirement(d).specifier for d in pyproject["project"]["dependencies"]}
    for name, series in library_contract.SUPPORTED_VERSIONS.items():
        major, minor = (int(x) for x in series.split("."))
        spec = deps[name]
        assert Version(f"{major}.{minor}.0") in spec or Version(f"{major}.{minor}.1") in spec
        assert Version(f"{major}.{minor + 1}.0") not in spec and Version(f"{major + 1}.0.0") not in spec
        assert Version(f"{major}.{minor - 1}.0") not in spec
