"""Training dynamics: each training text's logits as the model met it in every epoch, for ``training.audit``.

Area under the margin (Pleiss et al. 2020) and dataset cartography (Swayamdipta et al. 2020) read how a text's
given label fares while the model learns: a text labelled right is soon fitted, a mislabelled one is fitted late or
never, its margin low all along. The logits are those the loss was computed from, in the training batches
themselves (under dropout, before the step's update): recording them costs no extra forward pass. They stay on
the device until training ends, so that no step waits for a copy. Only a one-process run records them: under
``torchrun`` each process sees its own share of the batches.

The run folder keeps them as ``DYNAMICS_FILE``: a hashed key per training text (``training.corrections.audit
.key_hash``, never the text) and the logits, ``(epochs, texts, classes)`` in float16.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from training.corrections.audit import key_hash
from training.runtime import model_probabilities

ROW_COLUMN = "row"  # the training split's row number, a column the Trainer passes through to ``compute_loss``
# At most this many logits are kept (texts x epochs x classes, 2 bytes each: 100 MB on the device and on disk);
# a larger run records none: its audit uses ``--method logistic`` anyway (docs/audit.md).
MAX_VALUES = 50_000_000


def worth_recording(rows: int, epochs: float, classes: int) -> bool:
    """Whether a run of ``rows`` training texts, ``epochs`` epochs and ``classes`` outputs records its dynamics."""
    return rows * math.ceil(epochs) * classes <= MAX_VALUES


class DynamicsRecorder:
    """Collects the logits of each training batch by row and epoch (on the device, gathered at the end)."""

    def __init__(self, rows: int):
        """Args:
        rows: the training split's number of texts.
        """
        self.rows = rows
        self.batches: list[tuple[int, object, object]] = []  # (epoch, row tensor, logits tensor)

    def record(self, epoch: int, rows, logits) -> None:
        """Keep one batch's logits (detached, in float16, left on their device)."""
        self.batches.append((epoch, rows.detach(), logits.detach().half()))

    def logits(self) -> np.ndarray | None:
        """``(epochs, rows, classes)`` float16, NaN where a row was not met in an epoch; None before any batch."""
        if not self.batches:
            return None
        epochs, classes = max(epoch for epoch, _, _ in self.batches) + 1, self.batches[0][2].shape[-1]
        table = np.full((epochs, self.rows, classes), np.nan, dtype=np.float16)
        for epoch, rows, logits in self.batches:
            table[epoch, rows.cpu().numpy()] = logits.cpu().numpy()
        return table


class RecordsDynamics:
    """A ``transformers.Trainer`` mixin: with a ``dynamics`` recorder set, the training split carries its row
    numbers (:data:`ROW_COLUMN`), kept past Trainer's column filter and taken out of each batch before the model
    sees it; each training batch's logits are recorded by row and epoch."""

    dynamics: DynamicsRecorder | None = None

    def _set_signature_columns_if_needed(self):
        super()._set_signature_columns_if_needed()
        if ROW_COLUMN not in self._signature_columns:
            self._signature_columns.append(ROW_COLUMN)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        rows = inputs.pop(ROW_COLUMN, None)
        if rows is None or self.dynamics is None or not model.training:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        loss, outputs = super().compute_loss(model, inputs, True, num_items_in_batch)
        self.dynamics.record(int(self.state.epoch), rows, outputs.logits)
        return (loss, outputs) if return_outputs else loss


def write_dynamics(path: Path, texts: list[str], logits: np.ndarray) -> None:
    """Save the training texts' keys (``texts`` in the split's order) and their logits as ``path`` (.npz)."""
    keys = np.frombuffer(b"".join(key_hash(text) for text in texts), dtype="<u8")
    np.savez_compressed(path, keys=keys, logits=logits)


def text_dynamics(path: Path, texts: list[str]) -> np.ndarray:
    """The recorded logits of each of ``texts``, ``(epochs, len(texts), classes)``: NaN for a text the run did not
    train on (a text met twice takes the later row)."""
    with np.load(path) as saved:
        keys, logits = saved["keys"], saved["logits"]
    where = {int(key): row for row, key in enumerate(keys)}
    found = np.full((logits.shape[0], len(texts), logits.shape[2]), np.nan, dtype=np.float32)
    for i, text in enumerate(texts):
        row = where.get(int.from_bytes(key_hash(text), "little"))
        if row is not None:
            found[:, i] = logits[:, row]
    return found


def mean_probabilities(logits: np.ndarray, multi_label: bool) -> np.ndarray:
    """Each text's probabilities averaged over the epochs (cartography's confidence, per class): softmax, or each
    label's sigmoid for multi-label models. A text never met stays NaN."""
    probabilities = model_probabilities(logits, multi_label)
    met = ~np.isnan(logits).all(axis=(0, 2))
    mean = np.full(logits.shape[1:], np.nan)
    mean[met] = np.nanmean(probabilities[:, met], axis=0)
    return mean


def area_under_margin(logits: np.ndarray, given: np.ndarray) -> np.ndarray:
    """Single-label: each text's given-class logit minus the largest other logit, averaged over the epochs
    (Pleiss et al. 2020); low first means likely mislabelled. NaN for a text never met."""
    rows = np.arange(logits.shape[1])
    assigned = logits[:, rows, given]
    others = logits.copy()
    others[:, rows, given] = -np.inf
    margins = assigned - others.max(axis=2)
    met = ~np.isnan(margins).all(axis=0)
    mean = np.full(logits.shape[1], np.nan)
    mean[met] = np.nanmean(margins[:, met], axis=0)
    return mean
