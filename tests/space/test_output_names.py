"""The Space's copy of the output folder's names (space/backend.py) equals their home, training/outputs.py.

The Space is deployed alone and cannot import ``training``, so it keeps its own copy of the names it reads;
these tests fail when the two disagree, or when another file of space/ spells one of the names itself.
"""

from __future__ import annotations

import ast

import backend
import pytest

from tests.space.conftest import SPACE_DIR
from training import outputs


def test_the_onnx_folder_and_its_files_per_backend_are_training_s():
    assert backend.ONNX_DIR == outputs.ONNX_DIR
    assert backend.ONNX_FILES == outputs.ONNX_FILES
    for name in outputs.ONNX_FILES:
        assert backend.onnx_path(name) == outputs.onnx_path(name)


def test_the_files_the_space_reads_are_named_as_training_names_them():
    """The model's config and tokenizer (the ONNX backend reads them without transformers) and the reports of
    the page's header."""
    assert backend.CONFIG_FILE == outputs.CONFIG_FILE
    assert backend.TOKENIZER_CONFIG_FILE == outputs.TOKENIZER_CONFIG_FILE
    assert backend.TOKENIZER_FILE in outputs.TOKENIZER_FILES
    assert backend.METRICS_FILE == outputs.METRICS_FILE
    assert backend.TRAIN_CONFIG_FILE == outputs.TRAIN_CONFIG_FILE


def test_the_backend_names_and_their_earlier_spellings_are_training_s():
    assert (backend.TORCH, backend.ONNX_FP32, backend.ONNX_INT8) == (
        outputs.TORCH,
        outputs.ONNX_FP32,
        outputs.ONNX_INT8,
    )
    assert backend.BACKENDS == outputs.BACKENDS
    assert backend.BACKEND_ALIASES == outputs.BACKEND_ALIASES
    # The Space's own values beside them do not collide with a backend name or an alias.
    assert {backend.AUTO, backend.ANY_ONNX}.isdisjoint({*outputs.BACKENDS, *outputs.BACKEND_ALIASES})
    assert set(backend.ONNX_PREFERENCE) == set(outputs.ONNX_FILES)


def output_folder_names() -> set[str]:
    """Every file name of training/outputs.py (constants, tuples and dicts of names), and ``onnx/``."""
    names = {f"{outputs.ONNX_DIR}/", *outputs.ONNX_FILES.values()}
    for key, value in vars(outputs).items():
        if key.isupper():
            items = [value] if isinstance(value, str) else value if isinstance(value, tuple | dict) else []
            names.update(item for item in items if isinstance(item, str) and "." in item)
    return names


def string_literals(path) -> list[str]:
    """Every string constant of a module: docstrings, messages, the literal parts of f-strings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


@pytest.mark.parametrize("module", sorted(p.name for p in SPACE_DIR.glob("*.py") if p.name != "backend.py"))
def test_no_other_file_of_space_spells_an_output_folder_name(module):
    names = output_folder_names()
    assert {"config.json", "metrics.json", "model_int8.onnx", "onnx/"} <= names
    found = {name for text in string_literals(SPACE_DIR / module) for name in names if name in text}
    assert not found, f"space/{module} spells {sorted(found)}: use the copy in space/backend.py"
