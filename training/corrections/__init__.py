"""The corrections loop: flags from the Space, review sheets and ``training.ask`` sheets back into training.

- ``records.py``: read flag records from a flag folder, a JSON-lines file or a CSV (the record itself is
  ``formats.flag_record``);
- ``votes.py``: what a record votes for, a label or a set of labels;
- ``merge.py``: the rules that turn votes into relabelled and added training texts (docs/corrections.md);
- ``apply.py``: the merge on a training dataset, and the summary printed;
- ``agreement.py``: how much flaggers agree (Krippendorff's alpha) and agree with the model;
- ``bursts.py``: warnings about bursts of flags.
"""

from training.corrections.apply import apply_corrections, format_summary
from training.corrections.merge import (
    DEFAULT_MAX_NEW_ANONYMOUS,
    DEFAULT_MAX_NEW_PER_CLIENT,
    DEFAULT_MIN_VOTES,
    merge_corrections,
)
from training.corrections.records import load_flag_records

__all__ = [
    "DEFAULT_MAX_NEW_ANONYMOUS",
    "DEFAULT_MAX_NEW_PER_CLIENT",
    "DEFAULT_MIN_VOTES",
    "apply_corrections",
    "format_summary",
    "load_flag_records",
    "merge_corrections",
]
