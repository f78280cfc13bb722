"""Fine-tuning helpers: hardware choice, model loading errors, prediction order, the epoch log, class weights,
the size-adaptive schedule and early stopping."""

import dataclasses

import numpy as np
import pytest

from tests.conftest import make_texts
from training.backbones import Backbone
from training.config import parse_config
from training.errors import HubUnavailable, ToolkitError
from training.objectives import WeightedCrossEntropy, class_weights
from training.train import (
    ClassifierTrainer,
    best_epoch,
    describe_schedule,
    detect_hardware,
    epoch_log,
    fine_tune,
    load_model_and_tokenizer,
    planned_epochs,
    predict_logits,
    tokenize_splits,
    training_arguments,
)

LABELS = ["neg", "neu", "pos"]


def test_cpu_trains_in_fp32_and_refuses_fp16():
    hardware = detect_hardware("auto")
    assert (hardware.device, hardware.precision) == ("cpu", "fp32")
    assert detect_hardware("bf16").precision == "bf16"
    with pytest.raises(ToolkitError, match="fp16 needs a GPU"):
        detect_hardware("fp16")


def test_backbone_gets_a_new_head_over_the_labels(tiny_backbone_dir):
    model, _tokenizer = load_model_and_tokenizer(Backbone("x", str(tiny_backbone_dir), "x"), LABELS, seed=0)
    assert model.config.id2label == {0: "neg", 1: "neu", 2: "pos"}
    assert model.config.label2id == {"neg": 0, "neu": 1, "pos": 2}
    assert model.classifier.out_features == 3
    again, _ = load_model_and_tokenizer(Backbone("x", str(tiny_backbone_dir), "x"), LABELS, seed=0)
    assert np.allclose(model.classifier.weight.detach(), again.classifier.weight.detach())  # seeded head


def test_unreachable_hub_model_names_the_offline_alias():
    # conftest sets HF_HUB_OFFLINE=1: a model that is not cached cannot be downloaded
    with pytest.raises(HubUnavailable, match="--model offline") as err:
        load_model_and_tokenizer(
            Backbone("me/not-cached-model", "me/not-cached-model", "me/not-cached-model"), LABELS, seed=0
        )
    assert "\n" not in str(err.value)


def test_a_folder_that_is_no_model_is_a_user_error(tmp_path):
    with pytest.raises(ToolkitError, match="not a loadable model folder"):
        load_model_and_tokenizer(Backbone("x", str(tmp_path), "x"), LABELS, seed=0)


def test_predictions_keep_row_order_with_length_grouping(tiny_backbone_dir):
    """Trainer length-groups eval batches too; predict_logits must still follow the rows."""
    import datasets
    import torch
    from transformers import DataCollatorWithPadding

    model, tokenizer = load_model_and_tokenizer(Backbone("x", str(tiny_backbone_dir), "x"), LABELS, seed=0)
    rng = np.random.default_rng(0)
    words = ["happy", "lonely", "scared", "today", "i", "feel", "so"]
    texts = [" ".join(rng.choice(words, size=n)) for n in rng.integers(1, 30, size=40)]
    split = datasets.Dataset.from_dict({"text": texts, "label": [i % 3 for i in range(40)]})
    tokenized = tokenize_splits({"test": split}, tokenizer, max_length=64)["test"]
    config, _ = parse_config(["--eval-batch-size", "4", "--output-dir", "unused"])
    assert config.group_by_length
    args = training_arguments(config, detect_hardware(), tiny_backbone_dir / "unused", train_size=40)
    trainer = ClassifierTrainer(
        model=model,
        args=args,
        eval_dataset=tokenized,
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
    )
    logits = predict_logits(trainer, tokenized)
    model.eval()
    with torch.no_grad():
        expected = np.concatenate([model(**tokenizer([t], return_tensors="pt")).logits.numpy() for t in texts])
    assert np.allclose(logits, expected, atol=1e-4)

    # Training batches group similar lengths; lengths come from the selected rows (indices mapping too).
    subset = tokenized.shuffle(seed=1).select(range(24))
    sampler = trainer._get_train_sampler(subset)
    assert sampler.lengths == [len(ids) for ids in subset["input_ids"]]
    order = list(sampler)
    assert sorted(order) == list(range(24))


def test_epoch_log_folds_the_trainer_history():
    history = [
        {"loss": 2.0, "epoch": 0.5},
        {"loss": 1.0, "epoch": 1.0},
        {"eval_loss": 0.9, "eval_accuracy": 0.5, "eval_runtime": 3.0, "eval_samples_per_second": 9.0, "epoch": 1.0},
        {"loss": 0.5, "epoch": 2.0},
        {"eval_loss": 0.4, "eval_accuracy": 0.8, "epoch": 2.0},
        {"train_runtime": 10.0, "train_loss": 1.1, "epoch": 2.0},
    ]
    assert epoch_log(history) == [
        {"epoch": 1.0, "train_loss": 1.5, "eval_loss": 0.9, "eval_accuracy": 0.5},
        {"epoch": 2.0, "train_loss": 0.5, "eval_loss": 0.4, "eval_accuracy": 0.8},
    ]


def test_balanced_class_weights_are_n_over_classes_times_count():
    # 4 texts, 3 classes, class 2 absent: n / (3 * n_c) for the present ones, 1 for the absent one.
    assert np.allclose(class_weights([0, 0, 0, 1], 3, "balanced"), [4 / 9, 4 / 3, 1.0])
    assert np.allclose(class_weights([0, 1, 2, 0, 1, 2], 3, "balanced"), [1, 1, 1])
    assert class_weights([0, 1], 2, "none") is None


def test_weighted_loss_is_the_weighted_mean_of_the_cross_entropies():
    import torch

    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0], [-1.0, 1.0, 3.0], [0.0, 0.0, 0.0]])
    gold = torch.tensor([0, 1, 2, 2])
    weights = (0.5, 1.0, 2.0)
    loss = WeightedCrossEntropy(weights)({"logits": logits}, gold)
    probs = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(1, keepdims=True)
    ce = -np.log(probs[np.arange(4), gold.numpy()])
    w = np.array(weights)[gold.numpy()]
    assert float(loss) == pytest.approx(float((w * ce).sum() / w.sum()), rel=1e-6)
    assert float(loss) != pytest.approx(float(ce.mean()), rel=1e-3)  # the weights change it
    assert float(WeightedCrossEntropy((1.0, 1.0, 1.0))({"logits": logits}, gold)) == pytest.approx(ce.mean(), rel=1e-6)


def test_the_trainer_trains_on_the_weighted_loss(tiny_backbone_dir):
    """Trainer's compute_loss, with the loss function fine_tune gives it, is the hand-computed weighted loss."""
    import torch
    from transformers import DataCollatorWithPadding

    model, tokenizer = load_model_and_tokenizer(Backbone("x", str(tiny_backbone_dir), "x"), LABELS, seed=0)
    config, _ = parse_config(["--output-dir", "unused"])
    args = training_arguments(config, detect_hardware(), tiny_backbone_dir / "unused", train_size=8)
    args = dataclasses.replace(args, eval_strategy="no", save_strategy="no", load_best_model_at_end=False)
    weights = (0.25, 1.0, 4.0)
    trainer = ClassifierTrainer(model=model, args=args, compute_loss_func=WeightedCrossEntropy(weights))
    texts = ["happy today", "i feel so lonely", "scared", "so happy i feel"]
    gold = [2, 0, 1, 2]
    batch = DataCollatorWithPadding(tokenizer)([{**tokenizer(t), "label": y} for t, y in zip(texts, gold, strict=True)])
    model.eval()
    loss = trainer.compute_loss(model, dict(batch))
    with torch.no_grad():
        logits = model(**tokenizer(texts, padding=True, return_tensors="pt")).logits.double().numpy()
    ce = -(logits - np.log(np.exp(logits).sum(1, keepdims=True)))[np.arange(4), gold]
    w = np.array(weights)[gold]
    assert loss.item() == pytest.approx(float((w * ce).sum() / w.sum()), rel=1e-4)


def test_planned_epochs_fit_the_dataset_size():
    auto, _ = parse_config(["--output-dir", "unused"])  # batch 64, --min-steps 750, --max-epochs 10
    assert planned_epochs(auto, train_size=16_000) == 3  # 250 steps an epoch: 3 epochs (the floor) make 750
    assert planned_epochs(auto, train_size=3_000) == 10  # 47 steps an epoch: 16 wanted, capped at 10
    assert planned_epochs(auto, train_size=160_000) == 3  # never fewer than 3: early stopping needs them
    assert planned_epochs(auto, train_size=12_000, replicas=2) == 8  # 94 steps per process: ceil(750 / 94)
    fixed, _ = parse_config(["--output-dir", "unused", "--epochs", "2"])
    assert planned_epochs(fixed, train_size=3_000) == 2  # --epochs means exactly that


def test_schedule_says_what_was_chosen_and_why():
    log = [{"eval_f1_macro": f1, "eval_loss": loss} for f1, loss in [(0.5, 1.0), (0.7, 0.8), (0.7, 0.7), (0.6, 0.9)]]
    assert best_epoch(log, "f1_macro") == 2  # the first of equals, as Trainer keeps it
    assert best_epoch(log, "loss") == 3
    auto, _ = parse_config(["--output-dir", "unused"])
    stopped = describe_schedule(auto, log, planned=10, train_size=3000)
    assert stopped["reason"] == (
        "stopped after epoch 4 of at most 10: no gain in validation f1_macro for 2 epochs; "
        "kept epoch 2 (best validation f1_macro)"
    )
    assert (stopped["early_stopping"], stopped["epochs_run"], stopped["best_epoch"]) == (True, 4, 2)
    assert describe_schedule(auto, log, planned=4, train_size=3000)["reason"].startswith("ran all 4 epochs planned")
    fixed, _ = parse_config(["--output-dir", "unused", "--epochs", "4"])
    assert describe_schedule(fixed, log, planned=4, train_size=3000)["reason"].startswith("--epochs 4: ran 4 epochs")


def test_early_stopping_keeps_the_best_epoch_on_a_tiny_fixture(tiny_backbone_dir, tmp_path):
    import datasets

    labels = ["joy", "sadness", "fear"]
    model, tokenizer = load_model_and_tokenizer(Backbone("x", str(tiny_backbone_dir), "x"), labels, seed=0)
    splits = {
        name: datasets.Dataset.from_dict(
            {"text": [t for t, _ in rows], "label": [labels.index(label) for _, label in rows]}
        )
        for name, rows in (("train", make_texts(labels, 10, seed=1)), ("validation", make_texts(labels, 6, seed=2)))
    }
    options = {
        "batch-size": 8,
        "learning-rate": 5e-3,
        "max-epochs": 12,
        "early-stopping-patience": 1,
        "min-steps": 1000,
    }
    config, _ = parse_config(["--output-dir", str(tmp_path), *(f"--{k}={v}" for k, v in options.items())])
    assert config.epochs is None
    tuned = fine_tune(
        config, model, tokenizer, tokenize_splits(splits, tokenizer, 32), labels, detect_hardware(), tmp_path / "ckpt"
    )
    schedule, log = tuned.schedule, tuned.log
    scores = [entry["eval_f1_macro"] for entry in log]
    assert schedule["planned_epochs"] == 12 and schedule["epochs_run"] == len(log)
    assert schedule["epochs_run"] < 12, scores  # it stopped: the tiny task plateaus within a few epochs
    assert schedule["best_epoch"] == scores.index(max(scores)) + 1
    assert schedule["epochs_run"] == schedule["best_epoch"] + 1  # patience 1: one epoch without gain
    assert schedule["reason"].startswith(f"stopped after epoch {schedule['epochs_run']} of at most 12")
    assert set(schedule["class_weights"]) == set(labels)
    # The model kept is the best epoch's, not the last one's.
    assert tuned.trainer.evaluate()["eval_f1_macro"] == pytest.approx(max(scores))
