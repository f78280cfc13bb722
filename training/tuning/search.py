"""``--search N``: N Optuna trials of the recipe, maximising validation macro F1; the run then trains the best.

Optuna is driven here directly rather than through ``Trainer.hyperparameter_search``, which (transformers 5,
``integrations.run_hp_search_optuna``) cannot give a search what it needs: it runs N *more* trials on every call
(a resumed search must run N minus those already done), scores a trial by its last epoch (the run keeps its
best epoch), builds one Trainer whose loss cannot change between trials (``--class-weights`` is searched) and
records no trial's time. A :class:`PruneCallback` reports each epoch's validation macro F1 to the trial and
stops hopeless ones, as the Trainer's own reporting does.

A search in progress keeps its study in a hidden sibling of the output folder with a fixed name
(:func:`search_home`; the run's own staging folder has a random one), so that a rerun with the same
``--output-dir`` after a crash or ``kill -9`` finds it and runs only the trials still missing. The study's name is
a digest of the options, the data and the space: a rerun with other options starts a new study.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from transformers import TrainerCallback

from formats.command_line import first_line
from formats.output_folder import CHECKPOINTS_DIR, STUDY_FILE, TRAIN_CONFIG_FILE
from training.config import TrainConfig
from training.errors import ToolkitError
from training.objectives import resolved_class_weights
from training.paths import portable_storage
from training.stages import Inputs, Job, Start
from training.train import fine_tune, load_model_and_tokenizer, planned_epochs, tokenize_splits
from training.tuning.report import write_search_files
from training.tuning.space import SEARCHED, Range, describe_space, recipe_trial, resolve_space, suggest

OBJECTIVE = "f1_macro"  # validation macro F1; multi-label: at thresholds tuned on validation (training.objectives)
# Options that do not change what a trial measures: a rerun that changes only these continues the same study
# (``--search 20`` after ``--search 12`` adds 8 trials).
OUTSIDE_THE_STUDY = (
    "output_dir",
    "overwrite_output_dir",
    "search",
    "search_storage",
    "seeds",
    "report_to",
    "export_onnx",
    "push_to_hub",
    "hub_model_id",
    "hub_private",
    "allow_demo_model",
    "dataloader_num_workers",
)
# The first trials run whole (the pruner needs some to compare with); then a trial is stopped after any epoch
# from the second on where its validation macro F1 is below the median of earlier trials at that epoch.
PRUNER_STARTUP_TRIALS, PRUNER_WARMUP_EPOCHS = 4, 2  # Optuna prunes from step (epoch) == warmup on
SAMPLER_STARTUP_TRIALS = 5  # random trials before TPE models the space (Optuna's default of 10 suits long searches)
HEARTBEAT_S = 60  # a trial whose process died is marked failed by a later run after 2 heartbeats


@dataclass(frozen=True)
class Search:
    """An opened study and what it searches."""

    study: object  # optuna.Study
    space: dict
    pinned: list[str]  # options the user set: fixed in every trial
    storage: str  # "sqlite" (the study in the output folder) or "rdb" (--search-storage)


def search_home(folder: Path) -> Path:
    """Where a search into ``folder`` keeps its study while it runs: a hidden sibling with a fixed name."""
    return folder.parent / f".{folder.name}.search"


def forget_search(config: TrainConfig, folder: Path) -> None:
    """Once the run is in place (its own copy of the study inside), the search in progress is no more."""
    if config.search:
        shutil.rmtree(search_home(folder), ignore_errors=True)


def study_name(config: TrainConfig, fingerprints: dict, space: dict) -> str:
    """A name that changes with anything that changes a trial's result: the options, the data, the space."""
    options = {k: v for k, v in dataclasses.asdict(config).items() if k not in OUTSIDE_THE_STUDY}
    facts = json.dumps([options, fingerprints, describe_space(space)], sort_keys=True, default=str)
    return f"emotk-{hashlib.sha256(facts.encode()).hexdigest()[:12]}"


def open_search(job: Job, inputs: Inputs, start: Start):
    """Open (or resume) the study of this run's search: SQLite in :func:`search_home`, or ``--search-storage``."""
    import optuna

    config = start.config
    pinned = sorted(job.user_set & set(SEARCHED))
    space = resolve_space(
        start.model.num_parameters(), config.search_space, set(pinned), default_epochs(config, inputs)
    )
    url = config.search_storage
    if url is None:
        search_home(job.folder).mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{(search_home(job.folder) / STUDY_FILE).resolve()}"
    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna 5: no warning on every run
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            storage = optuna.storages.RDBStorage(url, heartbeat_interval=HEARTBEAT_S)
    except Exception as err:  # a bad URL, a missing database driver, a server that does not answer
        raise ToolkitError(
            f"config error: --search-storage {portable_storage(url)}: cannot open it ({type(err).__name__}: "
            f"{first_line(err)}) — expected an SQLAlchemy database URL whose driver is installed"
        ) from None
    study = optuna.create_study(
        storage=storage,
        study_name=study_name(config, inputs.fingerprints, space),
        direction="maximize",
        load_if_exists=True,
        pruner=optuna.pruners.MedianPruner(PRUNER_STARTUP_TRIALS, PRUNER_WARMUP_EPOCHS),
    )
    # Seeded for a repeatable search, offset by the trials already in the study: a resumed search (or another
    # machine) must not draw the first trials' options again.
    study.sampler = optuna.samplers.TPESampler(
        seed=config.seed + len(study.trials), n_startup_trials=SAMPLER_STARTUP_TRIALS
    )
    return Search(study, space, pinned, "rdb" if config.search_storage else "sqlite")


def default_epochs(config: TrainConfig, inputs: Inputs) -> float:
    """The epochs the default recipe (no ``--epochs``) plans for this run's training data."""
    return planned_epochs(dataclasses.replace(config, epochs=None), len(inputs.data.splits["train"]))


def default_recipe(config: TrainConfig, inputs: Inputs) -> dict:
    """The run's options for the searched ones, as the first trial takes them: the planned epochs, and what
    ``--class-weights auto`` means for this data."""
    recipe = {name: getattr(config, name) for name in SEARCHED}
    recipe["epochs"] = int(planned_epochs(config, len(inputs.data.splits["train"])))  # --epochs, else the plan
    recipe["class_weights"] = resolved_class_weights(config.class_weights, inputs.data.multi_label)
    return recipe


class PruneCallback(TrainerCallback):
    """Report each epoch's validation macro F1 to an Optuna trial, and stop the trial when the pruner says so."""

    def __init__(self, trial):
        self.trial = trial

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        import optuna

        epoch = round(state.epoch)
        self.trial.report(metrics[f"eval_{OBJECTIVE}"], step=epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"validation {OBJECTIVE} below the median of earlier trials at epoch {epoch}")


def with_options(config: TrainConfig, options: dict) -> TrainConfig:
    """``config`` with a trial's options (its epochs, drawn as a whole number, as the float ``--epochs`` is)."""
    if "epochs" in options:
        options = {**options, "epochs": float(options["epochs"])}
    return dataclasses.replace(config, **options)


def trial_config(config: TrainConfig, options: dict) -> TrainConfig:
    """The options of one trial: the run's with the drawn ones; a trial reports to no tracker (only the final
    training does)."""
    return dataclasses.replace(with_options(config, options), report_to="none")


def best_options(search: Search) -> dict:
    """The best trial's options, with the values the space fixes."""
    fixed = {name: spec for name, spec in search.space.items() if not isinstance(spec, (Range, tuple))}
    return {**fixed, **search.study.best_trial.params}


def make_objective(job: Job, inputs: Inputs, start: Start, search: Search):
    """The function a trial runs: train a fresh model with the drawn options; its best epoch's macro F1."""
    data, config = inputs.data, start.config
    tokenized = tokenize_splits(
        data.splits, start.tokenizer, config.max_length, len(data.labels) if data.multi_label else None
    )
    checkpoints = search_home(job.folder) / CHECKPOINTS_DIR

    def objective(trial) -> float:
        options = trial_config(config, suggest(trial, search.space))
        model, _ = load_model_and_tokenizer(start.backbone, data.labels, config.seed, data.multi_label)
        began = time.perf_counter()
        try:
            tuned = fine_tune(
                options,
                model,
                start.tokenizer,
                tokenized,
                data.labels,
                job.hardware,
                checkpoints,
                (PruneCallback(trial),),
            )
        finally:
            trial.set_user_attr("seconds", round(time.perf_counter() - began, 1))
            shutil.rmtree(checkpoints, ignore_errors=True)
        return max(entry[f"eval_{OBJECTIVE}"] for entry in tuned.log)

    return objective


def search_options(job: Job, inputs: Inputs, start: Start) -> tuple[Start, dict]:
    """With ``--search N``: run the trials still missing, write the trials' files into the run, and return the
    start with the best trial's options and metrics.json's ``search`` entry; without it, ``start`` as it is."""
    if not start.config.search:
        return start, {}
    if job.state.num_processes > 1:
        raise ToolkitError(
            "config error: --search runs in one process — run it without torchrun / accelerate launch, then train "
            f"with the options it found (its {TRAIN_CONFIG_FILE}) on several"
        )
    import optuna

    search = open_search(job, inputs, start)
    wanted = start.config.search
    counted = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    done = len(search.study.get_trials(deepcopy=False, states=counted))
    if done:
        print(f"search: resuming study {search.study.study_name}: {done} of {wanted} trials done")
    if done < wanted:
        first = recipe_trial(search.space, default_recipe(start.config, inputs))
        if first:  # the recipe the search is meant to improve is its first trial (once, even when resumed)
            search.study.enqueue_trial(first, skip_if_exists=True)
        search.study.optimize(
            make_objective(job, inputs, start, search),
            n_trials=wanted - done,
            callbacks=[optuna.study.MaxTrialsCallback(wanted, states=counted)],  # other machines' trials count too
            gc_after_trial=True,
        )
    options = best_options(search)
    report = write_search_files(job.out, search, options, OBJECTIVE)
    if search.storage == "sqlite":
        shutil.copyfile(search_home(job.folder) / STUDY_FILE, job.out / STUDY_FILE)
    print(
        f"search: best of {wanted} trials: trial {report['best']['trial']}, validation {OBJECTIVE} "
        f"{report['best']['value']:.4f} with {options}"
    )
    return dataclasses.replace(start, config=with_options(start.config, options)), report
