"""What a run reports while it trains: TensorBoard traces in its output folder, Trainer's other integrations.

``--report-to`` is checked at parse time in ``training.option_checks``, which imports no Trainer integration
(importing them takes seconds); this module builds the callbacks once training starts.
"""

from __future__ import annotations

from pathlib import Path

from transformers import EarlyStoppingCallback
from transformers.integrations import TensorBoardCallback

from formats.output_folder import TRACES_DIR
from training.config import TrainConfig
from training.option_checks import TENSORBOARD, report_targets


class TracesCallback(TensorBoardCallback):
    """Trainer's TensorBoard logging (loss, learning rate, every eval metric), into the run's traces folder.

    Trainer would write under its ``output_dir`` (our checkpoints, deleted at the end) or a process-wide
    environment variable; and its first entries are the TrainingArguments and the model config as text,
    which hold this machine's full paths: the traces are published, so those two entries are left out.
    Only the main process writes (TensorBoardCallback checks).
    """

    def __init__(self, traces_dir: Path):
        """Args:
        traces_dir: the folder to write the event files into (the run's ``TRACES_DIR``).
        """
        super().__init__()
        self.logging_dir = str(traces_dir)

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero and self.tb_writer is None:
            self._init_summary_writer(args)


def training_callbacks(config: TrainConfig, run_dir: Path) -> list:
    """The callbacks of a run: early stopping when ``--epochs`` is unset, TensorBoard traces when reported to."""
    callbacks = [EarlyStoppingCallback(config.early_stopping_patience)] if config.epochs is None else []
    if TENSORBOARD in report_targets(config.report_to):
        callbacks.append(TracesCallback(run_dir / TRACES_DIR))
    return callbacks
