"""Fine-tune a sequence classifier with ``transformers.Trainer``.

Fast where it matters on a GPU: texts are tokenized once (``datasets.map``, batched) without padding;
``DataCollatorWithPadding`` pads each batch only to its longest text, and batches group texts of
similar length, so little compute goes to padding; bf16 (fp16 where bf16 is unsupported) and data
loader workers with pinned memory keep the GPU fed, and nothing waits for the GPU on each step
(non-blocking copies, no per-step NaN check). The same code runs on CPU, and under ``accelerate
launch`` / ``torchrun`` as one job of several processes (``training.distributed``).
"""

from __future__ import annotations

import os
import platform
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
import pyarrow.compute
import torch
from transformers import Trainer
from transformers.trainer_pt_utils import LengthGroupedSampler

from formats.command_line import first_line
from formats.model_config import MULTI_LABEL_PROBLEM, SINGLE_LABEL_PROBLEM, is_multi_label
from training.backbones import Backbone
from training.config import TrainConfig
from training.data.labels import multi_hot
from training.distributed import DDP_TIMEOUT_S, data_parallel_replicas
from training.errors import HubUnavailable, ToolkitError
from training.objectives import loss_function, multi_label_trainer_metrics, start_at_priors, trainer_metrics
from training.option_checks import NO_REPORTING, TENSORBOARD, report_targets
from training.quality.dynamics import ROW_COLUMN, DynamicsRecorder, RecordsDynamics, worth_recording
from training.traces import training_callbacks


@dataclass(frozen=True)
class Hardware:
    """Where the run trains, and in which precision (``train_config.json`` "hardware")."""

    device: str  # "cpu" | "cuda"
    name: str
    precision: str  # "fp32" | "bf16" | "fp16"


@dataclass
class FineTuned:
    """A trained model, ready to predict, and how training went."""

    trainer: object  # transformers.Trainer holding the best model
    seconds: float
    samples_per_second: float
    steps: int  # optimizer steps of this process (an epoch is split between the processes)
    log: list[dict]  # one entry per epoch: train_loss, eval_loss, eval_accuracy, ...
    schedule: dict  # how many epochs were planned, run and kept, and why (metrics.json "training.schedule")
    dynamics: np.ndarray | None = None  # (epochs, texts, classes) training logits; one-process runs only


def detect_hardware(precision: str = "auto") -> Hardware:
    """The device, its name, and the precision: bf16 on GPUs that support it, else fp16; fp32 on CPU."""
    if torch.cuda.is_available():
        if precision == "auto":
            # Not emulated bf16 (T4, V100 report it through emulation, far slower than fp16 there)
            precision = "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp16"
        return Hardware("cuda", torch.cuda.get_device_name(0), precision)
    if precision == "fp16":
        raise ToolkitError("config error: --precision fp16 needs a GPU; use auto, fp32 or bf16 on CPU")
    return Hardware(
        "cpu", platform.processor() or platform.machine() or "cpu", "fp32" if precision == "auto" else precision
    )


def load_model_and_tokenizer(backbone: Backbone, labels: list[str], seed: int, multi_label: bool = False):
    """Load the tokenizer and the backbone with a new classification head over ``labels``.

    Raises:
        HubUnavailable: a Hub model that cannot be downloaded (the message names ``--model offline``).
        ToolkitError: a local folder that is not a model.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, set_seed

    set_seed(seed)  # the new head's initial weights depend on it
    id2label = dict(enumerate(labels))
    try:
        tokenizer = AutoTokenizer.from_pretrained(backbone.resolved)
        model = AutoModelForSequenceClassification.from_pretrained(
            backbone.resolved,
            num_labels=len(labels),
            id2label=id2label,
            label2id={name: i for i, name in id2label.items()},
            problem_type=MULTI_LABEL_PROBLEM if multi_label else SINGLE_LABEL_PROBLEM,
            ignore_mismatched_sizes=True,  # a classifier checkpoint's old head is replaced, not an error
            # fp32 master weights whatever the checkpoint's dtype (transformers 5 defaults to "auto": a bf16
            # checkpoint would train in bf16, where most 2e-5 updates round away); Trainer adds mixed precision.
            dtype=torch.float32,
        )
    except (OSError, ValueError) as err:
        reason = first_line(err)
        if Path(backbone.resolved).is_dir():
            raise ToolkitError(f"model error: {backbone.resolved}: not a loadable model folder ({reason})") from None
        raise HubUnavailable(
            f"model error: '{backbone.resolved}': no such local folder, and it cannot be downloaded from the Hub "
            f"({reason}) — "
            f"run with --model offline to use the bundled backbone"
        ) from None
    return model, tokenizer


def tokenize_splits(splits: dict, tokenizer, max_length: int, num_labels: int | None = None) -> dict:
    """Tokenize every split once, batched and unpadded (padding happens per batch in the collator).

    For multi-label data (``num_labels`` given) each text's label-id list becomes a 0/1 float ``labels``
    row, what the model's BCE loss takes.
    """

    def encode(batch):
        encoded = tokenizer(batch["text"], truncation=True, max_length=max_length)
        if num_labels is not None:
            encoded["labels"] = multi_hot(batch["label"], num_labels).tolist()
        return encoded

    removed = ["text"] if num_labels is None else ["text", "label"]
    return {
        name: ds.map(encode, batched=True, remove_columns=removed, desc=f"Tokenizing {name}")
        for name, ds in splits.items()
    }


def steps_per_epoch(train_size: int, batch_size: int, replicas: int = 1) -> int:
    """Optimizer steps in one epoch when ``replicas`` model copies each take ``batch_size`` texts a step.

    accelerate shards the epoch's batches between the processes, so each takes every ``replicas``-th.
    """
    batches = -(-train_size // batch_size)
    return max(1, -(-batches // replicas))


MIN_AUTO_EPOCHS = 3  # early stopping needs a few epochs to see a plateau (patience 2 + the epoch to beat)


def planned_epochs(config: TrainConfig, train_size: int, replicas: int = 1) -> float:
    """The epochs the learning-rate schedule spans: ``--epochs`` when set, else the early-stopping cap.

    The cap gives small datasets enough optimizer steps (``--min-steps``; 3,000 texts at batch 64 take 47
    steps an epoch, so 2 epochs leave a model under-trained) and large ones few epochs (on 16,000
    texts, 4 epochs were no better than 2): ``ceil(min_steps / steps per epoch)``, within
    ``[3, --max-epochs]``.
    """
    if config.epochs is not None:
        return config.epochs
    needed = -(-config.min_steps // steps_per_epoch(train_size, config.batch_size, replicas))
    return float(min(config.max_epochs, max(MIN_AUTO_EPOCHS, needed)))


def training_options(
    config: TrainConfig, hardware: Hardware, checkpoint_dir: Path, train_size: int, replicas: int = 1
) -> dict:
    """The TrainingArguments keywords: the seed recipe's schedule plus the speed settings of this module.

    Args:
        config: the run's options.
        hardware: device and precision.
        checkpoint_dir: where Trainer keeps the best epoch's checkpoint.
        train_size: number of training texts.
        replicas: model copies training at once (``training.distributed.data_parallel_replicas``).
    """
    on_gpu = hardware.device == "cuda"
    workers = config.dataloader_num_workers if config.dataloader_num_workers is not None else (4 if on_gpu else 0)
    return {
        "output_dir": str(checkpoint_dir),
        "num_train_epochs": planned_epochs(config, train_size, replicas),
        "learning_rate": config.learning_rate,
        "per_device_train_batch_size": config.batch_size,
        "per_device_eval_batch_size": config.eval_batch_size,
        "weight_decay": config.weight_decay,
        "warmup_steps": config.warmup_ratio,  # a float in [0, 1) is a fraction of all steps
        "eval_strategy": "epoch",
        "save_strategy": "epoch",
        "save_only_model": True,  # checkpoints only serve to restore the best epoch: no optimizer state
        "save_total_limit": 1,
        "load_best_model_at_end": True,
        "metric_for_best_model": config.metric_for_best_model,
        # at least one loss entry per epoch (of this process's share), so every epoch has a train loss
        "logging_steps": min(config.logging_steps, steps_per_epoch(train_size, config.batch_size, replicas)),
        "seed": config.seed,
        "bf16": hardware.precision == "bf16",
        "fp16": hardware.precision == "fp16",
        "train_sampling_strategy": "group_by_length" if config.group_by_length else "random",
        "dataloader_num_workers": workers,
        "dataloader_pin_memory": on_gpu,
        "dataloader_persistent_workers": workers > 0,
        # On CPU, Trainer joins the torchrun group (gloo) only when told it runs on CPU.
        "use_cpu": not on_gpu,
        "ddp_timeout": DDP_TIMEOUT_S,
        # Classification heads average their loss over the batch themselves; Trainer's token averaging
        # across processes would multiply the logged train and eval loss by the number of processes.
        "average_tokens_across_devices": False,
        # Every parameter of a sequence classifier takes part in the loss: no extra autograd traversal.
        "ddp_find_unused_parameters": False,
        # On a GPU, copy batches without waiting (pinned memory) and skip the per-step NaN/Inf check of
        # the loss, which waits for the GPU at every step.
        "accelerator_config": {"non_blocking": True} if on_gpu else None,
        "logging_nan_inf_filter": not on_gpu,
        # TensorBoard gets a callback of ours (TracesCallback); Trainer builds the other integrations' callbacks.
        "report_to": [name for name in report_targets(config.report_to) if name != TENSORBOARD] or NO_REPORTING,
        "disable_tqdm": False,
    }


def training_arguments(
    config: TrainConfig, hardware: Hardware, checkpoint_dir: Path, train_size: int, replicas: int = 1
):
    """``TrainingArguments`` built from ``training_options`` (same arguments)."""
    from transformers import TrainingArguments

    return TrainingArguments(**training_options(config, hardware, checkpoint_dir, train_size, replicas))


class ClassifierTrainer(RecordsDynamics, Trainer):
    """``Trainer`` with evaluation in row order, cheap length grouping, and the training dynamics recorded.

    * transformers 5 also length-groups *evaluation* batches when ``train_sampling_strategy`` is
      ``group_by_length``, which shuffles ``predict()`` outputs against the rows; errors.csv and the
      per-split metrics need predictions aligned with their texts, so evaluation stays sequential.
    * For length grouping, Trainer measures every training text row by row, a real share of a short GPU
      epoch; Arrow does it in one call.
    * Each training batch's logits by row and epoch, when given a recorder (:class:`RecordsDynamics`).
    """

    def _get_eval_sampler(self, eval_dataset):
        if self.args.world_size <= 1:
            return torch.utils.data.SequentialSampler(eval_dataset)
        return None  # distributed: accelerate shards in order and gathers back in order

    def _get_train_sampler(self, train_dataset=None):
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        if self.args.train_sampling_strategy != "group_by_length" or not isinstance(dataset, datasets.Dataset):
            return super()._get_train_sampler(train_dataset)
        lengths = pyarrow.compute.list_value_length(dataset.with_format("arrow")["input_ids"]).to_pylist()
        return LengthGroupedSampler(self.args.train_batch_size * self.args.gradient_accumulation_steps, lengths=lengths)


def fine_tune(
    config: TrainConfig,
    model,
    tokenizer,
    tokenized: dict,
    labels: list[str],
    hardware: Hardware,
    checkpoint_dir: Path,
    callbacks: tuple = (),
) -> FineTuned:
    """Train on ``tokenized["train"]``, evaluate on validation every epoch, keep the best epoch (``callbacks``:
    more TrainerCallbacks, e.g. a search's pruning)."""
    from accelerate import PartialState
    from transformers import DataCollatorWithPadding

    state = PartialState()
    replicas = data_parallel_replicas(state)
    args = training_arguments(config, hardware, checkpoint_dir, len(tokenized["train"]), replicas)
    train = tokenized["train"]
    record = state.num_processes == 1 and worth_recording(len(train), args.num_train_epochs, len(labels))
    recorder = DynamicsRecorder(len(train)) if record else None
    if recorder is not None:
        train = train.add_column(ROW_COLUMN, list(range(len(train))))
    multi_label = is_multi_label(model.config)
    train_labels = tokenized["train"]["labels" if multi_label else "label"]
    loss, weights = loss_function(labels, train_labels, config.class_weights, multi_label)
    if multi_label:
        start_at_priors(model, train_labels)
    # Multiples of 8 let bf16/fp16 matmuls use tensor cores; fp32 pads to the batch's longest only.
    collator = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8 if hardware.precision != "fp32" else None)
    trainer = ClassifierTrainer(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=tokenized["validation"],
        processing_class=tokenizer,
        data_collator=collator,
        compute_metrics=multi_label_trainer_metrics(labels, config.threshold_objective)
        if multi_label
        else trainer_metrics(labels),
        compute_loss_func=loss,
        # the checkpoints' parent: the run's folder
        callbacks=[*training_callbacks(config, checkpoint_dir.parent), *callbacks],
    )
    trainer.dynamics = recorder
    quiet_tokenizer_forks(args.dataloader_num_workers)
    start = time.perf_counter()
    output = trainer.train()
    seconds = time.perf_counter() - start
    # Every process loads the best checkpoint at the end of train(): none may lose it before it has.
    trainer.accelerator.wait_for_everyone()
    if trainer.is_world_process_zero():
        shutil.rmtree(checkpoint_dir, ignore_errors=True)  # the best weights now live in the trainer's model
    log = epoch_log(trainer.state.log_history)
    schedule = describe_schedule(config, log, args.num_train_epochs, len(tokenized["train"]))
    if weights is not None:
        schedule["positive_weights" if multi_label else "class_weights"] = weights
    return FineTuned(
        trainer=trainer,
        seconds=seconds,
        samples_per_second=float(output.metrics["train_samples_per_second"]),
        steps=trainer.state.global_step,
        log=log,
        schedule=schedule,
        dynamics=None if recorder is None else recorder.logits(),
    )


def best_epoch(log: list[dict], metric: str) -> int:
    """The 1-based epoch whose validation ``metric`` is best (the first of equals, as Trainer keeps it)."""
    scores = [entry[f"eval_{metric}"] for entry in log]
    best = min(scores) if metric == "loss" else max(scores)
    return scores.index(best) + 1


def describe_schedule(config: TrainConfig, log: list[dict], planned: float, train_size: int) -> dict:
    """What the epoch schedule was, what ran, which epoch was kept, and why, in one sentence.

    Args:
        config: the run's options.
        log: :func:`epoch_log` of the run (one entry per evaluated epoch).
        planned: the epochs the learning-rate schedule spanned.
        train_size: training texts.
    """
    metric = config.metric_for_best_model
    ran, kept = len(log), best_epoch(log, metric)
    if config.epochs is not None:
        why = f"--epochs {config.epochs:g}: ran {ran} epochs as set"
    elif ran < planned:
        why = (
            f"stopped after epoch {ran} of at most {planned:g}: no gain in validation {metric} "
            f"for {config.early_stopping_patience} epochs"
        )
    else:
        why = (
            f"ran all {planned:g} epochs planned for {train_size:,} texts (at least {config.min_steps} steps, "
            f"at most {config.max_epochs} epochs) without {config.early_stopping_patience} epochs of no gain"
        )
    return {
        "early_stopping": config.epochs is None,
        "planned_epochs": planned,
        "epochs_run": ran,
        "best_epoch": kept,
        "metric": metric,
        "patience": config.early_stopping_patience if config.epochs is None else None,
        "reason": f"{why}; kept epoch {kept} (best validation {metric})",
    }


def quiet_tokenizer_forks(workers: int) -> None:
    """Before data-loader workers fork: say how the tokenizer may use threads, unless the user has.

    The workers fork after ``datasets.map`` used the tokenizer's threads; tokenizers before 0.23 then print
    "The current process just got forked, after parallelism has already been used" in every worker of
    every loader of every process, unless ``TOKENIZERS_PARALLELISM`` is set. Nothing is tokenized in
    the workers (the splits are tokenized already), so "false" costs nothing there.
    """
    if workers > 0:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def epoch_log(history: list[dict]) -> list[dict]:
    """Fold Trainer's log history into one entry per epoch: mean train loss and the eval metrics."""
    log, losses = [], []
    for entry in history:
        if "loss" in entry:
            losses.append(entry["loss"])
        elif "eval_loss" in entry:
            row = {"epoch": round(entry["epoch"], 2)}
            if losses:
                row["train_loss"] = float(np.mean(losses))
            row.update(
                {
                    k: v
                    for k, v in entry.items()
                    if k.startswith("eval_") and "runtime" not in k and "per_second" not in k
                }
            )
            log.append(row)
            losses = []
    return log


def predict_logits(trainer, dataset) -> np.ndarray:
    """Logits of the trained model for every row of a tokenized split, in order."""
    return np.asarray(trainer.predict(dataset).predictions, dtype=np.float32)
