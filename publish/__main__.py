"""CLI: publish a training output folder to the Hub (model + card in one commit), optionally with its Space.

    python -m publish runs/emotion --repo-id me/distilbert-emotion
    python -m publish runs/emotion --repo-id me/distilbert-emotion --private
    python -m publish runs/emotion --repo-id me/distilbert-emotion --dry-run out/
    python -m publish runs/emotion --repo-id me/distilbert-emotion --space me/emotion-demo

The token comes from HF_TOKEN or `hf auth login`, never from an option (it would land in shell history).
"""

from __future__ import annotations

import argparse
import sys

from formats.command_line import help_texts
from publish.card import DEFAULT_LICENSE
from publish.errors import one_line_errors
from publish.hub import publish_folder

COMMAND = "python -m publish"
DESCRIPTION = (
    "Publish an output folder of `python -m training` to the Hugging Face Hub: the model, its tokenizer, a generated "
    "model card and the reports, in one commit. Token: HF_TOKEN or `hf auth login`."
)


def parse_args(argv: list[str] | None = None, prog: str = COMMAND) -> argparse.Namespace:
    """The options of a publication, from the command line (``prog``: the command's name in its help)."""
    parser = argparse.ArgumentParser(prog=prog, **{**help_texts(__doc__, COMMAND), "description": DESCRIPTION})
    parser.add_argument("run_dir", metavar="RUN_DIR", help="the output folder written by `python -m training`")
    parser.add_argument("--repo-id", required=True, help="model repo on the Hub to create or update, namespace/name")
    parser.add_argument("--private", action="store_true", help="create the repo (and the Space) as private")
    parser.add_argument(
        "--dry-run",
        metavar="OUT_DIR",
        default=None,
        help="write exactly the files that would be pushed into OUT_DIR (new or empty) and stop: "
        "no network, no token (with --space: OUT_DIR/model and OUT_DIR/space)",
    )
    parser.add_argument(
        "--space",
        metavar="SPACE_ID",
        default=None,
        help="also deploy the Gradio app of space/ to this Space (namespace/name), serving the model",
    )
    parser.add_argument(
        "--allow-demo-model",
        action="store_true",
        help="publish a model trained on the bundled synthetic sample (data/sample), which is refused otherwise: "
        "it is not a real emotion classifier (its card says so)",
    )
    parser.add_argument("--commit-message", default=None, help="message of the model commit (default: the scores)")
    parser.add_argument(
        "--license", default=DEFAULT_LICENSE, help="license of the model for the card (default: %(default)s)"
    )
    return parser.parse_args(argv)


@one_line_errors
def main(argv: list[str] | None = None, prog: str = COMMAND) -> int:
    """Publish RUN_DIR (or write the dry run); a user error is one line on stderr and exit status 2.

    Args:
        argv: the command-line arguments (default: ``sys.argv[1:]``).
        prog: the command's name in its help and usage errors (``emotk publish`` when run by ``emotk``).
    """
    args = parse_args(argv, prog)
    result = publish_folder(
        args.run_dir,
        args.repo_id,
        private=args.private,
        space_id=args.space,
        dry_run_dir=args.dry_run,
        commit_message=args.commit_message,
        license=args.license,
        allow_demo_model=args.allow_demo_model,
    )
    if args.dry_run is not None:
        print(
            f"Dry run: wrote the {len(result['files'])} files of {args.repo_id} to "
            f"{args.dry_run}{'/model' if args.space else ''} (nothing was pushed)"
        )
        if args.space:
            print(
                f"Dry run: wrote the {len(result['space_files'])} files of the Space {args.space} to "
                f"{args.dry_run}/space; would set the Space variables {result['space_variables']}"
            )
        return 0
    print(f"Model: {result['repo_url']}")
    print(f"Commit: {result['commit_url']}")
    if args.space:
        print(f"Space: {result['space_url']}")
        print(f"Space commit: {result['space_commit_url']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
