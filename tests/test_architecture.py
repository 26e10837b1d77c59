"""The package's shape: data flows one way through its layers, no import circles, no oversized modules.

Every ``import`` of a ``video_r1`` module counts, including the ones inside functions (a lazy import is still
a dependency). Layers, lowest first::

    0  models, prompts, rewards, resumable, plotting  (leaves: Qwen2.5-VL facts, wording, rewards, files)
    1  data          records -> media/vision -> collate
    2  vllm          requests built from decoded media
    3  trainers, inference, generation (the settings of a generation run)
    4  evaluation, annotate
    5  demo, testing, cli   (entry points and test support)

A module may import from its own layer or below, never above, and modules may not import each other in a
circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
LAYERS = [
    (
        "video_r1.models",
        "video_r1.prompts",
        "video_r1.rewards",
        "video_r1.resumable",
        "video_r1.plotting",
        "video_r1.errors",
    ),
    ("video_r1.data",),
    ("video_r1.vllm",),
    ("video_r1.trainers", "video_r1.inference", "video_r1.generation"),
    ("video_r1.evaluation", "video_r1.annotate"),
    ("video_r1.demo", "video_r1.testing", "video_r1.cli"),
]
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the package modules it imports (resolved to the longest existing module name)."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets = [f"{base}.{alias.name}" for alias in node.names] or [base]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target.startswith("video_r1") and target != name:
                    graph[name].add(target)
    return graph


def _layer(module: str) -> int:
    if module == "video_r1":
        return 0
    for index, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__file__}")


def test_no_upward_import():
    graph = _imports(_modules())
    upward = [
        f"{src} (layer {_layer(src)}) imports {dst} (layer {_layer(dst)})"
        for src, targets in sorted(graph.items())
        for dst in sorted(targets)
        if _layer(dst) > _layer(src) and dst != "video_r1"
    ]
    assert not upward, "imports against the data flow:\n" + "\n".join(upward)


def test_no_import_circle():
    graph = _imports(_modules())
    # a package's __init__ re-exporting its submodules is not a circle with them
    edges = {src: {d for d in dsts if not src.startswith(d + ".")} for src, dsts in graph.items()}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    assert not cycles, f"import circles: {cycles}"


def test_the_layering_test_sees_real_edges():
    graph = _imports(_modules())
    assert "video_r1.data.vision" in graph["video_r1.data.media"]
    assert "video_r1.models.family" in graph["video_r1.trainers.video_grpo_trainer"]
    assert "video_r1.trainers.video_grpo_trainer" in graph["video_r1.trainers.tgrpo_trainer"]
    assert "video_r1.inference" in graph["video_r1.evaluation.runner"]  # a lazy import counts too


def test_no_module_over_the_size_limit():
    long = {
        name: n for name, path in _modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines (split them): {long}"
