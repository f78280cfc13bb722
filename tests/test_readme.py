"""README is the map a newcomer reads in minutes: at most 300 lines, and its Layout names folders that exist."""

from __future__ import annotations

import re

from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
MAX_LINES = 300


def test_readme_stays_short():
    assert len(README.splitlines()) <= MAX_LINES, "move the long parts to docs/"


def test_every_folder_of_the_layout_exists():
    layout = README.split("## Layout", 1)[1].split("```")[1]
    top, named = None, []
    for line in layout.splitlines():
        match = re.match(r"^( *)([\w.]+)/ ", line + " ")
        if not match:
            continue
        top = match[2] if not match[1] else top
        named.append(match[2] if not match[1] else f"{top}/{match[2]}")
    assert {"training", "training/data", "formats", "space"} <= set(named)
    assert [name for name in named if not (REPO_ROOT / name).is_dir()] == []
