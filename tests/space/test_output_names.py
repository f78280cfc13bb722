"""The Space names the output folder's files only through their home, formats/output_folder.py: no file of
space/ spells one itself."""

from __future__ import annotations

import ast

import backend
import pytest

from formats import output_folder as outputs
from tests.space.conftest import SPACE_DIR


def test_the_space_s_own_backend_values_are_no_backend_name():
    assert {backend.AUTO, backend.ANY_ONNX}.isdisjoint({*outputs.BACKENDS, *outputs.BACKEND_ALIASES})


def output_folder_names() -> set[str]:
    """Every file name of formats/output_folder.py (constants, tuples and dicts of names), and ``onnx/``."""
    names = {f"{outputs.ONNX_DIR}/", *outputs.ONNX_FILES.values()}
    for key, value in vars(outputs).items():
        if key.isupper():
            items = [value] if isinstance(value, str) else value if isinstance(value, tuple | dict) else []
            names.update(item for item in items if isinstance(item, str) and "." in item)
    return names


def string_literals(path) -> list[str]:
    """Every string constant of a module but its docstrings: messages, the literal parts of f-strings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


@pytest.mark.parametrize("module", sorted(p.name for p in SPACE_DIR.glob("*.py")))
def test_no_other_file_of_space_spells_an_output_folder_name(module):
    names = output_folder_names()
    assert {"config.json", "metrics.json", "model_int8.onnx", "onnx/"} <= names
    found = {name for text in string_literals(SPACE_DIR / module) for name in names if name in text}
    assert not found, f"space/{module} spells {sorted(found)}: import it from formats.output_folder"
