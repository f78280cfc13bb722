"""How faithful and how fast the word-level explanations are (formats/explain.py, the Space's "Why this label?").

Four parts, each appending its rows to a JSON-lines file under ``--out`` as they finish, so that a killed run
resumes where it stopped (``--report`` prints the tables from those files alone)::

    python bench/explain.py --run runs/emotion-offline --out runs/explain --part faithfulness
    python bench/explain.py --run ... --out ... --part pairs | latency | load
    python bench/explain.py --out runs/explain --report

- ``faithfulness``: on ``--texts`` test texts, ERASER's comprehensiveness (the predicted class's probability on
  the text minus that after deleting the top-k words) and sufficiency (minus that keeping only the top-k words),
  k = 1 and 3, for the sampled Shapley values, leave-one-word-out, captum's LayerIntegratedGradients (PyTorch,
  word scores = the sum of their WordPieces') and k random words. The probabilities are the served int8 model's.
- ``pairs``: the 20 sentences of :data:`PAIRS`, each with two emotion words of one label: are both in the top 3?
- ``latency``: /explain through gradio_client on ``python space/app.py`` serving the int8 model, for 10-, 30- and
  60-word texts (cut from test texts): p50 and p95.
- ``load``: /predict's p50/p95 under bench/space_load.py's clients, in alternating rounds without and with a
  client asking /explain one after the other beside them.

captum is a bench dependency only (requirements-dev.txt). Measured figures go in docs/explain.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from harness import DATA, REPO, machine, print_table, ratio, read_split
from space_load import load, start_space

from formats.explain import explain, split_words

sys.path.insert(0, str(REPO / "space"))
KS = (1, 3)
NO_LIMITS = {"EXPLAIN_LIMIT_PER_MINUTE": "0", "EXPLAIN_LIMIT_PER_DAY": "0"}  # one client asks for them all
LENGTHS = (10, 30, 60)
# Two emotion words of one label in each: (text, the label they name, the two words).
PAIRS = [
    ("i am furious and so angry at them", "anger", ("furious", "angry")),
    ("i feel so happy and glad today", "joy", ("happy", "glad")),
    ("im terrified and so scared of the dark", "fear", ("terrified", "scared")),
    ("i feel lonely and miserable tonight", "sadness", ("lonely", "miserable")),
    ("i adore you and love every minute with you", "love", ("adore", "love")),
    ("i was shocked and amazed by the news", "surprise", ("shocked", "amazed")),
    ("so irritated and annoyed with this traffic", "anger", ("irritated", "annoyed")),
    ("i am cheerful and delighted with the results", "joy", ("cheerful", "delighted")),
    ("i feel nervous and anxious before the exam", "fear", ("nervous", "anxious")),
    ("i feel gloomy and depressed all week", "sadness", ("gloomy", "depressed")),
    ("i feel so tender and affectionate toward my kids", "love", ("tender", "affectionate")),
    ("i was astonished and stunned when she walked in", "surprise", ("astonished", "stunned")),
    ("i feel bitter and resentful about the way they treated me", "anger", ("bitter", "resentful")),
    ("i feel thrilled and excited about the trip", "joy", ("thrilled", "excited")),
    ("i feel frightened and panicky in crowds", "fear", ("frightened", "panicky")),
    ("i feel heartbroken and hopeless since she left", "sadness", ("heartbroken", "hopeless")),
    ("i feel passionate and romantic tonight", "love", ("passionate", "romantic")),
    ("i feel curious and surprised by this result", "surprise", ("curious", "surprised")),
    ("i feel enraged and hostile after that call", "anger", ("enraged", "hostile")),
    ("i feel grateful and joyful for my friends", "joy", ("grateful", "joyful")),
]


def load_backend(run: str):
    """The Space's backend on the run's int8 ONNX model."""
    import backend

    os.environ["BACKEND"] = "onnx-int8"
    return backend.load_backend(run)


def done_keys(path: Path, key: str) -> set:
    """The ``key`` of every row already written to ``path`` (a resumed run skips them)."""
    if not path.is_file():
        return set()
    return {json.loads(line)[key] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def append(path: Path, row: dict) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def keep(words: list[str], kept: set[int]) -> str:
    return " ".join(w for i, w in enumerate(words) if i in kept)


def top(scores: list[float], k: int) -> list[int]:
    """The indices of the ``k`` highest scores."""
    return sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)[:k]


def leave_one_out(words: list[str], predict, label: str, p_full: float) -> list[float]:
    """Each word's probability drop when it alone is deleted."""
    rows = predict([keep(words, set(range(len(words))) - {i}) for i in range(len(words))])
    return [p_full - row[label] for row in rows]


class IntegratedGradients:
    """captum's LayerIntegratedGradients on the embeddings of the run's PyTorch model, summed per word."""

    def __init__(self, run: str):
        import torch
        from captum.attr import LayerIntegratedGradients
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.torch = torch
        self.model = AutoModelForSequenceClassification.from_pretrained(run).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(run)
        forward = lambda ids, mask: torch.softmax(self.model(input_ids=ids, attention_mask=mask).logits, -1)  # noqa: E731
        self.ig = LayerIntegratedGradients(forward, self.model.get_input_embeddings())

    def scores(self, words: list[str], label_id: int) -> list[float]:
        """Each whitespace word's attribution: the sum over the WordPieces its characters hold."""
        text = " ".join(words)
        encoded = self.tokenizer(text, return_tensors="pt", return_offsets_mapping=True, truncation=True)
        ids, mask = encoded["input_ids"], encoded["attention_mask"]
        special = set(self.tokenizer.all_special_ids)
        baseline = self.torch.tensor([[i if i in special else self.tokenizer.pad_token_id for i in ids[0].tolist()]])
        attributions = self.ig.attribute(ids, baseline, additional_forward_args=(mask,), target=label_id, n_steps=20)
        per_token = attributions.sum(-1)[0].tolist()
        starts = [sum(len(w) + 1 for w in words[:i]) for i in range(len(words))]
        scores = [0.0] * len(words)
        for (start, end), value in zip(encoded["offset_mapping"][0].tolist(), per_token, strict=True):
            if end > start:
                scores[max(i for i, s in enumerate(starts) if s <= start)] += value
        return scores


def faithfulness_row(index: int, text: str, predict, ig: IntegratedGradients | None, rng: random.Random) -> dict:
    """One text's comprehensiveness and sufficiency per method and k (probabilities of the predicted class)."""
    words = split_words(text)
    t0 = time.perf_counter()
    shapley = explain(text, predict)
    seconds = time.perf_counter() - t0
    label, p_full = shapley.label, shapley.probability
    methods = {"shapley": [s for _, s in shapley.words], "loo": leave_one_out(words, predict, label, p_full)}
    if ig is not None:
        methods["ig"] = ig.scores(words, ig.model.config.label2id[label])
    everything = set(range(len(words)))
    probes, keys = [], []
    for k in KS:
        chosen = {name: set(top(scores, k)) for name, scores in methods.items()}
        chosen["random"] = set(rng.sample(range(len(words)), min(k, len(words))))
        for name, kept in chosen.items():
            probes += [keep(words, everything - kept), keep(words, kept)]
            keys += [f"comp_{name}_{k}", f"suff_{name}_{k}"]
    rows = predict(probes)
    row = {key: p_full - probe[label] for key, probe in zip(keys, rows, strict=True)}
    facts = {"index": index, "words": len(words), "label": label, "p": p_full, "calls": shapley.calls}
    return {**facts, "seconds": seconds, **row}


def faithfulness(run: str, out: Path, n: int, n_ig: int) -> None:
    """Rows of :func:`faithfulness_row` for the first ``n`` test texts, into faithfulness.jsonl; integrated
    gradients (seconds a text on a busy CPU) for the first ``n_ig`` of them."""
    path, model = out / "faithfulness.jsonl", load_backend(run)
    try:
        ig = IntegratedGradients(run)
    except ImportError as error:  # no torch or captum: the reference is left out, and said so
        print(f"note: no integrated gradients ({error})")
        ig = None
    done = done_keys(path, "index")
    for index, (text, _) in enumerate(read_split(DATA / "test.txt")[:n]):
        if index not in done and split_words(text):
            append(
                path, faithfulness_row(index, text, model.predict, ig if index < n_ig else None, random.Random(index))
            )


def pairs(run: str, out: Path) -> None:
    """Each of PAIRS: the two emotion words' ranks by the Shapley values and by leave-one-out, into pairs.jsonl."""
    path, model = out / "pairs.jsonl", load_backend(run)
    done = done_keys(path, "text")
    for text, label, cue_words in PAIRS:
        if text in done:
            continue
        words = split_words(text)
        explanation = explain(text, model.predict, label)
        shapley = [s for _, s in explanation.words]
        loo = leave_one_out(words, model.predict, label, explanation.probability)
        cues = [words.index(word) for word in cue_words]
        row = {"text": text, "label": label, "p": explanation.probability, "cues": [words[i] for i in cues]}
        for name, scores in (("shapley", shapley), ("loo", loo)):
            order = top(scores, len(words))
            row[f"{name}_ranks"] = [order.index(i) + 1 for i in cues]
            row[f"{name}_scores"] = [round(scores[i], 4) for i in cues]
        row["predicted"] = max(model.predict([text])[0].items(), key=lambda item: item[1])[0]
        append(path, row)


def text_of(words: int, texts: list[str], start: int) -> str:
    """A text of exactly ``words`` words: test texts joined from ``start`` on, cut."""
    pool = [w for text in texts[start:] for w in split_words(text)]
    return " ".join(pool[:words])


def latency(run: str, out: Path, calls: int) -> None:
    """/explain end to end (gradio_client, the app as a Space runs it on the int8 model) per text length."""

    path, texts = out / "latency.jsonl", [text for text, _ in read_split(DATA / "test.txt")]
    proc, url = start_space(sys.executable, run, tempfile.mkdtemp(), BACKEND="onnx-int8", MCP="0", **NO_LIMITS)
    try:
        client = wait_for(url, proc)
        client.predict(texts[0], api_name="/explain")  # warm-up
        for n in LENGTHS:
            seconds = []
            for i in range(calls):
                text = text_of(n, texts, 40 * i)
                t0 = time.perf_counter()
                client.predict(text, api_name="/explain")
                seconds.append(time.perf_counter() - t0)
            append(path, {"words": n, "seconds": seconds, "machine": machine()})
    finally:
        proc.kill()
        proc.wait()


def wait_for(url: str, proc):
    """A gradio_client on the app once it answers."""
    from gradio_client import Client

    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode}")
        try:
            return Client(url, verbose=False, ssl_verify=False)
        except Exception:  # not serving yet
            time.sleep(0.5)
    raise RuntimeError("the app did not start")


def explain_beside(url: str, texts: list[str], stop: threading.Event) -> None:
    """One client asking /explain for 30-word texts, one after the other, until ``stop``."""
    from gradio_client import Client

    client, i = Client(url, verbose=False, ssl_verify=False), 0
    while not stop.is_set():
        client.predict(text_of(30, texts, 40 * (i % 50)), api_name="/explain")
        i += 1


def load_part(run: str, out: Path, clients: int, requests: int, rounds: int) -> None:
    """/predict under load (space_load.load) in alternating rounds, without and with explanations beside it."""
    from gradio_client import Client

    path, texts = out / "load.jsonl", [text for text, _ in read_split(DATA / "test.txt")]
    proc, url = start_space(sys.executable, run, tempfile.mkdtemp(), BACKEND="onnx-int8", MCP="0", **NO_LIMITS)
    try:
        wait_for(url, proc).predict(texts[0], api_name="/predict")
        sessions = [Client(url, verbose=False, ssl_verify=False) for _ in range(clients)]
        for round_ in range(rounds):
            for beside in (False, True):
                stop = threading.Event()
                helper = threading.Thread(target=explain_beside, args=(url, texts, stop)) if beside else None
                if helper:
                    helper.start()
                seconds, wall = load(sessions, texts, requests)
                stop.set()
                if helper:
                    helper.join()
                append(path, {"round": round_, "explaining": beside, "seconds": seconds, "wall": wall})
    finally:
        proc.kill()
        proc.wait()


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))]


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.is_file() else []


def faithfulness_table(rows: list[dict], which: str) -> None:
    """Mean comprehensiveness and sufficiency per method over ``rows``, and each method's comp@3 over random's."""
    methods = [m for m in ("shapley", "loo", "ig", "random") if all(f"comp_{m}_1" in r for r in rows)]
    print(f"\n{which} ({len(rows)}):\n")
    means = {
        m: [statistics.mean(r[f"{kind}_{m}_{k}"] for r in rows) for kind in ("comp", "suff") for k in KS]
        for m in methods
    }
    print_table(
        ["method", "comp k=1", "comp k=3", "suff k=1", "suff k=3"],
        [[m, *(f"{v:.3f}" for v in means[m])] for m in methods],
    )
    print("\ncomp@3 / random's: " + ", ".join(f"{m} {ratio(means[m][1] / means['random'][1])}" for m in methods[:-1]))


def report(out: Path) -> None:
    """The tables of docs/explain.md, from the JSON-lines files."""
    rows = read_rows(out / "faithfulness.jsonl")
    if rows:
        print(f"faithfulness: {len(rows)} test texts, mean words {statistics.mean(r['words'] for r in rows):.1f}")
        faithfulness_table(rows, "all texts")
        with_ig = [r for r in rows if "comp_ig_1" in r]
        if with_ig:
            faithfulness_table(with_ig, "the texts integrated gradients explained too")
        calls = [r["calls"] for r in rows]
        print(
            f"\nShapley calls per text: mean {statistics.mean(calls):.0f}, max {max(calls)}; seconds per text "
            f"in the bench (in-process): p50 {statistics.median(r['seconds'] for r in rows):.3f}"
        )
    pair_rows = read_rows(out / "pairs.jsonl")
    if pair_rows:
        both = {m: sum(max(r[f"{m}_ranks"]) <= 3 for r in pair_rows) for m in ("shapley", "loo")}
        print(
            f"\npairs: both words in the top 3: Shapley {both['shapley']}/{len(pair_rows)}, "
            f"leave-one-out {both['loo']}/{len(pair_rows)}"
        )
        print_table(
            ["text", "label (predicted)", "p", "Shapley ranks", "leave-one-out ranks"],
            [
                [r["text"], f"{r['label']} ({r['predicted']})", f"{r['p']:.2f}", r["shapley_ranks"], r["loo_ranks"]]
                for r in pair_rows
            ],
            align="llrll",
        )
    for r in read_rows(out / "latency.jsonl"):
        print(
            f"\n/explain, {r['words']} words: p50 {1000 * statistics.median(r['seconds']):.0f} ms, "
            f"p95 {1000 * p95(r['seconds']):.0f} ms ({len(r['seconds'])} calls; {r['machine']})"
        )
    load_rows = read_rows(out / "load.jsonl")
    for beside in (False, True):
        seconds = [s for r in load_rows if r["explaining"] is beside for s in r["seconds"]]
        if seconds:
            print(
                f"\n/predict {'with' if beside else 'without'} explanations beside it: p50 "
                f"{1000 * statistics.median(seconds):.0f} ms, p95 {1000 * p95(seconds):.0f} ms ({len(seconds)})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", default="runs/emotion-offline", help="the trained run (with onnx/)")
    parser.add_argument("--out", type=Path, default=Path("runs/explain"), help="where the JSON lines go")
    parser.add_argument("--part", choices=["faithfulness", "pairs", "latency", "load"], action="append")
    parser.add_argument("--texts", type=int, default=500, help="test texts of the faithfulness part")
    parser.add_argument("--ig-texts", type=int, default=100, help="of which explained by integrated gradients too")
    parser.add_argument("--calls", type=int, default=20, help="/explain calls per length (latency)")
    parser.add_argument("--clients", type=int, default=8, help="/predict clients (load)")
    parser.add_argument("--requests", type=int, default=10, help="/predict requests per client per round (load)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (load)")
    parser.add_argument("--report", action="store_true", help="print the tables from --out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    parts = {
        "faithfulness": lambda: faithfulness(args.run, args.out, args.texts, args.ig_texts),
        "pairs": lambda: pairs(args.run, args.out),
        "latency": lambda: latency(args.run, args.out, args.calls),
        "load": lambda: load_part(args.run, args.out, args.clients, args.requests, args.rounds),
    }
    for part in args.part or []:
        print(f"{part}: {machine()}", flush=True)
        parts[part]()
    if args.report or not args.part:
        report(args.out)


if __name__ == "__main__":
    main()
