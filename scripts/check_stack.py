"""List every pin of the project beside the newest release on the configured package index.

    python scripts/check_stack.py              # all pins: pinned, newest, what holds each back
    python scripts/check_stack.py --no-deps    # versions only (one index query per package, faster)
    python scripts/check_stack.py --json       # the same rows as JSON

Reads ``requirements.txt``, ``requirements-cpu.txt``, ``requirements-gpu.txt`` (``name==version`` lines) and
the ranges in ``pyproject.toml``. The newest version comes from ``pip index versions`` run with the caller's
pip configuration (so a mirror or a local wheel folder counts); pre-releases are ignored. "Held back by"
lists, where it is cheap to know, the requirements that exclude the newest release:

- the ``Requires-Dist`` of the other pinned packages (their wheel metadata, read with
  ``pip install --dry-run --no-deps --report``; no wheel is downloaded when the index serves metadata
  files), including the extras the project relies on (:data:`EXTRAS_IN_USE`: ``trl[vllm]``);
- the same for the newest release of a pinned package that is itself behind ("even vllm 0.34.0 ...");
- the ranges in ``pyproject.toml`` and a pip constraint file from the pip configuration.

Failures found only by running the project's tests on a newer release are not known here: the README's
version table records them. Nothing here imports torch or the project; it needs only ``packaging``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENT_FILES = ("requirements.txt", "requirements-cpu.txt", "requirements-gpu.txt")
#: The files installed together (setup.sh): a pin is held back only by pins it is installed with.
INSTALLS = (("requirements.txt", "requirements-cpu.txt"), ("requirements.txt", "requirements-gpu.txt"))
#: Extras of pinned packages that the project's installs depend on (TRL's vLLM integration on the GPU set).
EXTRAS_IN_USE = {"trl": ("vllm",)}

#: ``name -> versions on the index`` (any order).
IndexQuery = Callable[[str], list[str]]
#: ``(name, version) -> Requires-Dist lines`` (``None``: unknown, e.g. an sdist without served metadata).
MetadataQuery = Callable[[str, str], "list[str] | None"]


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    source: str


@dataclass
class Row:
    name: str
    pinned: str
    source: str
    newest: str | None
    held_back_by: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def status(self) -> str:
        if self.error:
            return "unknown"
        return "newest" if self.newest == self.pinned else "behind"


# --------------------------------------------------------------------------------------------- reading pins


def read_pins(root: Path = ROOT) -> list[Pin]:
    """Every ``name==version`` line of the requirement files, in file order."""
    pins = []
    for name in REQUIREMENT_FILES:
        path = root / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith("-"):
                continue
            req = Requirement(line)
            exact = [s.version for s in req.specifier if s.operator == "=="]
            if exact:
                pins.append(Pin(canonicalize_name(req.name), exact[0], name))
    return pins


def read_pyproject_ranges(root: Path = ROOT) -> dict[str, SpecifierSet]:
    data = tomllib.loads((root / "pyproject.toml").read_text())
    ranges = {}
    for dep in data["project"]["dependencies"]:
        req = Requirement(dep)
        if str(req.specifier):
            ranges[canonicalize_name(req.name)] = req.specifier
    return ranges


def read_pip_constraints() -> dict[str, tuple[str, SpecifierSet]]:
    """Constraints pip applies from its configuration (``constraint = file`` or ``PIP_CONSTRAINT``)."""
    files = []
    if os.environ.get("PIP_CONSTRAINT"):
        files += os.environ["PIP_CONSTRAINT"].split()
    try:
        out = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    for line in out.splitlines():
        key, _, value = line.partition("=")
        if key.strip().endswith(".constraint"):
            files += value.strip().strip("'\"").split()
    constraints = {}
    for name in files:
        try:
            text = Path(name).read_text()
        except OSError:
            continue
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            try:
                req = Requirement(line) if line else None
            except InvalidRequirement:
                continue
            if req is not None and str(req.specifier):
                constraints[canonicalize_name(req.name)] = (name, req.specifier)
    return constraints


# ------------------------------------------------------------------------------------------ pure decisions


def newest_release(versions: Iterable[str]) -> str | None:
    """The highest final release among ``versions`` (pre-releases, dev builds and junk ignored)."""
    parsed = []
    for v in versions:
        try:
            version = Version(v)
        except InvalidVersion:
            continue
        if not (version.is_prerelease or version.is_devrelease):
            parsed.append((version, v))
    return max(parsed)[1] if parsed else None


def _applies(req: Requirement, extras: tuple[str, ...]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({"extra": extra}) for extra in ("", *extras))


def _extra_of(req: Requirement) -> str:
    """``[vllm]`` when the requirement only applies with an extra, else ``""``."""
    if req.marker is None or "extra" not in str(req.marker):
        return ""
    match = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", str(req.marker))
    return f"[{match.group(1)}]" if match else ""


def blockers(
    name: str,
    newest: str,
    requirers: dict[tuple[str, str], list[str] | None],
    pyproject: dict[str, SpecifierSet],
    constraints: dict[str, tuple[str, SpecifierSet]],
) -> list[str]:
    """Requirements that exclude ``name==newest``: from other packages' metadata, pyproject and pip config."""
    found = []
    target = Version(newest)
    for (owner, owner_version), lines in sorted(requirers.items()):
        if owner == name or not lines:
            continue
        extras = EXTRAS_IN_USE.get(owner, ())
        for line in lines:
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            if canonicalize_name(req.name) != name or not _applies(req, extras):
                continue
            if str(req.specifier) and not req.specifier.contains(target, prereleases=True):
                found.append(f"{owner}{_extra_of(req)} {owner_version} requires {name}{req.specifier}")
    if name in pyproject and not pyproject[name].contains(target, prereleases=True):
        found.append(f"pyproject.toml: {name}{pyproject[name]}")
    if name in constraints and not constraints[name][1].contains(target, prereleases=True):
        found.append(f"pip constraint {constraints[name][0]}: {name}{constraints[name][1]}")
    return found


def check(
    pins: list[Pin],
    index: IndexQuery,
    metadata: MetadataQuery | None = None,
    pyproject: dict[str, SpecifierSet] | None = None,
    constraints: dict[str, tuple[str, SpecifierSet]] | None = None,
    workers: int = 4,
) -> list[Row]:
    """One row per pin. ``index`` and ``metadata`` are the only calls that reach the package index."""
    names = sorted({p.name for p in pins})
    with ThreadPoolExecutor(max_workers=workers) as pool:
        answers = dict(zip(names, pool.map(_safe(index), names), strict=True))
    newest = {n: (newest_release(a) if isinstance(a, list) else None) for n, a in answers.items()}

    requirers: dict[tuple[str, str], list[str] | None] = {}
    if metadata is not None:
        wanted = {(p.name, p.version) for p in pins}
        # the newest release of a pin that is behind: what would hold the next move back
        wanted |= {(p.name, newest[p.name]) for p in pins if newest[p.name] and newest[p.name] != p.version}
        wanted_list = sorted(wanted)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            got = list(pool.map(lambda nv: _safe(metadata)(*nv), wanted_list))
        requirers = {nv: (g if isinstance(g, list) else None) for nv, g in zip(wanted_list, got, strict=True)}

    rows = []
    for pin in pins:
        answer = answers[pin.name]
        row = Row(pin.name, pin.version, pin.source, newest[pin.name])
        if isinstance(answer, Exception):
            row.error = f"index query failed: {answer}"
        elif row.newest is None:
            row.error = "no release on the index"
        elif row.status == "behind":
            together = {f for files in INSTALLS if pin.source in files for f in files} or {pin.source}
            pinned_set = {(p.name, p.version) for p in pins if p.source in together}
            in_scope = {p.name for p in pins if p.source in together}
            current = {k: v for k, v in requirers.items() if k in pinned_set}
            row.held_back_by = blockers(pin.name, row.newest, current, pyproject or {}, constraints or {})
            newer = {
                k: v
                for k, v in requirers.items()
                if k[0] in in_scope and k not in pinned_set and k[1] == newest.get(k[0]) and k[0] != pin.name
            }
            row.held_back_by += [
                f"even the newest: {b}" for b in blockers(pin.name, row.newest, newer, {}, {})
            ]
            row.held_back_by += missing_exact_requirements(
                pin.name, row.newest, requirers.get((pin.name, row.newest)), answers, index
            )
        rows.append(row)
    return rows


def missing_exact_requirements(
    name: str, version: str, lines: list[str] | None, answers: dict[str, object], index: IndexQuery
) -> list[str]:
    """``name==version``'s exact (``==``) requirements that the index does not serve: it cannot install."""
    found = []
    for line in lines or []:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        exact = [s.version for s in req.specifier if s.operator == "=="]
        if not exact or not _applies(req, ()):
            continue
        dep = canonicalize_name(req.name)
        if dep not in answers:
            answers[dep] = _safe(index)(dep)
        served = answers[dep]
        if isinstance(served, list) and not any(_same_version(v, exact[0]) for v in served):
            found.append(f"{name} {version} requires {dep}=={exact[0]}, which the index does not serve")
    return found


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _safe(fn):
    def call(*args):
        try:
            return fn(*args)
        except Exception as err:  # noqa: BLE001 - one failed query must not hide the other rows
            return err

    return call


# ------------------------------------------------------------------------------------- real index queries


def parse_index_versions(output: str) -> list[str]:
    """The versions in ``pip index versions`` output (``Available versions: a, b, ...``)."""
    for line in output.splitlines():
        if line.strip().startswith("Available versions:"):
            return [v.strip() for v in line.split(":", 1)[1].split(",") if v.strip()]
    raise ValueError(f"no 'Available versions:' line in pip's answer: {output.strip()[:200]!r}")


def pip_index_versions(name: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "--disable-pip-version-check", name],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError((proc.stderr or proc.stdout).strip().splitlines()[-1])
    return parse_index_versions(proc.stdout)


def pip_requires_dist(name: str, version: str) -> list[str] | None:
    """``Requires-Dist`` of ``name==version``'s wheel, or ``None`` when only an sdist exists."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        proc = subprocess.run(
            [
                sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--ignore-installed",
                "--only-binary=:all:", "--disable-pip-version-check", "-q", "--report", str(report),
                f"{name}=={version}",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )  # fmt: skip
        if proc.returncode != 0 or not report.exists():
            return None
        items = json.loads(report.read_text()).get("install", [])
    return items[0]["metadata"].get("requires_dist", []) if items else None


# ------------------------------------------------------------------------------------------------- output


def render(rows: list[Row]) -> str:
    header = ("package", "file", "pinned", "newest", "status", "held back by")
    table = [header] + [
        (r.name, r.source, r.pinned, r.newest or "?", r.status, "; ".join(r.held_back_by) or (r.error or ""))
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line[:-1], widths, strict=True)) + "  " + line[-1]
        for line in table
    ).rstrip()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="check_stack.py",
        description=(
            "Print each pin of requirements*.txt with the newest release on the configured package index and, "
            "where cheap, the requirement that holds it back (other pins' metadata, pyproject ranges, pip "
            "constraints). Does not import torch. Exit status: 0 (also when pins are behind), 1 when an index "
            "query failed."
        ),
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="project folder (default: this checkout)")
    parser.add_argument(
        "--no-deps", action="store_true", help="skip reading package metadata (no 'held back by' column)"
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    parser.add_argument("--workers", type=int, default=4, help="parallel pip queries (default: 4)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    pins = read_pins(args.root)
    rows = check(
        pins,
        pip_index_versions,
        None if args.no_deps else pip_requires_dist,
        read_pyproject_ranges(args.root),
        read_pip_constraints(),
        workers=args.workers,
    )
    if args.json:
        print(json.dumps([asdict(r) | {"status": r.status} for r in rows], indent=2))
    else:
        print(render(rows))
    return 1 if any(r.error for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
