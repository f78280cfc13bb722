"""A run's TensorBoard traces go to the Hub (its Training metrics tab), and the card says so in one line."""

from __future__ import annotations

import socket
from pathlib import Path

from formats.output_folder import TRACES_DIR, trace_files
from publish.__main__ import main
from publish.card import build_facts, render_card
from publish.hub import published_trace_name
from tests.publish.test_hub import REPO_ID, read_tree

CARD_LINE = "this page's **Training metrics** tab shows them"


def write_traces(run: Path) -> list[Path]:
    """Real event files, as a run writes them (two: a run that was resumed), and a file that is none."""
    from torch.utils.tensorboard import SummaryWriter

    for value in (0.5, 0.25):
        with SummaryWriter(log_dir=str(run / TRACES_DIR)) as writer:
            writer.add_scalar("eval/f1_macro", value, 1)
    (run / TRACES_DIR / "notes.txt").write_text("not a trace\n")
    return trace_files(run)


def test_a_dry_run_upload_holds_the_traces_and_the_card_says_so(run_dir, tmp_path, capsys):
    traces = write_traces(run_dir)
    assert len(traces) == 2
    out = tmp_path / "dry"
    assert main([str(run_dir), "--repo-id", REPO_ID, "--dry-run", str(out)]) == 0
    written = read_tree(out)
    # the event files only (not notes.txt), named without this machine's host name
    published = {f"{TRACES_DIR}/{published_trace_name(path, i)}": path for i, path in enumerate(traces)}
    assert {name for name in written if name.startswith(f"{TRACES_DIR}/")} == set(published)
    assert all(written[name] == path.read_bytes() for name, path in published.items())
    assert not [name for name in written if socket.gethostname() in name]
    assert CARD_LINE in written["README.md"].decode()
    assert capsys.readouterr().out.startswith(f"Dry run: wrote the {len(written)} files of {REPO_ID}")


def test_a_run_without_traces_gets_no_card_line(run_dir):
    assert trace_files(run_dir) == []  # the fixture's runs/ holds no event file
    assert CARD_LINE not in str(render_card(build_facts(run_dir, REPO_ID)))
    write_traces(run_dir)
    assert CARD_LINE in str(render_card(build_facts(run_dir, REPO_ID)))
