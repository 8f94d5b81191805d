"""The package's shape: stages as subpackages, no import circle between
modules, no oversized module (docs/architecture.md)."""

import ast
from pathlib import Path

from .conftest import ROOT

#: Limits of the layout (docs/architecture.md, "Layout rules").
MAX_MODULE_LINES = 500
MAX_TOP_LEVEL_MODULES = 12
STAGES = ("ingest", "search", "answer", "serve", "training", "evaluation")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / "rag").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    out["ui"] = ROOT / "ui.py"
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (at module level or inside a
    function: a lazy import closes a circle just the same)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_circle():
    assert _circles(import_graph()) == []


def test_the_import_graph_sees_imports():
    """The check above can fail: the graph holds known edges."""
    graph = import_graph()
    assert "rag.serve.chat" in graph["ui"]
    assert "rag.commands" in graph["rag.cli"]
    assert "rag.answer.lexical" in graph["rag.answer.answerability"]
    assert _circles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]


def test_stages_are_subpackages_and_modules_stay_small():
    top = sorted(p.name for p in (ROOT / "rag").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
    for stage in STAGES:
        assert (ROOT / "rag" / stage / "__init__.py").is_file(), stage
    long = {str(p.relative_to(ROOT)): n for p in [*(ROOT / "rag").rglob("*.py"), ROOT / "ui.py"]
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}
