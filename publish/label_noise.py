"""The model card's sentences on label noise: what ``training.audit`` estimated, and ``--correct-eval``'s figures.

- ``label_noise.json`` (``training.audit``): one sentence, the share of labels that look wrong in each audited
  split with the method, e.g. "About 4.2% of the training labels look wrong (confident learning, 5-fold logistic
  regression on the fine-tuned embeddings; python -m training.audit)."
- ``metrics.json["eval_before_corrections"]`` (``--correct-eval``): the headline split's macro F1 and accuracy
  on the evaluation data before and after an audit corrected it.
"""

from __future__ import annotations

from pathlib import Path

from formats.output_folder import LABEL_NOISE_FILE
from publish.filters import md_text, pct
from publish.folder import read_optional_json

SPLIT_WORDS = {"train": "training", "validation": "validation", "test": "test"}


def label_noise_lines(folder: Path, raw_metrics: dict) -> tuple[str, ...]:
    """The card's sentences on label noise for the output folder ``folder`` (none when it was never audited)."""
    lines = []
    estimate = read_optional_json(Path(folder) / LABEL_NOISE_FILE) or {}
    parts = [
        f"{pct(split['share'])}% of the {SPLIT_WORDS.get(name, md_text(name))} labels ({md_text(split['method'])})"
        for name, split in (estimate.get("splits") or {}).items()
        if isinstance(split, dict) and isinstance(split.get("share"), int | float) and split.get("method")
    ]
    if parts:
        lines.append(f"About {', and '.join(parts)} look wrong (`python -m training.audit`; figure below).")
    before = raw_metrics.get("eval_before_corrections") or {}
    after = raw_metrics.get("eval") or {}
    for name in ("test", "validation"):
        if isinstance(before.get(name), dict) and isinstance(after.get(name), dict):
            old, new = before[name], after[name]
            lines.append(
                f"The {name} labels were corrected by an audit (`--correct-eval`): on the {name} split as it was, "
                f"macro F1 {pct(old.get('f1_macro'))}% and accuracy {pct(old.get('accuracy'))}%; on the corrected "
                f"split, {pct(new.get('f1_macro'))}% and {pct(new.get('accuracy'))}%."
            )
            break
    return tuple(lines)
