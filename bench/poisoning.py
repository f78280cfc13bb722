"""Benchmark of the corrections rules against a flood: can one client relabel or extend the training data?

On the real training split (``../shared/data/emotion/train.txt``): 20 training texts, each flagged with
its right label by 5 honest clients, while one client floods 500 wrong flags on the same 20 texts (25
each, every wrong label, sent after the honest ones so that "the latest flag" favours the flood). A
second flood from the same client sends 500 made-up new texts. The flags are merged into the training
split under three rule sets:

- **before**: every flag a vote, no minimum, no cap (the rules before flags carried a client);
- **one vote per client** only (``--min-votes 1 --max-new-per-client 0``);
- **the defaults** (``--min-votes 2 --max-new-per-client 20``).

A second table: a flood of 10,000 *distinct* made-up anonymous clients (anonymous ids are cheap: one IPv6 /64
gives endless addresses), 500 on each target voting one wrong label, against 2 honest anonymous dissenters per
target; then 10,000 more made-up clients adding 5,000 made-up texts in pairs. Before, every client's vote
counted (``--trust-anonymous-votes``); by default anonymous votes cannot change a training label.

No training: it measures only what the merge does to the labels. Runs in seconds.

    .venv/bin/python bench/poisoning.py [--data ../shared/data/emotion/train.txt] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from harness import DATA, print_table, read_split

from training.corrections.merge import DEFAULT_MAX_NEW_PER_CLIENT, DEFAULT_MIN_VOTES, merge_corrections

HONEST, TEXTS, FLOOD = 5, 20, 500
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def flag(n: int, text: str, label: str, client: str) -> dict:
    """A flag record as the Space writes it; ``n`` orders them in time (one second apart)."""
    when = (START + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"id": f"f{n}", "time": when, "text": text, "corrected_label": label, "client": client}


def scenario(rows, rng: random.Random) -> tuple[list[int], list[dict], list[dict]]:
    """The 20 targets (row indices), the honest flags plus the wrong flood on them, and the made-up flood."""
    classes = sorted({label for _, label in rows})
    targets = rng.sample(range(len(rows)), TEXTS)
    honest = [
        flag(len(targets) * k + i, rows[t][0], rows[t][1], f"hf:honest{k}")
        for k in range(HONEST)
        for i, t in enumerate(targets)
    ]
    flood = []
    for n in range(FLOOD):
        text, label = rows[targets[n % TEXTS]]
        wrong = [c for c in classes if c != label]
        flood.append(flag(10_000 + n, text, wrong[n % len(wrong)], "anon:flooder"))
    made_up = [flag(20_000 + n, f"made up tweet number {n}", rng.choice(classes), "anon:flooder") for n in range(FLOOD)]
    return targets, honest + flood, made_up


def without_client(records: list[dict]) -> list[dict]:
    """The records as the old rules saw them: no client, so every flag is a voter of its own."""
    return [{k: v for k, v in record.items() if k != "client"} for record in records]


def measure(rows, targets, on_targets, made_up, *, strip: bool, min_votes: int, cap: int | None) -> list:
    """One rule set's row: honest labels kept, texts relabelled wrong, made-up texts added, flood flags used."""
    texts, labels = [t for t, _ in rows], [lab for _, lab in rows]
    prepare = without_client if strip else list
    results = [
        merge_corrections(
            texts,
            labels,
            prepare(flags),
            sorted(set(labels)),
            min_votes=min_votes,
            max_new_per_client=cap,
            trust_anonymous_votes=strip,  # the old rules knew no clients, so no anonymous ones either
        )
        for flags in (on_targets, made_up)
    ]
    (_, new_labels, on_summary), (_, _, made_up_summary) = results
    kept = sum(new_labels[t] == labels[t] for t in targets)
    flood_ids = {r["id"] for r in on_targets + made_up if r["client"] == "anon:flooder"}
    rejected = {r["id"] for summary in (on_summary, made_up_summary) for r in summary["rejections"]}
    return [f"{kept} / {TEXTS}", TEXTS - kept, made_up_summary["added"], f"{len(flood_ids - rejected)} / {2 * FLOOD}"]


def sybil_scenario(rows, targets: list[int]) -> tuple[list[dict], list[dict]]:
    """500 distinct fake clients per target voting one wrong label, 2 honest anonymous dissenters per target;
    and 5,000 made-up texts, each sent by two more fake clients."""
    classes = sorted({label for _, label in rows})
    on_targets, n = [], 100_000
    for i, t in enumerate(targets):
        text, label = rows[t]
        wrong = next(c for c in classes if c != label)
        on_targets += [flag(n + k, text, wrong, f"anon:fake-{i}-{k}") for k in range(FLOOD)]
        on_targets += [flag(n + FLOOD + k, text, label, f"anon:honest-{i}-{k}") for k in range(2)]
        n += FLOOD + 2
    made_up = [flag(n + k, f"made up tweet {k // 2}", classes[0], f"anon:maker-{k}") for k in range(2 * 5_000)]
    return on_targets, made_up


def measure_sybils(rows, targets, on_targets, made_up, *, trust: bool) -> list:
    """One rule set's row against the distinct fake clients."""
    texts, labels = [t for t, _ in rows], [lab for _, lab in rows]
    merged = [
        merge_corrections(texts, labels, flags, sorted(set(labels)), trust_anonymous_votes=trust)
        for flags in (on_targets, made_up)
    ]
    (_, new_labels, on_summary), (_, _, made_up_summary) = merged
    kept = sum(new_labels[t] == labels[t] for t in targets)
    warnings = len(on_summary["warnings"]) + len(made_up_summary["warnings"])
    return [f"{kept} / {TEXTS}", TEXTS - kept, len(on_summary["proposals"]), made_up_summary["added"], warnings]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DATA / "train.txt"), help="a text;label training file")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = read_split(Path(args.data))
    # Distinct texts only, so that a target's label is one label.
    seen, unique = set(), []
    for text, label in rows:
        if text not in seen:
            seen.add(text)
            unique.append((text, label))
    targets, on_targets, made_up = scenario(unique, random.Random(args.seed))
    print(
        f"{len(unique)} training texts; {TEXTS} targets; {HONEST} honest clients x {TEXTS} right flags; "
        f"one client: {FLOOD} wrong flags on the targets, then {FLOOD} made-up new texts\n"
    )
    rule_sets = [
        ("before: every flag a vote", dict(strip=True, min_votes=1, cap=None)),
        ("one vote per client (--min-votes 1, no cap)", dict(strip=False, min_votes=1, cap=None)),
        (
            f"defaults (--min-votes {DEFAULT_MIN_VOTES}, --max-new-per-client {DEFAULT_MAX_NEW_PER_CLIENT})",
            dict(strip=False, min_votes=DEFAULT_MIN_VOTES, cap=DEFAULT_MAX_NEW_PER_CLIENT),
        ),
    ]
    print_table(
        ["rules", "honest labels kept", "texts relabelled wrong", "made-up texts added", "flood flags used"],
        [[name, *measure(unique, targets, on_targets, made_up, **options)] for name, options in rule_sets],
    )
    sybil_targets, sybil_made_up = sybil_scenario(unique, targets)
    print(
        f"\n{TEXTS * FLOOD} distinct made-up anonymous clients, {FLOOD} per target, one wrong label each; 2 honest "
        f"anonymous dissenters per target; then {len(sybil_made_up)} more adding {len(sybil_made_up) // 2} made-up "
        "texts in pairs\n"
    )
    print_table(
        [
            "rules",
            "honest labels kept",
            "texts relabelled wrong",
            "proposals for review",
            "made-up texts added",
            "burst warnings",
        ],
        [
            [name, *measure_sybils(unique, targets, sybil_targets, sybil_made_up, trust=trust)]
            for name, trust in (("anonymous votes trusted (before)", True), ("defaults", False))
        ],
    )


if __name__ == "__main__":
    main()
