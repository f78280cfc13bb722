"""One job of several processes under ``torchrun`` / ``accelerate launch``, on GPUs or on CPU.

What accelerate 1.15 and transformers 5.24 do, read in their sources, and why this module exists:

* ``PartialState()`` picks a backend only for an accelerator. On a CPU it makes a (gloo) process group
  only when told the run is on CPU (``cpu=True``, or ``ACCELERATE_USE_CPU``); without that it reports
  ``DistributedType.NO`` with one process, and each torchrun process trains alone on all the data.
  Trainer does the same with ``TrainingArguments.use_cpu``, which ``training_options`` sets on CPU.
* The group is created here, before Trainer exists, because the main process must be known from the
  start (one set of prints, downloads first). Trainer then finds the group and keeps it, so its
  ``ddp_timeout`` is never applied: the timeout is given here, the same one Trainer is told.
* No process waits on work that only the main process does (figures, embedding baselines): that work
  runs after the last collective (see ``training/__main__.py``), so a large dataset cannot make the
  other processes time out.
"""

from __future__ import annotations

from datetime import timedelta

import torch
from accelerate import PartialState
from accelerate.utils import broadcast_object_list, gather_object, parse_flag_from_env

from training.errors import ToolkitError

# Trainer's own ddp_timeout default: the longest any process waits at a barrier (e.g. while the main
# process downloads the data) before the job fails.
DDP_TIMEOUT_S = 1800
# accelerate launch sets these for FSDP / DeepSpeed; both shard the model, which these backbones
# (22M-66M parameters) do not need, and neither path has run here.
SHARDED_ENGINES = {"ACCELERATE_USE_FSDP": "FSDP", "ACCELERATE_USE_DEEPSPEED": "DeepSpeed"}


def init_processes(device: str) -> PartialState:
    """Join the job's process group (a single process when not launched by torchrun / accelerate).

    Args:
        device: ``"cpu"`` or ``"cuda"``, from ``detect_hardware``.

    Returns:
        The process state: rank, number of processes, device.

    Raises:
        ToolkitError: the launcher asked for FSDP or DeepSpeed, which are not supported.
    """
    refuse_sharded_training()
    return PartialState(cpu=device == "cpu", timeout=timedelta(seconds=DDP_TIMEOUT_S))


def refuse_sharded_training() -> None:
    """Stop, with one line, when ``accelerate launch`` was configured for FSDP or DeepSpeed."""
    for variable, engine in SHARDED_ENGINES.items():
        if parse_flag_from_env(variable):
            raise ToolkitError(
                f"config error: {engine} ({variable} is set by accelerate launch) is not supported — "
                f"train with plain DDP: torchrun, or accelerate launch --multi_gpu"
            )


def data_parallel_replicas(state: PartialState) -> int:
    """How many model copies share each optimizer step: the processes, or the GPUs of one process.

    A single process on a host with several GPUs trains with ``torch.nn.DataParallel`` over all of them
    (Trainer's choice), which also divides an epoch's steps.
    """
    if state.num_processes > 1:
        return state.num_processes
    return max(1, torch.cuda.device_count()) if state.device.type == "cuda" else 1


def main_process_value(state: PartialState, value):
    """``value`` as the main process has it, on every process (e.g. a name it drew at random)."""
    if state.num_processes <= 1:
        return value
    return broadcast_object_list([value])[0]


def check_same_data(state: PartialState, fingerprints: dict[str, str]) -> None:
    """Every process must train and evaluate on the same splits; stop if one read something else.

    Args:
        state: the process state.
        fingerprints: split name -> sha256 of the split (``training.data.load.split_sha256``).

    Raises:
        ToolkitError: naming the first process and split that differ from the main process's.
    """
    if state.num_processes <= 1:
        return
    everyone = gather_object([fingerprints])  # one entry per process, in rank order
    for rank, theirs in enumerate(everyone):
        differing = sorted(name for name in set(theirs) | set(everyone[0]) if theirs.get(name) != everyone[0].get(name))
        if differing:
            raise ToolkitError(
                f"data error: process {rank} read different {', '.join(differing)} data than process 0 — "
                f"every process must see the same files (a shared or identical copy of --data)"
            )
