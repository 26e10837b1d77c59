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


def test_paper_to_code_paths_exist():
    table = (ROOT / "docs" / "paper-to-code.md").read_text(encoding="utf-8")
    paths = set(re.findall(r"`((?:src|configs|scripts)/[\w./-]+?\.(?:py|yaml|sh))(?:::|`)", table))
    assert len(paths) > 10
    missing = sorted(p for p in paths if not (ROOT / p).is_file())
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
