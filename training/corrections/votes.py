"""What a flag record votes for: one label (single-label data) or a set of labels (multi-label data).

A vote is a label name, or for multi-label data a tuple of label names in the dataset's label order (so
that two people who ticked the same boxes cast equal votes, whatever order they ticked them in). The empty
tuple is a vote too: "none of these labels".

Where a record gives its answer:

- ``corrected_labels``: a list (the Space's multi-label records, JSON lines), or a CSV cell of the export or
  review sheet, ``;``- or ``,``-separated, where an empty cell is the empty set (the Space always stores a
  set, possibly empty);
- ``corrected_label`` (``label`` in a hand-made file, and in a ``training.ask`` sheet): one label name; for
  multi-label data it may also list several, ``joy,love`` or ``joy;love``, and ``none`` is the empty set
  (an empty cell is no answer, as for single-label data).
"""

from __future__ import annotations

from formats.flag_record import parse_set

Vote = str | tuple[str, ...]
NONE_WORD = "none"  # the empty set in a cell where an empty cell means "not answered"


class NotAVote(Exception):
    """Why a record casts no usable vote: a rejection ``code`` and its ``reason`` (corrections' rule 1)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def record_vote(record: dict, label_names: list[str], multi_label: bool) -> Vote:
    """The vote of ``record``.

    Args:
        record: a flag record (``training.corrections.records``).
        label_names: the classes of the dataset, in order.
        multi_label: whether the dataset is multi-label.

    Raises:
        NotAVote: no answer, an answer that is not a class, or a set of labels on single-label data.
    """
    single, several = record.get("corrected_label"), record.get("corrected_labels")
    if not multi_label:
        if several is not None and not single:
            if not (isinstance(several, str) and len(parse_set(several)) == 1):  # "labels: joy" by hand is fine
                raise NotAVote("set_on_single_label", "a set of labels (a multi-label flag) on single-label data")
            single = parse_set(several)[0]
        if not single:
            raise NotAVote("no_label", "no corrected label")
        if single not in label_names:
            raise NotAVote(
                "not_a_class",
                f"corrected label {single!r} is not a class of the dataset (expected one of: {', '.join(label_names)})",
            )
        return single
    answer = several if several is not None else single
    if isinstance(answer, list):
        names = answer
    elif not answer or not answer.strip():
        raise NotAVote("no_label", "no corrected labels (write none for the empty set)")
    else:
        names = [] if answer.strip().lower() == NONE_WORD and NONE_WORD not in label_names else parse_set(answer)
    unknown = [name for name in names if name not in label_names]
    if unknown:
        raise NotAVote(
            "not_a_class",
            f"corrected labels {', '.join(map(repr, unknown))} are not classes of the dataset "
            f"(expected some of: {', '.join(label_names)})",
        )
    return tuple(name for name in label_names if name in names)


def shown(vote: Vote) -> str:
    """A vote as messages print it: ``'joy'``, or ``{joy, love}`` / ``{} (none of the labels)``."""
    if isinstance(vote, str):
        return repr(vote)
    return "{" + ", ".join(vote) + "}" if vote else "{} (none of the labels)"


def prediction_of(record: dict, label_names: list[str], multi_label: bool) -> Vote | None:
    """What the model predicted for ``record`` (its ``predicted_label`` or ``predicted_labels``), when it says."""
    if multi_label:
        predicted = record.get("predicted_labels")
        return None if predicted is None else tuple(name for name in label_names if name in predicted)
    predicted = record.get("predicted_label")
    return predicted or None
