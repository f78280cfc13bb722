"""python -m training.ask: the strategies against hand computations, near-duplicates, skipped texts, the sheet."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from formats.output_folder import TRAIN_CONFIG_FILE
from tests.conftest import REPO_ROOT, make_texts, write_split
from training.ask.__main__ import main
from training.ask.known import known_texts
from training.ask.ranking import (
    NEAR_DUPLICATE,
    choose,
    distinct_in_order,
    entropy_uncertainty,
    margin_uncertainty,
    ranked,
    suggestion,
    uncertainty,
)
from training.ask.sheet import COLUMNS

PROBS = np.array(
    [
        [0.50, 0.40, 0.10],  # margin 0.10
        [0.90, 0.05, 0.05],  # margin 0.85
        [0.34, 0.33, 0.33],  # margin 0.01
        [0.60, 0.20, 0.20],  # margin 0.40
    ]
)
SUGGESTED = re.compile(r"^\S+ \d\.\d\d( \| \S+ \d\.\d\d){2}$")


# ----------------------------------------------------------------------------- the strategies, as pure functions


def test_margin_is_one_minus_the_gap_of_the_two_likeliest_and_ranks_smallest_gap_first():
    assert margin_uncertainty(PROBS) == pytest.approx([0.90, 0.15, 0.99, 0.60])
    assert ranked(uncertainty(PROBS, "margin"), "margin").tolist() == [2, 0, 3, 1]
    assert ranked(uncertainty(PROBS, "balanced"), "balanced").tolist() == [2, 0, 3, 1]  # balanced samples by margin


def test_margin_ties_keep_the_pool_order():
    assert ranked(margin_uncertainty(np.array([[0.6, 0.4], [0.9, 0.1], [0.6, 0.4]])), "margin").tolist() == [0, 2, 1]


def test_entropy_is_normalised_and_ranks_the_flattest_first():
    by_hand = [-sum(p * np.log(p) for p in row) / np.log(3) for row in PROBS]
    assert entropy_uncertainty(PROBS) == pytest.approx(by_hand)
    assert entropy_uncertainty(np.array([[1 / 3] * 3, [1.0, 0.0, 0.0]])) == pytest.approx([1.0, 0.0], abs=1e-9)
    assert ranked(uncertainty(PROBS, "entropy"), "entropy").tolist() == list(np.argsort(by_hand)[::-1])


def test_random_is_a_seeded_permutation():
    scores = np.zeros(50)
    first, again, other = ranked(scores, "random", 0), ranked(scores, "random", 0), ranked(scores, "random", 1)
    assert sorted(first.tolist()) == list(range(50))
    assert first.tolist() == again.tolist()
    assert first.tolist() != other.tolist()


def test_multi_label_margin_is_the_label_nearest_its_threshold():
    probs = np.array([[0.90, 0.20], [0.45, 0.10], [0.70, 0.69]])
    thresholds = np.array([0.5, 0.7])
    # distances: row 0 min(0.40, 0.50), row 1 min(0.05, 0.60), row 2 min(0.20, 0.01)
    assert margin_uncertainty(probs, thresholds) == pytest.approx([0.60, 0.95, 0.99])
    assert ranked(uncertainty(probs, "margin", thresholds), "margin").tolist() == [2, 1, 0]
    bits = [np.mean([-(p * np.log2(p) + (1 - p) * np.log2(1 - p)) for p in row]) for row in probs]
    assert uncertainty(probs, "entropy", thresholds) == pytest.approx(bits)
    assert suggestion(probs[2], ["joy", "love"], thresholds) == "love 0.69 | joy 0.70"


def test_suggested_is_the_three_likeliest_classes_with_their_probabilities():
    probs = np.array([0.09, 0.41, 0.02, 0.38, 0.10])
    assert suggestion(probs, ["fear", "joy", "love", "sadness", "anger"]) == "joy 0.41 | sadness 0.38 | anger 0.10"


def unit(*rows) -> np.ndarray:
    vectors = np.array(rows, dtype=np.float64)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def near_pairs(vectors: np.ndarray, picked: list[int]) -> list[tuple[int, int]]:
    chosen = vectors[picked]
    similarity = chosen @ chosen.T
    return [(a, b) for a in range(len(picked)) for b in range(a + 1, len(picked)) if similarity[a, b] >= NEAR_DUPLICATE]


# Rows 0 and 1 are near-duplicates (cosine 0.995), as are 3 and 4; 2 and 5 are far from everything.
NEAR = unit([1, 0, 0], [1, 0.1, 0], [0, 1, 0], [0, 0, 1], [0.1, 0, 1], [-1, -1, 0])


def test_in_order_a_near_duplicate_is_dropped_and_the_next_text_taken():
    assert (unit([1, 0, 0])[0] @ unit([1, 0.1, 0])[0]) >= NEAR_DUPLICATE
    picked = distinct_in_order(NEAR, 4)
    assert picked == [0, 2, 3, 5]
    assert near_pairs(NEAR, picked) == []


def test_choose_never_takes_a_near_duplicate_pair_and_fills_the_budget_from_later_chunks():
    rng = np.random.default_rng(0)
    base = unit(*rng.normal(size=(30, 16)))
    copies = unit(*(base[0] + rng.normal(scale=0.01, size=(40, 16))))  # 40 near-duplicates of one text first
    vectors = np.concatenate([copies, base[1:]])
    calls = []

    def embed(rows):
        calls.append(len(rows))
        return vectors[rows]

    picked = choose(np.arange(len(vectors)), 10, embed)
    assert len(picked) == 10
    assert near_pairs(vectors, picked) == []
    assert len(calls) > 1  # the first chunk fell short: the next one was embedded


# ----------------------------------------------------------------------------- end to end, on a fitted tiny model


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, trained_tiny_dir, emotion_labels):
    """An output folder of the fitted tiny model whose train_config.json names local data (train/validation/test)."""
    root = tmp_path_factory.mktemp("ask")
    model = shutil.copytree(trained_tiny_dir, root / "run")
    data = root / "data"
    data.mkdir()
    for name, seed in (("train", 31), ("validation", 32), ("test", 33)):
        write_split(data / f"{name}.txt", make_texts(emotion_labels, 3, seed=seed))
    (model / TRAIN_CONFIG_FILE).write_text(json.dumps({"config": {"data": str(data)}}), encoding="utf-8")
    return model


@pytest.fixture(scope="module")
def pool_rows(emotion_labels):
    return make_texts(emotion_labels, 10, seed=41)


@pytest.fixture
def pool(tmp_path, pool_rows):
    return write_split(tmp_path / "pool.txt", pool_rows)


def ask(*args) -> int:
    return main([str(arg) for arg in (*args, "--no-progress")])


def read_csv(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_the_sheet_has_its_columns_in_rank_order(run_dir, pool, pool_rows, tmp_path, capsys):
    out = tmp_path / "sheet.csv"
    assert ask(run_dir, pool, "--budget", 7, "--strategy", "margin", "--output", out) == 0
    with open(out, newline="", encoding="utf-8") as file:
        assert next(csv.reader(file)) == list(COLUMNS)
    rows = read_csv(out)
    assert [row["rank"] for row in rows] == [str(i) for i in range(1, 8)]
    uncertainties = [float(row["uncertainty"]) for row in rows]
    assert uncertainties == sorted(uncertainties, reverse=True)  # margin: the most uncertain first
    assert all(re.fullmatch(r"\d\.\d{4}", row["uncertainty"]) for row in rows)
    assert all(SUGGESTED.match(row["suggested"]) for row in rows)
    assert all(row["label"] == "" for row in rows)
    assert all(pool_rows[int(row["id"])][0] == row["text"] for row in rows)  # id: the POOL row number
    summary = capsys.readouterr().out
    assert "asked 7 of 60 POOL texts with margin" in summary and "mean uncertainty" in summary
    assert not list(tmp_path.glob("sheet.csv.*"))  # the work files are gone


@pytest.mark.parametrize("strategy", ["balanced", "margin", "entropy", "random"])
def test_each_strategy_writes_budget_distinct_texts(run_dir, pool, tmp_path, strategy):
    out = tmp_path / "sheet.jsonl"
    assert ask(run_dir, pool, "--budget", 5, "--strategy", strategy, "--output", out) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [list(row) for row in rows] == [list(COLUMNS)] * 5
    assert len({row["text"] for row in rows}) == 5
    assert all(row["label"] is None for row in rows)


def test_known_texts_are_never_asked(run_dir, pool_rows, tmp_path, capsys):
    data = json.loads((run_dir / TRAIN_CONFIG_FILE).read_text())["config"]["data"]
    train, validation, test = (
        [line.rsplit(";", 1)[0] for line in Path(data, f"{name}.txt").read_text(encoding="utf-8").splitlines()]
        for name in ("train", "validation", "test")
    )
    excluded = [text for text, _ in pool_rows[:5]]
    write_split(tmp_path / "earlier.txt", [(f"  {text.upper()} ", "joy") for text in excluded])  # matched as keys
    shouted = [f"{text.upper()}  " for text in train[:3]]  # training texts in another case still match
    rows = pool_rows + [(t, "joy") for t in train + validation + test + shouted] + pool_rows[5:7]  # and repeats
    pool = write_split(tmp_path / "pool.txt", rows)
    out = tmp_path / "sheet.csv"
    assert ask(run_dir, pool, "--budget", 500, "--exclude", tmp_path / "earlier.txt", "--output", out) == 0
    asked = {row["text"] for row in read_csv(out)}
    assert asked.isdisjoint(train + validation + test + shouted + excluded)
    assert asked <= {text for text, _ in pool_rows[5:]}
    printed = capsys.readouterr().out
    assert f"note: --budget 500 is more than the {len(pool_rows) - 5} texts left in POOL: taking all" in printed
    # the tiny model sees most fixture texts (five words of a small vocabulary) as near-duplicates
    assert f"note: chose {len(asked)} of {len(pool_rows) - 5}: the others are near-duplicates" in printed
    skipped = f"{len(train) + 3} in the training data, {len(validation) + len(test)} in validation/test"
    assert f"{skipped}, 5 in --exclude, 2 repeated in POOL" in printed


def test_simulate_reveals_the_gold_labels_of_the_chosen_texts_only(run_dir, pool, pool_rows, tmp_path):
    out = tmp_path / "sheet.jsonl"
    assert ask(run_dir, pool, "--budget", 6, "--simulate", "--output", out) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 6
    assert all(row["label"] == pool_rows[row["id"]][1] for row in rows)
    assert not list(tmp_path.glob("sheet.jsonl.*"))  # no other row's label is left anywhere


def test_the_csv_sheet_is_formula_safe_and_jsonl_keeps_texts(run_dir, tmp_path):
    texts = [
        "=HYPERLINK(x) happy delighted",
        "+1 so glad today",
        "-_- gloomy crying miserable lonely",
        "@me scared terrified nervous",
        "'=sum furious annoyed outraged",
        "plain amazed shocked stunned day",
    ]
    pool = tmp_path / "pool.csv"
    with open(pool, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["key", "text"])
        writer.writerows([f"={i}", text] for i, text in enumerate(texts))
    out = tmp_path / "sheet.csv"
    assert ask(run_dir, pool, "--budget", 6, "--id-column", "key", "--output", out) == 0
    rows = read_csv(out)
    assert len(rows) >= 4  # (the tiny model may see two of them as near-duplicates)
    for row in rows:
        assert row["id"].startswith("'=")  # a text id is a cell too
        original = texts[int(row["id"][2:])]
        assert row["text"] == (original if original.startswith("plain") else "'" + original)
    out = tmp_path / "sheet.jsonl"
    assert ask(run_dir, pool, "--budget", 6, "--id-column", "key", "--output", out) == 0
    for row in map(json.loads, out.read_text(encoding="utf-8").splitlines()):
        assert row["text"] == texts[int(row["id"][1:])]  # JSON lines: verbatim


def test_a_multi_label_model_asks_the_labels_nearest_their_thresholds(tmp_path, emotion_labels):
    import pandas as pd
    from transformers import AutoModelForSequenceClassification

    from tests.conftest import write_tiny_model

    labels, thresholds = ["anger", "fear", "joy", "love"], {"anger": 0.3, "fear": 0.5, "joy": 0.6, "love": 0.45}
    folder = write_tiny_model(tmp_path / "multi", labels, seed=3)
    model = AutoModelForSequenceClassification.from_pretrained(folder, problem_type="multi_label_classification")
    model.config.label_thresholds = thresholds  # where python -m training saves them
    model.save_pretrained(folder)
    pool = tmp_path / "pool.txt"
    pool.write_text("".join(f"{text}\n" for text, _ in make_texts(emotion_labels, 5, seed=51)), encoding="utf-8")
    out = tmp_path / "sheet.jsonl"
    assert ask(folder, pool, "--budget", 3, "--strategy", "margin", "--keep-predictions", "--output", out) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    predictions = pd.read_parquet(tmp_path / "sheet.jsonl.predictions.parquet")
    probs = predictions[[f"prob_{label}" for label in labels]].to_numpy(dtype=np.float64)
    expected = margin_uncertainty(probs, np.array([thresholds[label] for label in labels]))
    assert rows[0]["id"] == int(np.argmax(expected))  # the pick starts at the label nearest its threshold
    for row in rows:
        assert row["uncertainty"] == pytest.approx(expected[row["id"]], abs=5e-5)
        nearest = np.argsort(np.abs(probs[row["id"]] - [thresholds[label] for label in labels]), kind="stable")[:3]
        assert [cell.split()[0] for cell in row["suggested"].split(" | ")] == [labels[i] for i in nearest]
    assert [row["uncertainty"] for row in rows] == sorted((row["uncertainty"] for row in rows), reverse=True)
    # --simulate reads gold sets as training.predict does (here --multi-label cells) and reveals the chosen ones
    gold = [labels[i % 4 : i % 4 + 2] for i in range(30)]
    pool.write_text("".join(f"text number {i};{','.join(g)}\n" for i, g in enumerate(gold)), encoding="utf-8")
    sheet = tmp_path / "sheet.csv"
    options = ["--budget", 4, "--strategy", "margin", "--simulate", "--multi-label", "--output", sheet]
    assert ask(folder, pool, *options) == 0
    for row in read_csv(sheet):
        assert row["label"] == ",".join(gold[int(row["id"])])
    balanced = tmp_path / "balanced.csv"  # the default over a multi-label pool: quotas per nearest label
    assert ask(folder, pool, "--budget", 4, "--multi-label", "--output", balanced) == 0
    assert len({row["text"] for row in read_csv(balanced)}) == 4


def test_torchrun_two_ranks_write_the_sheet_of_one_process(run_dir, pool, tmp_path):
    """POOL labelled by two processes (training.predict's shards), ranked and written once by the main one."""
    args = [run_dir, pool, "--budget", 6, "--strategy", "margin", "--shard-size", 20, "--no-progress"]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    two = tmp_path / "two.csv"
    result = subprocess.run(
        [*torchrun, "-m", "training.ask", *map(str, args), "--output", str(two)],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("wrote ") == 1  # the main process alone ranks, writes and says so
    assert ask(*args[:-1], "--output", tmp_path / "one.csv") == 0
    assert two.read_bytes() == (tmp_path / "one.csv").read_bytes()


def test_a_hub_model_says_its_training_texts_are_not_skipped():
    assert "is a Hub model id" in known_texts("me/emotion-model", []).notes[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget", "0"], "ask error: --budget 0: expected at least 1"),
        (["--budget", "3", "--simulate", "--no-labels"], "ask error: --simulate reveals POOL's gold labels"),
    ],
)
def test_bad_options_are_one_line(run_dir, pool, tmp_path, capsys, args, message):
    assert ask(run_dir, pool, *args, "--output", tmp_path / "sheet.csv") == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_refused_outputs_and_an_empty_pool(run_dir, pool, tmp_path, capsys):
    out = tmp_path / "sheet.csv"
    out.write_text("mine\n")
    assert ask(run_dir, pool, "--budget", 3, "--output", out) == 2
    assert capsys.readouterr().err == (
        f"ask error: --output {out}: already exists — pass --overwrite to replace it, or choose another --output\n"
    )
    assert out.read_text() == "mine\n"
    assert ask(run_dir, pool, "--budget", 3, "--output", tmp_path / "sheet.xlsx") == 2
    assert "unsupported extension '.xlsx' — expected .csv or .jsonl" in capsys.readouterr().err
    texts = tmp_path / "texts.csv"
    texts.write_text("text\nhappy day\n", encoding="utf-8")
    assert ask(run_dir, texts, "--budget", 3, "--output", texts, "--overwrite") == 2
    assert "is one of this command's inputs" in capsys.readouterr().err
    assert ask(run_dir, texts, "--budget", 3, "--simulate", "--output", tmp_path / "s.csv") == 2
    assert "ask error: --simulate: " in capsys.readouterr().err
    data = json.loads((run_dir / TRAIN_CONFIG_FILE).read_text())["config"]["data"]
    known_only = shutil.copy(f"{data}/train.txt", tmp_path / "known.txt")
    assert ask(run_dir, known_only, "--budget", 3, "--output", tmp_path / "none.csv") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ask error: POOL {known_only}: no text left to ask about (18 rows, 18 skipped: 18 in")
    assert err.count("\n") == 1


def test_a_filled_sheet_goes_through_corrections_as_the_owners_labels(run_dir, pool, pool_rows, tmp_path, capsys):
    """The loop's steps 2-4: ask, fill in some rows (one a formula-looking text), train with --corrections."""
    from formats.output_folder import CORRECTIONS_FILE
    from training.__main__ import main as train

    data = Path(json.loads((run_dir / TRAIN_CONFIG_FILE).read_text())["config"]["data"])
    sheet = tmp_path / "sheet.csv"
    assert ask(run_dir, pool, "--budget", 6, "--strategy", "margin", "--output", sheet) == 0
    rows = read_csv(sheet)
    gold = {text: label for text, label in pool_rows}
    for row in rows[:4]:  # a person fills in four rows and leaves two blank
        row["label"] = gold[row["text"]]
    with open(sheet, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "out"
    options = ["--data", str(data), "--model", str(run_dir), "--epochs", "1", "--min-class-examples", "0"]
    assert train([*options, "--corrections", str(sheet), "--output-dir", str(out)]) == 0
    corrections = json.loads((out / CORRECTIONS_FILE).read_text())
    assert corrections["from_queue"] == {"rows": 6, "blank": 2, "used": 4}
    assert corrections["added"] == 4 and corrections["relabelled"] == 0  # pool texts are new to training
    assert corrections["dropped"] == {"blank": 2}
    assert "review queue (training.ask): 6 rows, 4 labels used, 2 left blank (skipped)" in capsys.readouterr().out


def test_bidi_and_control_characters_are_escaped_in_the_csv_sheet_and_come_back_through_corrections(tmp_path):
    """U+202E writes the rest of a line backwards in a spreadsheet: the sheet shows it escaped, as the Space's review
    sheet does, and --corrections reads the text back as the pool had it (issue 29)."""
    from formats.flag_record import text_key
    from training.ask.known import Known, exclude_texts, key_hash
    from training.ask.sheet import write_sheet
    from training.corrections.merge import merge_corrections
    from training.corrections.records import load_flag_records

    texts = ["so happy \u202eyadot\u202c today", "=1+1 \x1b[31mred\x1b[0m alarm", "plain words"]
    rows = [
        {"rank": i + 1, "id": str(i), "text": text, "suggested": "joy 0.41", "uncertainty": 0.5, "label": None}
        for i, text in enumerate(texts)
    ]
    sheet = tmp_path / "sheet.csv"
    write_sheet(sheet, rows)
    raw = sheet.read_text(encoding="utf-8")
    assert "\u202e" not in raw and "\x1b" not in raw
    shown = read_csv(sheet)
    assert [row["text"] for row in shown] == [
        "so happy \\u202eyadot\\u202c today",
        "'=1+1 \\x1b[31mred\\x1b[0m alarm",
        "plain words",
    ]

    for row, label in zip(shown, ("joy", "fear", ""), strict=True):  # a person fills in two rows
        row["label"] = label
    with open(sheet, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(shown)
    records = load_flag_records(sheet)
    assert [record["text"] for record in records] == texts
    added, labels, summary = merge_corrections(["i feel fine"], ["joy"], records, ["joy", "fear"])
    assert added[1:] == [" ".join(text.split()) for text in texts[:2]] and labels[1:] == ["joy", "fear"]
    assert summary["from_queue"] == {"rows": 3, "blank": 1, "used": 2}
    known = Known()
    exclude_texts(str(sheet), "text", "label", known)  # an earlier sheet passed to --exclude skips the pool's texts
    assert all(known.reason(key_hash(text)) for text in texts) and text_key(texts[0]) != text_key(shown[0]["text"])
