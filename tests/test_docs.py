"""The documentation the code points at exists and says what is cited."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEHAVIOUR = ROOT / "docs" / "original-behaviour.md"


def test_every_citation_of_the_original_behaviour_names_an_existing_section():
    sections = set(re.findall(r"^## §(\d+)\b", BEHAVIOUR.read_text(encoding="utf-8"), flags=re.M))
    assert {"1", "3", "7", "9", "11"} <= sections
    cited = []
    for path in [*ROOT.joinpath("src").rglob("*.py"), *ROOT.joinpath("tests").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        cited += [(path, m) for m in re.findall(r"original-behaviour\.md §(\d+)", text)]
        stale = "behaviour" + " notes"  # the old citation of notes kept outside the repository
        assert stale not in text, f"{path} cites notes that are not in the repository"
    assert cited, "no code cites docs/original-behaviour.md"
    missing = [f"{path.relative_to(ROOT)}: §{n}" for path, n in cited if n not in sections]
    assert not missing, f"citations of sections that do not exist: {missing}"


def _named_files(doc: str, pattern: str) -> tuple[set[str], list[str]]:
    """The repository paths a doc names (``pattern``'s first group) and those of them that do not exist."""
    named = set(re.findall(pattern, (ROOT / doc).read_text(encoding="utf-8")))
    return named, sorted(p for p in named if not (ROOT / p).is_file())


def test_paper_to_code_paths_exist():
    paths, missing = _named_files(
        "docs/paper-to-code.md", r"`((?:src|configs|scripts)/[\w./-]+?\.(?:py|yaml|sh))(?:::|`)"
    )
    assert len(paths) > 10
    assert not missing, f"docs/paper-to-code.md names files that do not exist: {missing}"


def test_cli_reference_is_current(monkeypatch):
    """docs/cli.md is the --help of every command; regenerate it with scripts/gen_cli_docs.py."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_cli_docs", ROOT / "scripts" / "gen_cli_docs.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    monkeypatch.setenv("COLUMNS", gen.WIDTH)
    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert gen.render() == current, "docs/cli.md is stale: run .venv/bin/python scripts/gen_cli_docs.py"
    for flag in (
        "--model_name_or_path",
        "--temporal_alpha",
        "--use_peft",
        "--max_error_fraction",
        "--config",
    ):
        assert flag in current


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors of a markdown file (lower case, punctuation dropped, spaces -> '-')."""
    anchors, fenced = set(), False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


def test_links_between_the_docs_resolve():
    """Every relative link of the README and docs/ names an existing file and, with '#', an existing heading."""
    broken = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for link in re.findall(r"\]\(([^)\s]+)\)", doc.read_text(encoding="utf-8")):
            if link.startswith(("http://", "https://", "mailto:")):
                continue
            target, _, anchor = link.partition("#")
            path = (doc.parent / target).resolve() if target else doc
            if not path.exists():
                broken.append(f"{doc.relative_to(ROOT)}: {link} (no such file)")
            elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
                broken.append(f"{doc.relative_to(ROOT)}: {link} (no such heading)")
    assert not broken, broken


USAGE = ROOT / "docs" / "usage.md"


def _field_tables(section_title: str) -> list[tuple[list[str], str]]:
    """Rows ``(names, default cell)`` of the field/flag tables under the ``## `` heading starting with the title."""
    rows, inside = [], False
    for line in USAGE.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            inside = line.startswith(f"## {section_title}")
        elif inside and line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            names = re.findall(r"`(?:--)?(\w+)`", cells[0])
            if names and len(cells) >= 3:
                rows.append((names, cells[1]))
    return rows


def _documented_defaults(names: list[str], cell: str) -> dict[str, object] | None:
    """The literal defaults a cell states for ``names``; None when the cell describes rather than states."""
    import yaml

    text = re.sub(r"\s*\(.*\)$", "", cell).replace("`", "").strip()  # "16, 32 (TRL's)" -> "16, 32"
    if not text or any(word in text for word in ("preset", "projections", "//")):
        return None
    values = [text] if len(names) == 1 else [v.strip() for v in text.split(",")]
    if len(values) == 1:
        values = values * len(names)
    assert len(values) == len(names), f"docs/usage.md: {names}: {cell!r} gives {len(values)} values"
    parsed = {}
    for name, value in zip(names, values, strict=True):
        parsed[name] = None if value.lower() == "none" else yaml.safe_load(value)
    return parsed


def _default(config_cls, name: str):
    import dataclasses

    field = {f.name: f for f in dataclasses.fields(config_cls)}.get(name)
    assert field is not None, f"docs/usage.md documents {name!r}, which {config_cls.__name__} does not have"
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def _check_tables(section_title: str, config_cls, minimum: int) -> None:
    rows = _field_tables(section_title)
    assert sum(len(names) for names, _ in rows) >= minimum, f"no field table found under {section_title!r}"
    wrong = []
    for names, cell in rows:
        stated = _documented_defaults(names, cell)
        for name in names:
            actual = _default(config_cls, name)
            if stated is not None and stated[name] != actual:
                wrong.append(f"{name}: docs say {stated[name]!r}, {config_cls.__name__} has {actual!r}")
    assert not wrong, "docs/usage.md field tables disagree with the code:\n" + "\n".join(wrong)


def test_usage_grpo_fields_match_tgrpo_config():
    from video_r1.trainers.tgrpo_config import TGRPOConfig

    _check_tables("`video-r1 grpo", TGRPOConfig, minimum=19)


def test_usage_sft_fields_match_video_sft_config():
    from video_r1.trainers.sft import VideoSFTConfig

    _check_tables("`video-r1 sft", VideoSFTConfig, minimum=11)


def test_usage_lora_flags_match_model_arguments():
    from video_r1.cli._training import ModelArguments

    _check_tables("LoRA / PEFT", ModelArguments, minimum=11)


def test_usage_names_existing_recipes():
    named, missing = _named_files("docs/usage.md", r"`(configs/[\w./-]+\.(?:yaml|json))`")
    assert len(named) >= 5
    assert not missing, f"docs/usage.md names recipes that do not exist: {missing}"
