"""The import plan of the product: no cycles, no arrow back up, and the Space imports nothing but ``formats``.

Every ``import`` of the product's modules (module level and inside functions alike) is read with ``ast``; a
module's layer is the room it lives in. An arrow may only point to the same layer or one below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO_ROOT

PARTS = ("formats", "training", "publish", "space", "emotk")
# Lowest first. A module imports only its own layer or lower ones: the rooms of training/ never import the
# pipeline or a command, the infrastructure never imports a room, formats/ imports nothing of ours.
LAYERS = [
    ("formats",),
    (
        "training.errors",
        "training.paths",
        "training.offline",
        "training.runtime",
        "training.distributed",
        "training.backbones",
    ),
    ("training.data", "training.corrections", "training.quality"),
    (
        "training.config",
        "training.option_checks",
        "training.cli",
        "training.objectives",
        "training.train",
        "training.traces",
        "training.stages",
        "training.tuning",
        "training.console",
        "training.corrected_eval",
    ),
    ("training.export", "training.compare", "training.predict", "training.ask", "training.audit"),
    ("publish",),
    ("training.__main__", "training"),  # the pipeline: --push-to-hub calls publish at its end
    ("emotk",),  # the console command: hands each subcommand to its part
]
SPACE_ALLOWED = {"formats"}  # the Space is deployed alone, with formats/ beside app.py


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def product_modules() -> dict[str, Path]:
    return {module_name(p): p for part in PARTS for p in (REPO_ROOT / part).rglob("*.py")}


def imports_of(path: Path) -> set[str]:
    """Every module name an ``import`` or ``from ... import`` of ``path`` names (relative imports resolved)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def layer(module: str) -> int | None:
    found = [i for i, rooms in enumerate(LAYERS) for room in rooms if module == room or module.startswith(room + ".")]
    return found[0] if found else None


def graph() -> dict[str, set[str]]:
    """Module -> the product modules it imports (a name that is an attribute, not a module, is left out)."""
    modules = product_modules()
    return {name: {i for i in imports_of(path) if i in modules and i != name} for name, path in modules.items()}


def test_every_module_of_training_and_publish_has_a_layer():
    assert [m for m in graph() if m.split(".")[0] != "space" and layer(m) is None] == []


def test_no_arrow_points_back_up():
    back = [
        f"{module} -> {target}"
        for module, targets in graph().items()
        if layer(module) is not None
        for target in targets
        if layer(target) is not None and layer(target) > layer(module)
    ]
    assert back == []


def test_no_cycles():
    edges, state, cycles = graph(), {}, []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(edges.get(module, ())):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_space_imports_only_formats_of_ours():
    for path in (REPO_ROOT / "space").glob("*.py"):
        ours = {name.split(".")[0] for name in imports_of(path)} & {"training", "publish", "formats", "bench"}
        assert ours <= SPACE_ALLOWED, f"space/{path.name} imports {sorted(ours - SPACE_ALLOWED)}"


def test_formats_has_no_third_party_dependency():
    import sys

    for path in (REPO_ROOT / "formats").glob("*.py"):
        roots = {name.split(".")[0] for name in imports_of(path)}
        assert roots <= set(sys.stdlib_module_names) | {"formats", "__future__"}, path.name
