"""Training dynamics: recorded by row and epoch from the training batches, kept by text key, read back by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from training.quality.dynamics import (
    MAX_VALUES,
    DynamicsRecorder,
    area_under_margin,
    mean_probabilities,
    text_dynamics,
    worth_recording,
    write_dynamics,
)


def test_the_recorder_files_each_batch_by_row_and_epoch():
    recorder = DynamicsRecorder(rows=3)
    assert recorder.logits() is None
    recorder.record(0, torch.tensor([2, 0]), torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    recorder.record(0, torch.tensor([1]), torch.tensor([[5.0, 6.0]]))
    recorder.record(1, torch.tensor([1]), torch.tensor([[7.0, 8.0]]))
    table = recorder.logits()
    assert table.shape == (2, 3, 2) and table.dtype == np.float16
    assert table[0].tolist() == [[3.0, 4.0], [5.0, 6.0], [1.0, 2.0]]
    assert table[1, 1].tolist() == [7.0, 8.0] and np.isnan(table[1, [0, 2]]).all()


def test_the_file_finds_texts_by_their_key_never_by_position(tmp_path):
    path = tmp_path / "dynamics.npz"
    logits = np.arange(12, dtype=np.float16).reshape(2, 3, 2)
    write_dynamics(path, ["I feel great", "so sad", "scared"], logits)
    found = text_dynamics(path, ["scared", "never trained on", "i  feel GREAT"])  # the flag key: case, spaces
    assert found.shape == (2, 3, 2)
    assert found[:, 0].tolist() == logits[:, 2].tolist() and found[:, 2].tolist() == logits[:, 0].tolist()
    assert np.isnan(found[:, 1]).all()
    assert b"so sad" not in path.read_bytes()  # keys, not texts


def test_area_under_margin_by_hand():
    logits = np.array(
        [
            [[2.0, 0.0, 1.0], [0.0, 3.0, 1.0]],  # epoch 1
            [[4.0, 0.0, 1.0], [0.0, 1.0, 2.0]],  # epoch 2
        ]
    )
    given = np.array([0, 1])
    # text 0: (2 - 1) and (4 - 1) -> 2; text 1: (3 - 1) and (1 - 2) -> 0.5
    assert area_under_margin(logits, given).tolist() == pytest.approx([2.0, 0.5])


def test_mean_probabilities_skip_epochs_a_text_missed_and_leave_unmet_texts_nan():
    logits = np.full((2, 3, 2), np.nan)
    logits[0, 0] = [0.0, 0.0]  # softmax 0.5, 0.5
    logits[1, 0] = [np.log(3.0), 0.0]  # softmax 0.75, 0.25
    logits[1, 1] = [0.0, np.log(4.0)]  # met only in epoch 2: 0.2, 0.8
    mean = mean_probabilities(logits, multi_label=False)
    assert mean[0].tolist() == pytest.approx([0.625, 0.375]) and mean[1].tolist() == pytest.approx([0.2, 0.8])
    assert np.isnan(mean[2]).all()
    sigmoid = mean_probabilities(np.zeros((1, 1, 2)), multi_label=True)
    assert sigmoid.tolist() == [[0.5, 0.5]]


def test_a_run_too_large_to_keep_its_dynamics_records_none():
    assert worth_recording(16_000, 10, 6)  # the emotion data: a million values
    assert worth_recording(MAX_VALUES // 28 // 3, 2.5, 28)  # 2.5 epochs reach into a third
    assert not worth_recording(MAX_VALUES // 28 // 3 + 1, 2.5, 28)
    assert not worth_recording(1_000_000, 10, 28)
