"""Settings for several processes and for GPUs, checked on this CPU through the arguments they produce.

The real two-process run is tests/training/test_torchrun.py; no GPU is available to these tests, so the
CUDA branches are reached with a fake CUDA ``Hardware`` or a patched ``torch.cuda``.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from tests.file_server import serve_folder
from training import distributed
from training.backbones import Backbone
from training.config import parse_config
from training.data.load import download
from training.errors import ToolkitError
from training.train import (
    Hardware,
    detect_hardware,
    load_model_and_tokenizer,
    quiet_tokenizer_forks,
    steps_per_epoch,
    training_arguments,
    training_options,
)

GPU = Hardware("cuda", "NVIDIA H100", "bf16")
CPU = Hardware("cpu", "x86_64", "fp32")


@pytest.fixture
def config():
    return parse_config(["--output-dir", "unused"])[0]


def test_an_epoch_is_split_between_the_replicas():
    assert steps_per_epoch(16000, 64) == 250
    assert steps_per_epoch(16000, 64, replicas=8) == 32  # emotion on 8 GPUs
    assert steps_per_epoch(96, 8, replicas=2) == 6
    assert steps_per_epoch(10, 8, replicas=4) == 1


def test_every_epoch_logs_a_train_loss_on_eight_gpus(config, tmp_path):
    # 32 steps per epoch on 8 GPUs: logging every 50 steps would leave epoch 1 without a train loss
    assert training_options(config, GPU, tmp_path, train_size=16000, replicas=8)["logging_steps"] == 32
    assert training_options(config, GPU, tmp_path, train_size=16000, replicas=1)["logging_steps"] == 50


def test_gpu_options_do_not_wait_for_the_gpu(config, tmp_path):
    options = training_options(config, GPU, tmp_path, train_size=1000)
    assert options["accelerator_config"] == {"non_blocking": True} and options["dataloader_pin_memory"]
    assert options["logging_nan_inf_filter"] is False
    assert options["use_cpu"] is False and options["bf16"] and not options["fp16"]
    assert options["dataloader_num_workers"] == 4


def test_cpu_options_join_the_gloo_group(config, tmp_path):
    options = training_options(config, CPU, tmp_path, train_size=1000)
    assert options["use_cpu"] is True  # without it Trainer's PartialState reports DistributedType.NO on CPU
    assert options["ddp_timeout"] == distributed.DDP_TIMEOUT_S
    assert options["average_tokens_across_devices"] is False  # else the logged loss is x number of processes
    args = training_arguments(config, CPU, tmp_path, train_size=1000)  # accepted by TrainingArguments as is
    assert args.use_cpu and args.logging_nan_inf_filter and not args.accelerator_config.non_blocking


def fake_cuda(monkeypatch, name: str, native_bf16: bool) -> None:
    """A CUDA device whose bf16 is native or, like a T4's, emulated (``is_bf16_supported()`` says yes)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *_: name)

    def bf16(including_emulation=True):
        return native_bf16 or including_emulation

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", bf16)


@pytest.mark.parametrize(("name", "native_bf16", "precision"), [("Tesla T4", False, "fp16"), ("H100", True, "bf16")])
def test_emulated_bf16_falls_back_to_fp16(monkeypatch, name, native_bf16, precision):
    fake_cuda(monkeypatch, name, native_bf16)
    assert detect_hardware("auto") == Hardware("cuda", name, precision)


def test_a_bf16_checkpoint_trains_with_fp32_weights(tiny_backbone_dir, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    bf16_model = AutoModelForSequenceClassification.from_pretrained(tiny_backbone_dir, dtype=torch.bfloat16)
    bf16_model.save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(tiny_backbone_dir).save_pretrained(tmp_path)
    model, _ = load_model_and_tokenizer(Backbone("x", str(tmp_path), "x"), ["neg", "pos"], seed=0)
    assert {parameter.dtype for parameter in model.parameters()} == {torch.float32}


@pytest.mark.parametrize("variable", ["ACCELERATE_USE_FSDP", "ACCELERATE_USE_DEEPSPEED"])
def test_fsdp_and_deepspeed_are_refused_with_one_line(monkeypatch, variable):
    monkeypatch.setenv(variable, "true")
    with pytest.raises(ToolkitError, match="not supported — train with plain DDP") as err:
        distributed.init_processes("cpu")
    assert "\n" not in str(err.value)


def test_replicas_are_the_processes_or_the_gpus_of_one_process(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert distributed.data_parallel_replicas(SimpleNamespace(num_processes=2, device=cpu)) == 2
    assert distributed.data_parallel_replicas(SimpleNamespace(num_processes=1, device=cuda)) == 4  # DataParallel
    assert distributed.data_parallel_replicas(SimpleNamespace(num_processes=1, device=cpu)) == 1


def test_processes_that_read_different_data_stop_the_run(monkeypatch):
    state = SimpleNamespace(num_processes=2)
    same = {"train": "a", "test": "b"}
    monkeypatch.setattr(distributed, "gather_object", lambda objects: [same, {"train": "a", "test": "c"}])
    with pytest.raises(ToolkitError, match="process 1 read different test data than process 0"):
        distributed.check_same_data(state, same)
    monkeypatch.setattr(distributed, "gather_object", lambda objects: [same, dict(same)])
    distributed.check_same_data(state, same)


def test_loader_workers_get_a_tokenizers_setting_and_the_users_wins(monkeypatch):
    monkeypatch.delenv("TOKENIZERS_PARALLELISM", raising=False)
    quiet_tokenizer_forks(0)
    assert "TOKENIZERS_PARALLELISM" not in os.environ  # no workers: the tokenizer keeps its threads
    quiet_tokenizer_forks(4)
    assert os.environ["TOKENIZERS_PARALLELISM"] == "false"
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "true")
    quiet_tokenizer_forks(4)
    assert os.environ["TOKENIZERS_PARALLELISM"] == "true"


def test_a_download_appears_only_complete(tmp_path, monkeypatch):
    """Another process may find the cached file at any moment: it is renamed into place, once written."""
    import training.data.download

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "tweets.txt").write_text("i feel happy;joy\n" * 1000, encoding="utf-8")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    renames = []

    def replace(source, target):
        renames.append((Path(source).read_bytes(), Path(target).exists()))
        os.rename(source, target)

    monkeypatch.setattr(training.data.download.os, "replace", replace)
    with serve_folder(tmp_path / "site") as base_url:
        target = download(f"{base_url}/tweets.txt")
    assert renames == [(b"i feel happy;joy\n" * 1000, False)]  # complete before it had the target's name
    assert [p.name for p in target.parent.iterdir()] == ["tweets.txt"]
