"""Apply the corrections merge (``training.corrections.merge``) to a training dataset, and print its summary."""

from __future__ import annotations

from pathlib import Path

from formats.output_folder import CORRECTIONS_FILE
from training.corrections.audit import TRAIN, audit_decisions, drop_rows
from training.corrections.merge import (
    merge_corrections,
)
from training.corrections.records import load_flag_records
from training.corrections.votes import Vote
from training.errors import ToolkitError
from training.paths import portable_name


def apply_run_corrections(data, config, held_out_texts) -> tuple:
    """A run's ``--corrections`` applied to its training split with the run's own rules: the one place training
    and ``training.audit`` (which reads a run's data as the run saw it) apply them.

    Args:
        data: the run's ``LoadedData``.
        config: its ``TrainConfig`` (``corrections``, ``correct_eval`` and the merge's rules).
        held_out_texts: the validation and test texts.

    Returns:
        ``(data with the corrected training split, the corrections.json summary)``.
    """
    from training.data.load import replace_splits

    train, summary = apply_corrections(
        data.splits["train"],
        data.labels,
        config.corrections,
        held_out_texts,
        multi_label=data.multi_label,
        correct_eval=config.correct_eval,
        min_votes=config.min_votes,
        max_new_per_client=config.max_new_per_client or None,
        trust_anonymous_votes=config.trust_anonymous_votes,
        max_new_anonymous=config.max_new_anonymous or None,
    )
    return replace_splits(data, {**data.splits, "train": train}), summary


def apply_corrections(
    train_dataset,
    label_names: list[str],
    path: str | Path,
    held_out_texts=(),
    *,
    multi_label: bool = False,
    correct_eval: bool = False,
    **rules,
):
    """Read flags from ``path`` and merge them into ``train_dataset`` (rules in the module docstring).

    Args:
        train_dataset: a ``datasets.Dataset`` with ``text`` (str) and ``label`` (a class id; multi-label: a
            list of class ids).
        label_names: class names, indexed by class id.
        path: a flag folder, ``.jsonl`` or ``.csv``.
        held_out_texts: the validation and test texts (a new text among them is rejected).
        multi_label: the data is multi-label (each vote is a set of labels).
        correct_eval: ``--correct-eval`` was given (recorded in the summary; ``training.corrections.audit``).
        **rules: the merge's rules, as :func:`training.corrections.merge.merge_corrections` takes them
            (``min_votes``, ``max_new_per_client``, ``trust_anonymous_votes``, ``max_new_anonymous``).

    Returns:
        ``(new_train_dataset, summary)`` — the summary is the ``corrections.json`` content.

    Raises:
        ToolkitError: unreadable or broken flag input, or a negative ``max_new_anonymous``.
    """
    from datasets import Dataset, Features

    cap = rules.get("max_new_anonymous")
    if cap is not None and cap < 0:
        raise ToolkitError(f"config error: --max-new-anonymous must be >= 0 (0: no cap), got {cap}")
    records, decisions = audit_decisions(load_flag_records(path), label_names, multi_label, path)
    records += decisions.relabel  # the owner's: each decides its text outright
    labels = [as_vote(label, label_names, multi_label) for label in train_dataset["label"]]
    texts, new_labels, summary = merge_corrections(
        list(train_dataset["text"]),
        labels,
        records,
        label_names,
        held_out_texts,
        multi_label=multi_label,
        **rules,
    )
    features = Features({name: train_dataset.features[name] for name in ("text", "label")})
    ids = [as_ids(vote, label_names) for vote in new_labels]
    merged = drop_rows(
        Dataset.from_dict({"text": texts, "label": ids}, features=features), decisions.dropped.get(TRAIN)
    )
    audit = {"audit": decisions.summary(correct_eval)} if decisions.counts else {}
    return merged, {"source": portable_name(str(path)), **summary, **audit}  # published: the name, not the local path


def as_vote(label, label_names: list[str], multi_label: bool) -> Vote:
    """A training row's label (a class id, or a list of them) as the merge compares votes."""
    if multi_label:
        return tuple(label_names[i] for i in sorted(label))
    return label_names[label]


def as_ids(vote: Vote, label_names: list[str]):
    """A vote back as the dataset stores it: a class id, or a sorted list of them."""
    if isinstance(vote, str):
        return label_names.index(vote)
    return sorted(label_names.index(name) for name in vote)


def format_summary(summary: dict, limit: int = 10) -> str:
    """A few lines for the terminal: the counts, why flags were dropped, the busiest clients, the first rejections."""
    lines = [
        f"corrections from {summary['source']}: {summary['flags_read']} flags read, {summary['used']} used "
        f"({summary['relabelled']} training rows relabelled, {summary['added']} texts added), "
        f"{summary['rejected']} rejected, {summary['conflicts_resolved']} conflicts resolved "
        f"(--min-votes {summary['min_votes']}, --max-new-per-client {summary['max_new_per_client']}, "
        f"--max-new-anonymous {summary.get('max_new_anonymous')})"
    ]
    if summary["without_id"] or summary["without_time"]:
        lines.append(
            f"  {summary['without_id']} records had no id (derived from text and label), "
            f"{summary['without_time']} had no time (file order breaks ties)"
        )
    if summary["dropped"]:
        lines.append("  dropped: " + ", ".join(f"{code} {n}" for code, n in summary["dropped"].items()))
    clients = list(summary["clients"].items())
    lines.append(
        f"  {len(clients)} clients; busiest: "
        + ", ".join(f"{client} {c['flags']} flags ({c['used']} used)" for client, c in clients[:3])
    )
    lines += queue_and_agreement_lines(summary)
    for proposal in summary.get("proposals", [])[:limit]:
        lines.append(
            f"  proposal (anonymous clients only, {proposal['clients']}): {proposal['label']!r} for "
            f"{proposal['text'][:60]!r} — accept it in the review sheet to apply it"
        )
    lines += [f"  WARNING: {warning}" for warning in summary.get("warnings", [])]
    listed = [item for item in summary["rejections"] if item["code"] != "blank"]  # counted above, not news
    for item in listed[:limit]:
        lines.append(f"  rejected {item['id']} from {item['client']}: {item['reason']} — {item['text'][:60]!r}")
    if len(listed) > limit:
        lines.append(f"  ... and {len(listed) - limit} more (see {CORRECTIONS_FILE})")
    return "\n".join(lines)


def queue_and_agreement_lines(summary: dict) -> list[str]:
    """The summary's lines on ``training.ask`` sheets and on how much the clients agree (README: what a low
    figure means)."""
    lines = []
    queue = summary.get("from_queue") or {}
    if queue.get("rows"):
        lines.append(
            f"  review queue (training.ask): {queue['rows']} rows, {queue['used']} labels used, "
            f"{queue['blank']} left blank (skipped)"
        )
    if summary.get("anonymous_new_capped"):
        lines.append(
            f"  {summary['anonymous_new_capped']} new texts chosen only by anonymous clients not added "
            f"(--max-new-anonymous {summary['max_new_anonymous']}): accept them in the review sheet to add them"
        )
    agreement = summary.get("agreement") or {}
    left_out = agreement.get("left_out")
    left_out = f" ({left_out} anonymous votes left out; --trust-anonymous-votes counts them)" if left_out else ""
    if agreement.get("texts"):
        alpha = "undefined (every answer the same)" if agreement["alpha"] is None else f"{agreement['alpha']:.2f}"
        lines.append(
            f"  agreement: Krippendorff's alpha {alpha} over {agreement['texts']} texts with 2+ clients{left_out}"
            + (" — below 0.67: let the review sheet decide" if (agreement["alpha"] or 1) < 0.67 else "")
        )
    elif left_out:
        lines.append(f"  agreement: no text has votes of 2+ signed-in clients{left_out}")
    if agreement.get("votes"):
        lines.append(
            f"  {agreement['agree_with_model']:.0%} of {agreement['votes']} votes chose the model's own prediction"
        )
    return lines
