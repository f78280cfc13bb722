"""Load test of the Space: N concurrent gradio_client clients against /predict, batched app vs Gradio defaults.

For each model (a tiny random DistilBERT, and a real one) the app is served twice in a separate process —
as shipped (``batch=True``, up to 32 requests per forward pass) and with Gradio's defaults (``batch=False``,
``concurrency_limit=1``) — and the same clients send the same tweets to both, in one run::

    python bench/space_load.py                          # real model: the offline all-MiniLM-L6-v2 + a 6-class head
    python bench/space_load.py --model runs/emotion --clients 16 --rounds 5

Prints requests/s and p50/p95 latency per variant and the throughput ratio (target: >= 5x at 16 clients).
The "tiny" model is a random DistilBERT of two 32-wide layers over the offline backbone's vocabulary: it
measures what serving costs when the model costs almost nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from harness import DATA, REPO, free_port, machine, print_table, ratio, read_texts, save_classifier

VARIANTS = {"batched (app)": {"batch": True}, "gradio defaults": {"batch": False, "concurrency_limit": 1}}


def serve(model: str, variant: str, port: int) -> None:
    """Server process: the app's build_demo on ``model`` with the variant's settings."""
    sys.path.insert(0, str(REPO / "space"))
    os.environ.update(MODEL=model, FLAG_DIR=tempfile.mkdtemp())
    import app  # loads MODEL once, as on a Space

    demo = app.build_demo(app.model, app.flag_store, model_id=model, **VARIANTS[variant])
    demo.launch(server_name="127.0.0.1", server_port=port, quiet=True)


def start_server(model: str, variant: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve", model, "--variant", variant, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    import httpx

    for _ in range(600):  # the model and gradio load in a few seconds
        if proc.poll() is not None:
            raise RuntimeError(f"the app server for {model} exited with {proc.returncode}")
        try:
            if httpx.get(url + "config", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"the app server for {model} did not start")


def load(sessions: list, texts: list[str], requests: int) -> tuple[list[float], float]:
    """Each client (its own thread) sends ``requests`` predicts one after the other: (latencies, wall seconds)."""
    latencies, lock, start = [], threading.Lock(), threading.Barrier(len(sessions) + 1)

    def run(i: int) -> None:
        start.wait()
        for r in range(requests):
            t0 = time.perf_counter()
            sessions[i].predict(texts[(i * requests + r) % len(texts)], api_name="/predict")
            with lock:
                latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(sessions))]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - t0


def compare(model: str, texts: list[str], clients: int, requests: int, rounds: int) -> dict[str, dict]:
    """Serve both variants at once and alternate short rounds between them, so that a change in the
    machine's load during the run affects both alike."""
    from gradio_client import Client

    servers = {variant: start_server(model, variant) for variant in VARIANTS}
    try:
        # Plain HTTP on loopback: ssl_verify=False only spares each request httpx's CA-bundle load (~40 ms
        # of CPU), which would otherwise make the load generator, not the app, the bottleneck.
        sessions = {
            v: [Client(url, verbose=False, ssl_verify=False) for _ in range(clients)] for v, (_, url) in servers.items()
        }
        for v in VARIANTS:
            sessions[v][0].predict(texts[0], api_name="/predict")  # warm-up
        latencies, wall = {v: [] for v in VARIANTS}, dict.fromkeys(VARIANTS, 0.0)
        for _ in range(rounds):
            for v in VARIANTS:
                lat, seconds = load(sessions[v], texts, requests)
                latencies[v] += lat
                wall[v] += seconds
    finally:
        for proc, _ in servers.values():
            proc.kill()
            proc.wait()
    results = {}
    for v in VARIANTS:
        lat = sorted(latencies[v])
        results[v] = {
            "rps": len(lat) / wall[v],
            "p50_ms": 1000 * statistics.median(lat),
            "p95_ms": 1000 * lat[int(0.95 * (len(lat) - 1))],
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="real model folder or Hub id (default: offline MiniLM + 6-class head)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=4, help="predicts per client per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per variant")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve, args.variant, args.port)

    texts, work = read_texts(DATA / "test.txt", 512), Path(tempfile.mkdtemp())
    models = {
        "tiny": save_classifier(work / "tiny", tiny=True),
        "real": args.model or save_classifier(work / "minilm", tiny=False),
    }
    print(
        f"{args.clients} concurrent clients, {args.rounds} alternating rounds of {args.requests} requests "
        f"per client per variant; {machine()}\n"
    )
    table, ratios = [], []
    for name, model in models.items():
        results = compare(model, texts, args.clients, args.requests, args.rounds)
        table += [
            (name, variant, f"{r['rps']:.1f}", f"{r['p50_ms']:.0f}", f"{r['p95_ms']:.0f}")
            for variant, r in results.items()
        ]
        speedup = results["batched (app)"]["rps"] / results["gradio defaults"]["rps"]
        ratios.append(f"{name}: {ratio(speedup)} ({model})")
    print_table(["model", "variant", "req/s", "p50 ms", "p95 ms"], table, align="llrrr")
    print("\nthroughput batched / defaults: " + "; ".join(ratios))


if __name__ == "__main__":
    main()
