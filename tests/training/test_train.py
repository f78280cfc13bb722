"""Fine-tuning helpers: hardware choice, model loading errors, prediction order, the epoch log."""

import numpy as np
import pytest

from training.config import Backbone, parse_config
from training.errors import HubUnavailable, ToolkitError
from training.train import (
    ClassifierTrainer,
    detect_hardware,
    epoch_log,
    load_model_and_tokenizer,
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
