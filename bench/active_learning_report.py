"""The report of ``bench/active_learning.py``: tables, the learning-curve plot and the targets, from its rows.

Targets (issue 30, measured here): the default (``balanced``) ahead of ``random`` at every round on the mean
of the seeds, by at least 2 points of test macro F1 at 1,500 and 2,000 labels; never more than 1 point behind on
any single seed and round; random's last-round macro F1 reached with at most 2,500 labels; its picks hold
``love`` and ``surprise`` at least at their share of the pool; and the base encoder's first texts (``typical``)
at least level with the seed's random start on the mean of the seeds.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from pathlib import Path

import numpy as np
from harness import machine, pct, pp, print_table

DEFAULT, BASELINE, TYPICAL = "balanced", "random", "typical"
RARE = ("love", "surprise")  # the classes whose share of the picks is a target
PLOT = "learning_curve.png"


def by_point(rows: list[dict]) -> dict[str, dict[int, dict[int, dict]]]:
    """strategy -> labelled texts -> seed -> row."""
    table: dict = {}
    for row in rows:
        table.setdefault(row["strategy"], {}).setdefault(row["labelled"], {})[row["seed"]] = row
    return table


def spread(values: list[float]) -> str:
    """``81.50% ± 1.20 (3)``: the mean, the standard deviation over seeds and how many there are."""
    if len(values) < 2:
        return f"{pct(values[0])} (1)"
    return f"{pct(float(np.mean(values)))} ± {100 * float(np.std(values, ddof=1)):.2f} ({len(values)})"


def curve_table(points: dict, strategies: list[str]) -> tuple[list[str], list[list[str]]]:
    """Test macro F1 per round: mean ± standard deviation over seeds (how many), per strategy."""
    sizes = sorted({n for s in strategies for n in points.get(s, {})})
    header = ["labelled", *(f"{s} macro F1" for s in strategies)]
    table = [
        [
            f"{n:,}",
            *(
                spread([r["f1_macro"] for r in points[s][n].values()]) if n in points.get(s, {}) else "–"
                for s in strategies
            ),
        ]
        for n in sizes
    ]
    return header, table


def asked_shares(points: dict, strategies: list[str], pool: Counter) -> tuple[list[str], list[list[str]]]:
    """The classes of the texts each strategy asked for (every round after the start, all seeds), against the pool:
    how many, and their share."""
    classes = [label for label, _ in pool.most_common()]
    header = ["asked by", *classes, "texts"]
    rows = []
    for name, counts in [("the pool", pool), *((s, asked_counts(points.get(s, {}))) for s in strategies)]:
        total = sum(counts.values())
        if total:
            rows.append([name, *(f"{counts[c]:,} ({counts[c] / total:.1%})" for c in classes), f"{total:,}"])
    return header, rows


def asked_counts(curve: dict) -> Counter:
    """Labels asked after the start: each seed's last round's class counts minus its start's (a seed whose last
    round was reused from an earlier run, without its counts, is left out)."""
    asked: Counter = Counter()
    if not curve:
        return asked
    first = min(curve)
    for seed in curve[first]:
        last = max(n for n in curve if seed in curve[n])
        row = curve[last][seed]
        if last > first and row.get("class_counts"):
            asked.update(Counter(row["class_counts"]) - Counter(curve[first][seed]["class_counts"]))
    return asked


def mean_f1(curve: dict, n: int, seeds: list[int]) -> float:
    """The mean test macro F1 of ``seeds`` at ``n`` labelled texts."""
    return float(np.mean([curve[n][s]["f1_macro"] for s in seeds]))


def common_seeds(a: dict, b: dict, n: int) -> list[int]:
    """The seeds measured at ``n`` labelled texts by both curves: means are compared over the same seeds only."""
    return sorted(set(a.get(n, {})) & set(b.get(n, {})))


def mean_gap(new: dict, base: dict, n: int) -> float:
    """The default's mean minus the baseline's at ``n`` labelled texts, over the seeds both measured."""
    both = common_seeds(new, base, n)
    return mean_f1(new, n, both) - mean_f1(base, n, both)


def seeds_said(count: int) -> str:
    return f"{count} seed{'s' if count > 1 else ''}"


def gap_table(points: dict) -> tuple[list[str], list[list[str]]]:
    """The default minus the baseline, per seed and round, and their mean over the seeds measured by both."""
    new, base = points.get(DEFAULT, {}), points.get(BASELINE, {})
    sizes = sorted(set(new) & set(base))[1:]
    seeds = sorted({s for n in sizes for s in common_seeds(new, base, n)})
    header = ["labelled", *(f"seed {s}" for s in seeds), "mean"]
    table = []
    for n in sizes:
        both = common_seeds(new, base, n)
        cells = [pp(new[n][s]["f1_macro"] - base[n][s]["f1_macro"]) if s in both else "–" for s in seeds]
        table.append([f"{n:,}", *cells, pp(mean_gap(new, base, n))])
    return header, table


def class_f1_table(points: dict, classes: list[str]) -> tuple[list[str], list[list[str]]]:
    """Each class's test F1 per round, the default against the baseline, mean over the seeds both measured with
    their metrics at hand (``class_f1``): where the default wins or loses its macro F1."""
    new, base = points.get(DEFAULT, {}), points.get(BASELINE, {})
    header = ["labelled", "strategy", *classes, "seeds"]
    table = []
    for n in sorted(set(new) & set(base))[1:]:
        seeds = [s for s in common_seeds(new, base, n) if "class_f1" in new[n][s] and "class_f1" in base[n][s]]
        for name, curve in ((BASELINE, base), (DEFAULT, new)):
            if seeds:
                means = [np.mean([curve[n][s]["class_f1"][c] for s in seeds]) for c in classes]
                table.append([f"{n:,}", name, *(pct(m) for m in means), str(len(seeds))])
    return header, table


def reused_note(rows: list[dict]) -> list[str]:
    """Which rows an earlier run measured (``"reused"``: its date), copied in rather than trained again."""
    reused: dict = {}
    for r in rows:
        if r.get("reused"):
            reused.setdefault((r["strategy"], r["seed"], r["reused"]), []).append(r["labelled"])
    return [
        f"- {strategy}, seed {seed}: the rounds at {', '.join(f'{n:,}' for n in sorted(sizes))} labels are the "
        f"{date} run's, reused (same settings; marked by `reused` in results.jsonl); no class counts"
        for (strategy, seed, date), sizes in sorted(reused.items())
    ]


def verdict(points: dict, pool: Counter) -> list[str]:
    """The targets of the module docstring, each **yes**/**no** with the figures it rests on."""
    new, base = points.get(DEFAULT, {}), points.get(BASELINE, {})
    rounds = sorted(set(new) & set(base))[1:]  # the start is the same texts for every strategy
    if not rounds:
        return [f"verdict: needs rounds of both {DEFAULT} and {BASELINE}"]

    gap = {n: mean_gap(new, base, n) for n in rounds}

    def seeds(n):
        count = len(common_seeds(new, base, n))
        return "" if count >= 3 else f" ({seeds_said(count)})"

    gaps = ", ".join(f"{n:,}: {pp(gap[n])}{seeds(n)}" for n in rounds)
    ahead = all(gap[n] > 0 for n in rounds) and all(gap[n] >= 0.02 for n in rounds if n in (1500, 2000))
    single = [(s, n, new[n][s]["f1_macro"] - base[n][s]["f1_macro"]) for n in rounds for s in new[n] if s in base[n]]
    worst = min(single, key=lambda t: t[2])
    final = max(base)
    final_seeds = sorted(base[final])  # random's last round, on the seeds that reached it
    target = mean_f1(base, final, final_seeds)
    reached = [n for n in sorted(new) if set(final_seeds) <= set(new[n]) and mean_f1(new, n, final_seeds) >= target]
    asked = asked_counts(new)
    total, pool_total = sum(asked.values()), sum(pool.values())
    shares = {c: (asked[c] / total if total else 0.0, pool[c] / pool_total) for c in RARE}
    lines = [
        f"- {DEFAULT} ahead of {BASELINE} at every round (mean of the seeds), by at least 2 points at 1,500 and "
        f"2,000: **{'yes' if ahead else 'no'}** ({DEFAULT} minus {BASELINE}: {gaps})",
        f"- never more than 1 point behind on a single seed and round: **{'yes' if worst[2] >= -0.01 else 'no'}** "
        f"(worst: seed {worst[0]} at {worst[1]:,}, {pp(worst[2])})",
        f"- reaches {BASELINE}'s {final:,}-label macro F1 ({pct(target)}, seeds {final_seeds}) with at most 2,500 "
        "labels: "
        f"**{'yes' if reached and reached[0] <= 2500 else 'no'}** — "
        + (f"first at {reached[0]:,}" if reached else "not reached"),
        f"- its picks hold {' and '.join(RARE)} at least at their share of the pool: "
        f"**{'yes' if total and all(a >= p for a, p in shares.values()) else 'no'}** ("
        + ", ".join(f"{c} {a:.1%} of its picks vs {p:.1%} of the pool" for c, (a, p) in shares.items())
        + ")",
    ]
    return lines + cold_verdict(points)


def cold_verdict(points: dict) -> list[str]:
    """Cold start: the base encoder's first texts against the seed's random start, same seeds."""
    typical, base = points.get(TYPICAL, {}), points.get(BASELINE, {})
    if not typical:
        return []
    n = min(typical)
    seeds = sorted(set(typical[n]) & set(base.get(n, {})))
    if not seeds:
        return []
    pairs = [(typical[n][s]["f1_macro"], base[n][s]["f1_macro"]) for s in seeds]
    diff = float(np.mean([t - r for t, r in pairs]))
    each = ", ".join(f"seed {s}: {pct(t)} vs {pct(r)}" for s, (t, r) in zip(seeds, pairs, strict=True))
    return [
        f"- cold start: the base encoder's first {n:,} at least level with a random {n:,} (mean of "
        f"{seeds_said(len(seeds))}): **{'yes' if diff >= 0 else 'no'}** ({pp(diff)}; {each})"
    ]


def plot(points: dict, strategies: list[str], path: Path, title: str) -> None:
    """Test macro F1 against labelled texts: the mean over seeds, the band from the lowest to the highest seed; a
    hollow marker where fewer seeds were measured than at the plot's best-measured point (a mean of fewer seeds
    is not comparable with its neighbours)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    most = max(len(seeds) for strategy in strategies for seeds in points.get(strategy, {}).values())
    for strategy in [s for s in strategies if s in points]:
        sizes = sorted(points[strategy])
        values = [[r["f1_macro"] for r in points[strategy][n].values()] for n in sizes]
        means = [np.mean(v) for v in values]
        line = axis.plot(sizes, means, marker="o", label=strategy)[0]
        fewer = [i for i, v in enumerate(values) if len(v) < most]
        if fewer:
            axis.plot(
                [sizes[i] for i in fewer],
                [means[i] for i in fewer],
                "o",
                color=line.get_color(),
                markerfacecolor="white",
                linestyle="none",
            )
        axis.fill_between(sizes, [min(v) for v in values], [max(v) for v in values], color=line.get_color(), alpha=0.15)
    axis.set_xlabel("labelled texts")
    axis.set_ylabel(f"test macro F1 (mean of {most} seeds; hollow: fewer)", fontsize=9)
    axis.grid(alpha=0.3)
    axis.legend()
    axis.set_title(title, fontsize=9)
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)


def markdown(header: list[str], table: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|---|" + "---:|" * (len(header) - 1),
        *("| " + " | ".join(r) + " |" for r in table),
    ]


def report(args, rows: list[dict], pool: Counter, described: str) -> None:
    """Print the tables and the verdict; save the plot; with ``--docs``, write them into that page."""
    rows = [row for row in rows if row["seed"] < args.seeds]
    if not rows:
        print("no rounds recorded yet")
        return
    points = by_point(rows)
    strategies = [s for s in (*args.strategies, TYPICAL) if s in points]
    curve = curve_table(points, [s for s in strategies if s != TYPICAL])
    shares = asked_shares(points, [s for s in strategies if s != TYPICAL], pool)
    gaps = gap_table(points)
    per_class = class_f1_table(points, [label for label, _ in pool.most_common()])
    lines = verdict(points, pool) + reused_note(rows)
    seeds = sorted({row["seed"] for row in rows})
    print(f"\nbench/active_learning.py  seeds {seeds}; {described}; {machine()}\n")
    for header, table in (curve, gaps, per_class, shares):
        print_table(header, table)
        print()
    print("\n".join(lines))
    title = f"Active learning on the emotion data (--model {args.model}, --epochs {args.epochs:g} per round)"
    plot(points, [s for s in strategies if s != TYPICAL], args.output_dir / PLOT, title)
    print(f"\nwrote {args.output_dir / PLOT}")
    if args.docs:
        measured = [r for r in rows if r["round"] > 0 and not r.get("reused")]
        seconds = {k: np.mean([r[k] for r in measured] or [0]) for k in ("train_seconds", "ask_seconds")}
        body = [
            f"Measured {time.strftime('%Y-%m-%d')}: seeds {', '.join(map(str, seeds))}; {described}; {machine()}; a "
            f"round took {seconds['train_seconds']:.0f} s of training and {seconds['ask_seconds']:.0f} s of asking on "
            "average. Test macro F1, mean ± standard deviation over the seeds (how many seeds).",
            "",
            *markdown(*curve),
            "",
            f"![learning curve]({PLOT})",
            "",
            f"{DEFAULT} minus {BASELINE}, test macro F1, per seed (the mean over the seeds both measured):",
            "",
            *markdown(*gaps),
            "",
            "Each class's test F1, mean over the seeds both measured (where the macro F1 is won or lost):",
            "",
            *markdown(*per_class),
            "",
            "The classes of the texts each strategy asked for (every round after the start, all seeds):",
            "",
            *markdown(*shares),
            "",
            *lines,
        ]
        write_docs(Path(args.docs), args.output_dir / PLOT, body)


def write_docs(docs: Path, plot_file: Path, body: list[str]) -> None:
    """The results section of the page, between its markers, and the plot beside it."""
    shutil.copyfile(plot_file, docs.with_name(PLOT))
    text = docs.read_text(encoding="utf-8") if docs.is_file() else "<!-- results -->\n<!-- /results -->\n"
    head, rest = text.split("<!-- results -->", 1)
    tail = rest.split("<!-- /results -->", 1)[1]
    docs.write_text(head + "<!-- results -->\n" + "\n".join(body) + "\n<!-- /results -->" + tail, encoding="utf-8")
    print(f"wrote {docs}")
