"""The options that say how a data source is read, declared once for every command that reads one.

``python -m training`` (its ``TrainConfig``), ``training.predict`` and ``training.ask`` take the same reading
options with the same defaults and help: :class:`ReadingOptions` holds them, ``TrainConfig`` makes its fields
with :func:`reading_field`, and ``training.cli.add_reading_options`` makes argparse options of them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

DEFAULT_SEPARATOR = ","


@dataclass(frozen=True)
class ReadingOptions:
    """How the rows of a data source are read: its text, and its label or labels."""

    text_column: str = field(
        default="text", metadata={"help": "Column holding the text (csv/tsv/json/jsonl/parquet/Hub)."}
    )
    label_column: str = field(
        default="label", metadata={"help": "Column holding the label (csv/tsv/json/jsonl/parquet/Hub)."}
    )
    label_columns: str | None = field(
        default=None,
        metadata={
            "help": "Multi-label data with one 0/1 (or true/false) column per label: the columns, comma-separated "
            "(csv/tsv/json/jsonl/parquet), read instead of --label-column. The columns' names are the labels' "
            "names (training takes them in this order; a trained model's commands match them to its labels)."
        },
    )
    multi_label: bool = field(
        default=False,
        metadata={
            "help": "Read the data as multi-label: a label cell holds several names separated by --label-separator "
            "(e.g. 'joy,love'). Without it, a label column that holds lists is read as sets of labels."
        },
    )
    label_separator: str = field(
        default=DEFAULT_SEPARATOR,
        metadata={"help": "With --multi-label (only): what separates the label names in a cell."},
    )


def reading_field(name: str) -> Any:
    """A dataclass field declared as :class:`ReadingOptions`'s field ``name`` (its default and its help), for
    a dataclass of a command's options that includes it, in the place it chooses."""
    declared = next(f for f in dataclasses.fields(ReadingOptions) if f.name == name)
    return field(default=declared.default, metadata=declared.metadata)


def separator_given(on_command_line: bool, in_file: str | None) -> bool:
    """Whether ``--label-separator`` counts as given: on the command line whatever its value, in a ``--config``
    file only when it is not the default (a saved train_config.json holds every option)."""
    return on_command_line or in_file not in (None, DEFAULT_SEPARATOR)


def separator_without_multi_label(separator: str) -> str:
    """Why a ``--label-separator`` given without ``--multi-label`` is refused (it would be ignored in silence:
    a cell ``joy,love`` would be read as one label named ``joy,love``), for a one-line error."""
    return (
        f"--label-separator {separator!r} is read only with --multi-label — add --multi-label to read each label "
        "cell as names separated by it, or leave --label-separator out"
    )
