"""Architecture guardrails read from the code: layers, import cycles, lazy imports, module size.

Layers: storage <- bot <- adapters. Every rule walks the real tree with ast, and each checker
is also run on small snippets below, so it is seen to fail when it should.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("storage", "bot", "adapters")  # each may import itself and the layers before it
# Optional heavy libraries, only needed for charts and calendar export, may be imported lazily.
LAZY_IMPORTS_ALLOWED = ("matplotlib", "icalendar")
MAX_LINES = 500
LONG_MODULES_ALLOWED = ("bot/practice/pairing.py",)
# Alembic runs env.py and the revisions itself: only the layer rule applies to them.
MIGRATIONS = "storage/migrations/"
TYPE_CHECKING_TESTS = ("TYPE_CHECKING", "typing.TYPE_CHECKING")

Names = tuple[str, ...]
Graph = dict[str, dict[str, int]]  # module -> {module it imports: line of the import}


@dataclass(frozen=True)
class Module:
    name: str  # dotted: "bot.commands" for bot/commands/__init__.py
    path: str  # relative to ROOT, for messages
    source: str

    @property
    def is_package(self) -> bool:
        return self.path.endswith("__init__.py")


@dataclass(frozen=True)
class Import:
    line: int
    statement: str
    modules: Names  # absolute: `import a.b, c` -> a.b, c; `from a import x` -> a
    names: Names  # `from a import x, y` -> x, y; empty for `import`
    in_function: bool
    type_checking: bool


def resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute name of `from <level dots><name> import ...` written in ``module``."""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    base = parts[: max(0, len(parts) - (level - 1))]
    return ".".join([*base, *([name] if name else [])])


def _targets(node: ast.Import | ast.ImportFrom, module: Module) -> tuple[Names, Names]:
    """(modules, names) of a statement: `from .a import x, y` in bot/b.py -> (bot.a,), (x, y)."""
    if isinstance(node, ast.Import):
        return tuple(a.name for a in node.names), ()
    base = node.module or ""
    if node.level:
        base = resolve(module.name, module.is_package, node.level, node.module)
    return (base,), tuple(a.name for a in node.names)


def imports(module: Module) -> list[Import]:
    """Every import statement of ``module``, wherever it stands, relative ones made absolute."""
    found: list[Import] = []

    def walk(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules, names = _targets(node, module)
            segment = ast.get_source_segment(module.source, node) or ""
            statement = " ".join(segment.split())
            found.append(Import(node.lineno, statement, modules, names, in_function, type_checking))
        elif isinstance(node, ast.If) and ast.unparse(node.test) in TYPE_CHECKING_TESTS:
            for stmt in node.body:
                walk(stmt, in_function, True)
            for stmt in node.orelse:
                walk(stmt, in_function, type_checking)
        else:
            inner = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            for child in ast.iter_child_nodes(node):
                walk(child, inner, type_checking)

    walk(ast.parse(module.source, filename=module.path), False, False)
    return found


def _top(name: str) -> str:
    return name.split(".")[0]


def _may_import(importer: str, imported: str) -> bool:
    layer, other = _top(importer), _top(imported)
    return other not in LAYERS or LAYERS.index(other) <= LAYERS.index(layer)


def layer_offences(modules: list[Module]) -> list[str]:
    """Imports of one of our packages that the importing layer may not use."""
    return [
        f"{m.path}:{imp.line}: {imp.statement}"
        for m in modules
        for imp in imports(m)
        if not all(_may_import(m.name, t) for t in imp.modules)
    ]


def function_import_offences(modules: list[Module]) -> list[str]:
    """Imports inside functions or methods, except of an allow-listed optional library."""
    return [
        f"{m.path}:{imp.line}: {imp.statement}"
        for m in modules
        for imp in imports(m)
        if imp.in_function
        and not imp.type_checking
        and not all(_top(t) in LAZY_IMPORTS_ALLOWED for t in imp.modules)
    ]


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph(modules: list[Module]) -> Graph:
    """Which of our modules each module imports at run time, at module level.

    `import a.b.c` also imports the packages a and a.b; `from a import x` imports a.x when
    that is a module, else a. A module's own parent packages are already being imported when
    it runs, so reaching them only as a parent of what it imports is no edge.
    """
    known = {m.name for m in modules}
    graph: Graph = {m.name: {} for m in modules}
    for m in modules:
        own = {m.name, *_ancestors(m.name)}
        for imp in imports(m):
            if imp.in_function or imp.type_checking:
                continue
            if imp.names:
                base = imp.modules[0]
                targets = [f"{base}.{n}" if f"{base}.{n}" in known else base for n in imp.names]
            else:
                targets = list(imp.modules)
            for target in targets:
                reached = [a for a in _ancestors(target) if a not in own] + [target]
                for name in reached:
                    if name in known and name != m.name:
                        graph[m.name].setdefault(name, imp.line)
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, {})):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = stack[stack.index(node) :]
            del stack[stack.index(node) :]
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def describe_cycles(graph: Graph, paths: Mapping[str, str]) -> list[str]:
    """Each cycle with the imports that close it, as "file:line imports module"."""
    return [
        " <-> ".join(cycle)
        + ": "
        + "; ".join(
            f"{paths[a]}:{graph[a][b]} imports {b}" for a in cycle for b in graph[a] if b in cycle
        )
        for cycle in cycles(graph)
    ]


def long_modules(modules: list[Module], limit: int = MAX_LINES) -> list[str]:
    return [
        f"{m.path}: {len(m.source.splitlines())} lines"
        for m in modules
        if len(m.source.splitlines()) > limit and m.path not in LONG_MODULES_ALLOWED
    ]


def our_modules(with_migrations: bool = False) -> list[Module]:
    found = []
    for path in sorted(p for layer in LAYERS for p in (ROOT / layer).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if with_migrations or not rel.startswith(MIGRATIONS):
            name = rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
            found.append(Module(name, rel, path.read_text(encoding="utf-8")))
    # The walk must see every layer, or the tests would pass on nothing.
    assert {_top(m.name) for m in found} == set(LAYERS)
    return found


def _report(offences: list[str], rule: str) -> str:
    return f"{len(offences)} {rule}:\n" + "\n".join(offences)


def test_each_layer_imports_only_the_layers_below_it() -> None:
    found = layer_offences(our_modules(with_migrations=True))
    assert not found, _report(found, "imports against storage <- bot <- adapters")


def test_our_modules_import_one_another_without_cycles() -> None:
    modules = our_modules()
    found = describe_cycles(import_graph(modules), {m.name: m.path for m in modules})
    assert not found, _report(found, "import cycles at run time")


def test_imports_stand_at_module_level() -> None:
    found = function_import_offences(our_modules())
    assert not found, _report(found, f"imports in functions; only {LAZY_IMPORTS_ALLOWED} may be")


def test_no_module_is_over_500_lines() -> None:
    found = long_modules(our_modules())
    assert not found, _report(found, f"modules over {MAX_LINES} lines")


def _modules(sources: dict[str, str]) -> list[Module]:
    """Snippet modules by dotted name; a name that others sit under is a package."""
    return [
        Module(name, name.replace(".", "/") + ("/__init__.py" if package else ".py"), source)
        for name, source in sources.items()
        for package in [any(other.startswith(name + ".") for other in sources)]
    ]


@pytest.mark.parametrize(
    ("module", "is_package", "level", "name", "expected"),
    [
        ("bot.commands.tracker", False, 1, "common", "bot.commands.common"),
        ("bot.commands", True, 1, "common", "bot.commands.common"),
        ("bot.commands.tracker", False, 2, None, "bot"),
        ("bot.commands.tracker", False, 3, "storage.repo", "storage.repo"),
        ("storage.repo", False, 2, "bot", "bot"),
    ],
)
def test_relative_imports_resolve(
    module: str, is_package: bool, level: int, name: str | None, expected: str
) -> None:
    assert resolve(module, is_package, level, name) == expected


@pytest.mark.parametrize(
    ("name", "source", "offending_line"),
    [
        ("storage.repo", "import bot.core\n", 1),
        ("storage.repo", "import os\nfrom bot import core\n", 2),
        ("storage.repo", "from ..bot import x\n", 1),
        ("storage.repo", "def f() -> None:\n    from adapters.slack import app\n", 2),
        ("bot.core", "if TYPE_CHECKING:\n    import sqlalchemy, adapters\n", 2),
        ("bot.commands.tracker", "from ...adapters.slack import blocks\n", 1),
        ("storage.repo", "import sqlalchemy, storage_extra\nfrom . import models\n", None),
        ("bot.core", "from storage.repo import Repo\nfrom .context import Context\n", None),
        ("adapters.serve", "import bot.core\nfrom storage import Store\nfrom . import x\n", None),
    ],
)
def test_the_layer_checker(name: str, source: str, offending_line: int | None) -> None:
    found = [f.split(": ")[0] for f in layer_offences(_modules({name: source}))]
    path = name.replace(".", "/") + ".py"
    assert found == ([f"{path}:{offending_line}"] if offending_line else [])


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("import json\n", 0),
        ("def f() -> None:\n    import json\n", 1),
        ("class C:\n    async def m(self) -> None:\n        from bot import core\n", 1),
        ("def f() -> None:\n    from matplotlib.figure import Figure\n    import icalendar\n", 0),
        ("def f() -> None:\n    import matplotlib, json\n", 1),
        ("def f() -> None:\n    if TYPE_CHECKING:\n        import bot.core\n", 0),
    ],
)
def test_the_function_import_checker(source: str, found: int) -> None:
    assert len(function_import_offences(_modules({"bot.example": source}))) == found


def test_tarjan_finds_a_two_module_cycle_and_leaves_its_tail() -> None:
    graph: Graph = {"a": {"b": 1}, "b": {"a": 2}, "c": {"a": 3}, "d": {}}
    assert cycles(graph) == [["a", "b"]]
    paths = {"a": "a.py", "b": "b.py"}
    assert describe_cycles(graph, paths) == ["a <-> b: a.py:1 imports b; b.py:2 imports a"]


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        # `from p import b` imports the module p.b; `from . import a` is p.a.
        ({"p": "", "p.a": "from p import b\n", "p.b": "from . import a\n"}, [["p.a", "p.b"]]),
        # Neither a TYPE_CHECKING import nor one inside a function runs at import time.
        ({"a": "import b\n", "b": "if TYPE_CHECKING:\n    import a\n"}, []),
        ({"a": "import b\n", "b": "def f() -> None:\n    import a\n"}, []),
        # A package importing its submodules is no cycle, unless one of them needs the package.
        ({"pkg": "from pkg.a import A\n", "pkg.a": "from pkg.b import B\n", "pkg.b": ""}, []),
        ({"pkg": "from pkg.a import A\n", "pkg.a": "from pkg import B\n"}, [["pkg", "pkg.a"]]),
        # `import p.s.m` runs p/__init__.py too.
        ({"p": "import x\n", "p.s": "", "p.s.m": "", "x": "import p.s.m\n"}, [["p", "x"]]),
    ],
)
def test_the_cycle_checker_on_modules(sources: dict[str, str], expected: list[list[str]]) -> None:
    assert cycles(import_graph(_modules(sources))) == expected


def test_the_size_checker() -> None:
    sources = {"bot.big": "x = 1\n" * 501, "bot.fits": "x = 1\n" * 500}
    sources["bot.practice.pairing"] = "x = 1\n" * 900
    assert long_modules(_modules(sources)) == ["bot/big.py: 501 lines"]
