"""scripts/check_stack.py: newest release per pin and what holds it back, from a fake package index."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "check_stack.py"

spec = importlib.util.spec_from_file_location("check_stack", SCRIPT)
check_stack = importlib.util.module_from_spec(spec)
sys.modules["check_stack"] = check_stack  # dataclasses look their module up by name
spec.loader.exec_module(check_stack)

# What the index served on 2026-12-04 (abridged), and the wheels' Requires-Dist that matter here.
INDEX = {
    "transformers": ["5.25.0", "5.24.0", "5.22.2", "5.17.0", "5.26.0rc1", "5.26.0.dev0"],
    "trl": ["1.16.0", "1.15.0"],
    "torch": ["2.15.0", "2.14.1", "2.14.0", "2.13.0"],
    "torchvision": ["0.29.2", "0.29.1", "0.29.0", "0.28.0"],
    "vllm": ["0.34.0", "0.33.0", "0.31.0"],
    "datasets": ["5.2.0", "5.1.0"],
    "deepspeed": ["0.19.8"],
    "flashinfer-python": ["0.7.4", "0.7.2.post1"],
}
METADATA = {
    ("vllm", "0.31.0"): ["transformers<5.18.0,>=5.10.4", "torch==2.13.0", "torchvision==0.28.0"],
    ("vllm", "0.34.0"): [
        "transformers<5.23.0,>=5.16.1",
        "torch==2.14.0",
        "torchvision==0.29.0",
        "flashinfer-python==0.7.3",
        'xgrammar==9.9; platform_machine == "no-such-machine"',
    ],
    ("trl", "1.16.0"): [
        "transformers>=4.56.2",
        'vllm<=0.31.0,>=0.22.0; extra == "vllm"',
        "peft; extra == 'peft'",
    ],
    ("torchvision", "0.28.0"): ["torch==2.13.0"],
    ("torchvision", "0.29.1"): ["torch (>=2.14.0)"],
    ("datasets", "5.2.0"): ['torch==2.0.1; extra == "benchmarks"', "numpy>=1.17"],
    ("deepspeed", "0.19.8"): None,  # an sdist: metadata unknown
}


def _pins():
    pin = check_stack.Pin
    return [
        pin("transformers", "5.17.0", "requirements.txt"),
        pin("trl", "1.16.0", "requirements.txt"),
        pin("datasets", "5.2.0", "requirements.txt"),
        pin("deepspeed", "0.19.8", "requirements.txt"),
        pin("torch", "2.14.1", "requirements-cpu.txt"),
        pin("torchvision", "0.29.1", "requirements-cpu.txt"),
        pin("torch", "2.13.0", "requirements-gpu.txt"),
        pin("torchvision", "0.28.0", "requirements-gpu.txt"),
        pin("vllm", "0.31.0", "requirements-gpu.txt"),
    ]


def _rows(**kwargs):
    asked = []

    def metadata(name, version):
        asked.append((name, version))
        return METADATA.get((name, version), [])

    rows = check_stack.check(_pins(), lambda name: INDEX[name], metadata, **kwargs)
    return {(r.name, r.source): r for r in rows}, asked


def test_newest_release_ignores_pre_releases_and_junk():
    assert check_stack.newest_release(INDEX["transformers"]) == "5.25.0"
    assert check_stack.newest_release(["0.9", "0.10", "not-a-version"]) == "0.10"
    assert check_stack.newest_release(["1.0rc1"]) is None


def test_pip_index_output_is_parsed():
    out = "vllm (0.34.0)\nAvailable versions: 0.34.0, 0.33.0, 0.31.0\n  INSTALLED: 0.31.0\n"
    assert check_stack.parse_index_versions(out) == ["0.34.0", "0.33.0", "0.31.0"]
    with pytest.raises(ValueError, match="Available versions"):
        check_stack.parse_index_versions("ERROR: No matching distribution found for nothing")


def test_rows_name_what_holds_each_pin_back():
    rows, asked = _rows(pyproject={"transformers": SpecifierSet(">=5.17.0,<5.18")})
    tf = rows["transformers", "requirements.txt"]
    assert (tf.pinned, tf.newest, tf.status) == ("5.17.0", "5.25.0", "behind")
    assert tf.held_back_by == [
        "vllm 0.31.0 requires transformers<5.18.0,>=5.10.4",
        "pyproject.toml: transformers<5.18,>=5.17.0",
        "even the newest: vllm 0.34.0 requires transformers<5.23.0,>=5.16.1",
    ]
    # trl's vllm extra is one the project relies on; datasets' "benchmarks" extra is not
    # ... and a newest release whose exact dependency the index lacks cannot be installed at all
    assert rows["vllm", "requirements-gpu.txt"].held_back_by == [
        "trl[vllm] 1.16.0 requires vllm<=0.31.0,>=0.22.0",
        "vllm 0.34.0 requires flashinfer-python==0.7.3, which the index does not serve",
    ]
    gpu_torch = rows["torch", "requirements-gpu.txt"]
    assert gpu_torch.held_back_by == [
        "torchvision 0.28.0 requires torch==2.13.0",
        "vllm 0.31.0 requires torch==2.13.0",
        "even the newest: vllm 0.34.0 requires torch==2.14.0",
    ]
    # the CPU set is not installed with vLLM: nothing in it holds torch 2.15 back
    assert rows["torch", "requirements-cpu.txt"].held_back_by == []
    assert rows["trl", "requirements.txt"].status == "newest"
    assert rows["deepspeed", "requirements.txt"].status == "newest"
    # metadata is read once per (package, version): the pins and the newest release of each pin behind
    assert len(asked) == len(set(asked))
    assert ("vllm", "0.34.0") in asked and ("torch", "2.15.0") in asked


def test_pip_constraint_and_failed_queries_are_reported():
    def index(name):
        if name == "deepspeed":
            raise RuntimeError("index unreachable")
        return INDEX[name]

    rows = check_stack.check(
        _pins(),
        index,
        None,
        constraints={"torch": ("/etc/xdg/pip/constraints.txt", SpecifierSet("<=2.14.1"))},
    )
    by_key = {(r.name, r.source): r for r in rows}
    assert by_key["torch", "requirements-cpu.txt"].held_back_by == [
        "pip constraint /etc/xdg/pip/constraints.txt: torch<=2.14.1"
    ]
    ds = by_key["deepspeed", "requirements.txt"]
    assert ds.status == "unknown" and "index unreachable" in ds.error
    table = check_stack.render(rows)
    assert "deepspeed" in table and "index query failed: index unreachable" in table
    assert table.splitlines()[0].split()[:5] == ["package", "file", "pinned", "newest", "status"]


def test_every_requirement_line_is_an_exact_pin():
    pins = check_stack.read_pins(ROOT)
    counted = 0
    for name in check_stack.REQUIREMENT_FILES:
        lines = [ln.split("#", 1)[0].strip() for ln in (ROOT / name).read_text().splitlines()]
        counted += sum(1 for ln in lines if ln)
    assert len(pins) == counted
    assert {(p.name, p.source) for p in pins} >= {
        ("transformers", "requirements.txt"),
        ("vllm", "requirements-gpu.txt"),
    }
    assert "transformers" in check_stack.read_pyproject_ranges(ROOT)


def test_help_runs_without_torch():
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", str(SCRIPT), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "--no-deps" in proc.stdout and "--json" in proc.stdout and "newest release" in proc.stdout
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "torch" not in imported and "transformers" not in imported


def test_readme_version_table_names_the_pinned_versions():
    """Each row of the README's version table gives the version requirements*.txt pins."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### Versions: pinned and newest", 1)[1].split("\n## ", 1)[0]
    rows = [
        line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| ") and "---" not in line
    ]
    pins = {}
    for pin in check_stack.read_pins(ROOT):
        where = {"requirements-cpu.txt": " (CPU)", "requirements-gpu.txt": " (GPU)"}.get(pin.source, "")
        pins[pin.name + where] = pin.version
    checked = 0
    for library, pinned, *_ in rows[1:]:
        names = [n.strip() for n in library.split(",")]
        versions = [v.strip() for v in pinned.split(",")]
        assert len(names) == len(versions), library
        for name, version in zip(names, versions, strict=True):
            assert pins.get(name) == version, (
                f"README version table: {name} {version}, pinned {pins.get(name)}"
            )
            checked += 1
    assert checked == len(pins), f"README version table lists {checked} pins of {len(pins)}"
