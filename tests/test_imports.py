"""The import graph keeps the architecture DESIGN.md promises: one core, shells around it.

Read from the source with ``ast`` (every ``import``, also those inside functions: a lazy
import is still a dependency), so nothing is imported to check it. Fails on a circle, on a
module importing a layer above its own (a core module importing a driver or a shell, the
vocabulary importing the core) and on a module in no layer.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

HUBD = Path(__file__).resolve().parent.parent / "hubd"

# The layers, bottom up: a module may import its own layer and those below it.
VOCABULARY = ("hubd.events", "hubd.findings", "hubd.clock", "hubd.seams", "hubd.phone", "hubd.schema", "hubd.sms_tag",
              "hubd.kernel_cache")
CORE = ("hubd.core", "hubd.detector", "hubd.config")  # config: the settings the core reads (DetectorParams)
DRIVERS = ("hubd.sensors", "hubd.modem", "hubd.board", "hubd.store", "hubd.sdnotify")
SHELLS = ("hubd.replay", "hubd.daemon", "hubd.control", "hubd.cli", "hubd.hubctl", "hubd.hubctl_text", "hubd.commission", "hubd.report",
          "hubd.__main__")
LAYERS = (VOCABULARY, CORE, DRIVERS, SHELLS)
PURE_CODECS = ("hubd.modem.pdu", "hubd.modem.gsm7")  # bytes in, values out: the core may use them



def under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def module_files(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under ``package`` (a package is its ``__init__``)."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports (``from m import x``: ``m``, and ``m.x`` if a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    wanted: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            wanted += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) if node.level \
                else node.module or ""
            wanted += [base] + [f"{base}.{alias.name}" for alias in node.names]
    found = set()
    for target in wanted:
        while target and target not in known:  # a name imported from a module: the module
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)
    return found


def import_graph(package: Path) -> dict[str, set[str]]:
    files = module_files(package)
    return {name: imports_of(name, path, files) for name, path in files.items()}


def circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Groups of modules that import each other, directly or through others."""

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reached = {m: reach(m) for m in graph}
    groups: list[set[str]] = []
    for m in sorted(graph):
        if m in reached[m] and not any(m in g for g in groups):
            groups.append({m} | {o for o in reached[m] if m in reached[o]})
    return groups


def layer(name: str) -> int | None:
    """The index in LAYERS of ``name``'s layer (the package ``hubd`` itself: the bottom), None if in none."""
    if name == "hubd":
        return 0
    return next((i for i, prefixes in enumerate(LAYERS) if under(name, prefixes)), None)


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """``"m -> d"`` for every import of a layer above ``m``'s (a pure codec is allowed to the core)."""
    found = []
    for m, deps in graph.items():
        for d in deps:
            lm, ld = layer(m), layer(d)
            if lm is not None and ld is not None and ld > lm and not (under(d, PURE_CODECS) and lm <= 1):
                found.append(f"{m} -> {d}")
    return sorted(found)


# -- the walker itself, on a package made for it ------------------------------------------------


def test_the_walker_finds_a_circle_and_a_core_module_importing_a_shell(tmp_path):
    pkg = tmp_path / "hubd"
    (pkg / "detector").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "events.py").write_text("def batch():\n    from .detector.model import Thing\n")
    (pkg / "detector" / "__init__.py").write_text("")
    (pkg / "detector" / "model.py").write_text("from ..events import batch\nfrom hubd import store\n")
    (pkg / "store.py").write_text("import json\n")
    graph = import_graph(pkg)
    assert graph["hubd.events"] == {"hubd.detector.model"}  # a lazy import counts, the name is reduced to its module
    assert graph["hubd.detector.model"] == {"hubd", "hubd.events", "hubd.store"}
    assert circles(graph) == [{"hubd.detector.model", "hubd.events"}]
    assert upward_imports(graph) == ["hubd.detector.model -> hubd.store", "hubd.events -> hubd.detector.model"]


# -- hubd ----------------------------------------------------------------------------------------


def test_every_named_layer_exists():
    """A renamed or moved module must be renamed here too, not silently drop out of the check."""
    names = set(module_files(HUBD))
    missing = [p for p in sum(LAYERS, PURE_CODECS) if not any(under(n, (p,)) for n in names)]
    assert not missing, f"no module under {missing}: update LAYERS in this test"


def test_every_module_is_in_a_layer():
    """A new module is placed in a layer here, so the check below sees it."""
    stray = [m for m in module_files(HUBD) if layer(m) is None]
    assert not stray, f"in no layer: {stray}: place them in LAYERS"


def test_no_module_imports_a_layer_above_its_own():
    """Nothing in the core (hubd.core, hubd.detector, config, the vocabulary) imports a driver or a
    shell, the vocabulary imports nothing of the core, no driver imports a shell."""
    found = upward_imports(import_graph(HUBD))
    assert not found, "imports of a layer above:\n" + "\n".join(found)


def test_no_import_circles():
    found = circles(import_graph(HUBD))
    assert not found, "modules that import each other: " + "; ".join(" <-> ".join(sorted(c)) for c in found)
