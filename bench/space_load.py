"""Load tests of the Space: throughput (batched app vs Gradio defaults), a soak test, and what each backend costs.

Throughput: for each model (a tiny random DistilBERT, and a real one) the app is served twice in a separate
process — as shipped (``batch=True``, up to 32 requests per forward pass) and with Gradio's defaults
(``batch=False``, ``concurrency_limit=1``) — and the same clients send the same tweets to both::

    python bench/space_load.py                          # real model: the offline all-MiniLM-L6-v2 + a 6-class head
    python bench/space_load.py --model runs/emotion --clients 16 --rounds 5

Soak (``--soak MINUTES``): ``python space/app.py`` on the int8 ONNX model, as a Space runs it, and 16 clients
mixing /predict with /flag (all from one address, so most flags go over the rate limit) for MINUTES; prints the
server's RSS at the start and the end, /predict's p50/p95 per minute, and every error but rate-limit refusals::

    python bench/space_load.py --soak 10

Footprint (``--footprint``): for each backend, a fresh virtual environment from the requirements that
``publish --space`` writes for it (plus the Space's gradio), its installed size, and the app's cold start in
it, from process start to the first answer (median of ``--starts``)::

    python bench/space_load.py --footprint [--torch-wheel /opt/wheels/torch-2.13.0+cpu-....whl] [--before FILE]

The "tiny" model is a random DistilBERT of two 32-wide layers over the offline backbone's vocabulary: it
measures what serving costs when the model costs almost nothing. Measured figures go in docs, not here.
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


# --- What each backend costs: a fresh virtual environment's size, and the cold start in it ------------------


def exported_model(work: Path) -> tuple[str, str]:
    """The real-size model (all-MiniLM-L6-v2 + a 6-class head) exported to onnx/ (fp32 and int8, no accuracy
    guard: the weights are not trained), and a copy without onnx/: what publish pairs with the Space's
    requirements.txt and requirements-torch.txt."""
    import shutil

    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from formats.output_folder import ONNX_DIR
    from training.export import write_onnx_folder

    onnx_model = Path(save_classifier(work / "minilm-onnx", tiny=False))
    torch_model = Path(shutil.copytree(onnx_model, work / "minilm-torch"))
    network = AutoModelForSequenceClassification.from_pretrained(onnx_model).eval()
    write_onnx_folder(network, AutoTokenizer.from_pretrained(onnx_model), onnx_model / ONNX_DIR)
    return str(onnx_model), str(torch_model)


def start_space(python: str, model: str, flag_dir: str, **env: str) -> tuple[subprocess.Popen, str]:
    """``PYTHON space/app.py`` serving ``model`` on a free loopback port, as a Space runs it (MCP on)."""
    port = free_port()
    env = {
        **os.environ,
        "MODEL": model,
        "FLAG_DIR": flag_dir,
        "FLAG_DATASET_REPO": "",
        "MCP": "1",
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        **env,
    }
    command = [python, str(REPO / "space" / "app.py")]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}/"


def predict_once(url: str, text: str) -> dict:
    """One /predict over gradio's plain HTTP API (no client to set up): the answer's data."""
    import json

    import httpx

    event = httpx.post(url + "gradio_api/call/predict", json={"data": [text]}, timeout=60).json()["event_id"]
    with httpx.stream("GET", f"{url}gradio_api/call/predict/{event}", timeout=60) as stream:
        lines = list(stream.iter_lines())
    if "event: complete" not in lines:
        raise RuntimeError(f"/predict did not complete: {lines[-2:]}")
    return json.loads(lines[lines.index("event: complete") + 1].removeprefix("data: "))[0]


def cold_start(python: str, model: str, text: str) -> float:
    """Seconds from starting the app's process (in the environment of ``python``) to its first answer."""
    start = time.perf_counter()
    proc, url = start_space(python, model, tempfile.mkdtemp())
    try:
        cold_wait(proc, url, text)
        return time.perf_counter() - start
    finally:
        proc.kill()
        proc.wait()


def build_venv(folder: Path, requirements: str, torch_wheel: str | None) -> str:
    """A fresh virtual environment with the Space's gradio and ``requirements``; returns its python.

    ``torch_wheel``: install torch from this wheel file instead of the CPU index that requirements-torch.txt
    names (for a machine that cannot reach it; the file must be that index's CPU build).
    """
    import gradio

    lines = requirements.splitlines()
    if torch_wheel:
        lines = [line for line in lines if not line.startswith(("--extra-index-url", "torch"))] + [torch_wheel]
    (folder.parent / f"{folder.name}.txt").write_text("\n".join(lines) + "\n")
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, f"gradio[oauth]=={gradio.__version__}", "-r", str(folder.parent / f"{folder.name}.txt")], check=True
    )
    return str(folder / "bin" / "python")


def installed_mb(folder: Path) -> float:
    """The bytes of every file under ``folder`` (links not followed), in MB."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def footprint(work: Path, starts: int, torch_wheel: str | None, text: str, before: str | None) -> None:
    """Each backend's fresh virtual environment (from publish's requirements) and cold starts, side by side;
    beside them gradio alone (what every Space installs: the base), and ``before``, any other requirements
    file (size only)."""
    from publish.hub import space_files

    models = dict(zip(("onnx", "torch"), exported_model(work), strict=True))
    environments = {"gradio alone": ("(none)", "")}
    for backend in models:
        requirements = Path(space_files(REPO / "space", "me/model", onnx=backend == "onnx")["requirements.txt"])
        environments[backend] = (requirements.name, requirements.read_text())
    if before:
        environments["before"] = (before, Path(before).read_text())
    rows, sizes, starts_s = [], {}, {}
    for number, (name, (source, requirements)) in enumerate(environments.items()):
        t0, venv = time.perf_counter(), work / f"venv-{number}"
        python = build_venv(venv, requirements, torch_wheel if name == "torch" else None)
        minutes = (time.perf_counter() - t0) / 60
        sizes[name] = installed_mb(venv)
        starts_s[name] = [cold_start(python, models[name], text) for _ in range(starts)] if name in models else []
        extra = sizes[name] - sizes["gradio alone"]
        cold = " / ".join(f"{s:.1f}" for s in starts_s[name]) or "-"
        rows.append((name, source, f"{sizes[name]:.0f}", f"{extra:.0f}", f"{minutes:.1f}", cold))
    print_table(
        ["environment", "requirements", "installed MB", "beyond gradio MB", "install min", "cold starts s"], rows
    )
    base = sizes["gradio alone"]
    onnx_s, torch_s = statistics.median(starts_s["onnx"]), statistics.median(starts_s["torch"])
    print(
        f"\nonnx / torch: size {sizes['onnx'] / sizes['torch']:.2f}× (target <= 0.25), beyond gradio "
        f"{(sizes['onnx'] - base) / (sizes['torch'] - base):.2f}×; cold start (median) {onnx_s:.1f} s / "
        f"{torch_s:.1f} s = {onnx_s / torch_s:.2f}× (target <= 0.5)"
    )


# --- Soak: the int8 app under a steady mix of /predict and /flag ------------------------------------------

FLAG_SHARE = 0.1  # one request in ten is a flag: from one address, most are over the rate limit
RATE_LIMITED = "Thanks for all the flags!"  # the start of the limiter's refusals (space/visitors.py)


def rss_mb(pid: int) -> float:
    """The resident memory of process ``pid`` (Linux), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def soak_client(session, texts: list[str], labels: list[str], seed: int, deadline: float, record) -> None:
    """One client: /predict, or one time in ten /flag, one after the other until ``deadline``."""
    import random

    from gradio_client.exceptions import AppError

    rng = random.Random(seed)
    while (t0 := time.perf_counter()) < deadline:
        text, is_flag = rng.choice(texts), rng.random() < FLAG_SHARE
        try:
            if is_flag:
                session.predict(text, rng.choice(labels), "soak", api_name="/flag")
            else:
                session.predict(text, api_name="/predict")
            outcome = "ok"
        except AppError as error:
            outcome = "refused" if str(error).startswith(RATE_LIMITED) else f"error: {error}"
        except Exception as error:  # anything else is an error of the soak
            outcome = f"error: {type(error).__name__}: {error}"
        record(t0, "flag" if is_flag else "predict", time.perf_counter() - t0, outcome)


def soak(model: str, texts: list[str], clients: int, minutes: float) -> None:
    """Serve ``model`` (its int8 ONNX file) as ``python space/app.py`` and run ``clients`` for ``minutes``."""
    import json

    from gradio_client import Client

    labels = list(json.loads((Path(model) / "config.json").read_text())["id2label"].values())
    proc, url = start_space(sys.executable, model, tempfile.mkdtemp(), FLAG_CLIENT_SALT="soak", MCP="0")
    try:
        cold = cold_wait(proc, url, texts[0])
        sessions = [Client(url, verbose=False, ssl_verify=False) for _ in range(clients)]
        for session in sessions:
            session.predict(texts[0], api_name="/predict")  # warm-up
        events, lock = [], threading.Lock()

        def record(*event) -> None:
            with lock:
                events.append(event)

        start = time.perf_counter()
        deadline = start + 60 * minutes
        rss = [(0, rss_mb(proc.pid))]
        threads = [
            threading.Thread(target=soak_client, args=(s, texts, labels, i, deadline, record))
            for i, s in enumerate(sessions)
        ]
        for t in threads:
            t.start()
        while (left := deadline - time.perf_counter()) > 0:  # the server's RSS at the end of each minute
            time.sleep(min(60 * len(rss) - (time.perf_counter() - start), left))
            rss.append((len(rss), rss_mb(proc.pid)))
        for t in threads:
            t.join()
        rss.append((minutes, rss_mb(proc.pid)))
    finally:
        proc.kill()
        proc.wait()
    report_soak(events, start, rss, cold, clients, minutes)


def cold_wait(proc: subprocess.Popen, url: str, text: str, timeout: float = 600) -> float:
    """Wait until the app answers; the seconds it took."""
    import httpx

    start = time.perf_counter()
    while proc.poll() is None and time.perf_counter() - start < timeout:
        try:
            predict_once(url, text)
            return time.perf_counter() - start
        except (httpx.HTTPError, KeyError, ValueError):
            time.sleep(0.1)
    raise RuntimeError(f"space/app.py exited with {proc.returncode}, or gave no answer within {timeout} s")


def report_soak(events: list, start: float, rss: list, cold: float, clients: int, minutes: float) -> None:
    """The per-minute table, RSS at the start and the end, and the errors (every outcome but ok and refused)."""
    rows, p95s = [], []
    for minute in range(int(minutes + 0.999)):
        now = [e for e in events if minute * 60 <= e[0] - start < (minute + 1) * 60]
        latencies = sorted(1000 * e[2] for e in now if e[1] == "predict" and e[3] == "ok")
        p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
        p95s.append(p95)
        flags = [e[3] for e in now if e[1] == "flag"]
        errors = [e for e in now if e[3].startswith("error")]
        memory = next((mb for m, mb in rss if m == minute + 1), float("nan"))
        rows.append(
            (
                minute + 1,
                len(latencies),
                f"{statistics.median(latencies):.0f}" if latencies else "-",
                f"{p95:.0f}",
                flags.count("ok"),
                flags.count("refused"),
                len(errors),
                f"{memory:.0f}",
            )
        )
    print(
        f"{clients} clients for {minutes:g} min, {FLAG_SHARE:.0%} of requests /flag; {machine()}; "
        f"ready in {cold:.1f} s\n"
    )
    print_table(["minute", "predicts", "p50 ms", "p95 ms", "flags saved", "flags refused", "errors", "RSS MB"], rows)
    errors = [e[3] for e in events if e[3].startswith("error")]
    growth = rss[-1][1] - rss[0][1]
    print(
        f"\nRSS {rss[0][1]:.0f} MB at the start, {rss[-1][1]:.0f} MB at the end: {growth:+.0f} MB (target < 50 MB); "
        f"p95 last minute / first: {p95s[-1] / p95s[0]:.2f}× (target within 20%); "
        f"{len(errors)} errors other than rate-limit refusals (target 0)"
    )
    for message in sorted(set(errors))[:10]:
        print(f"  {errors.count(message)} × {message[:200]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="real model folder or Hub id (default: offline MiniLM + 6-class head)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=4, help="predicts per client per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per variant")
    parser.add_argument("--soak", type=float, metavar="MINUTES", help="soak the int8 app for MINUTES instead")
    parser.add_argument("--footprint", action="store_true", help="each backend's fresh venv size and cold start")
    parser.add_argument("--starts", type=int, default=3, help="cold starts per backend (--footprint)")
    parser.add_argument("--torch-wheel", help="--footprint: torch's CPU wheel file, for a machine off the CPU index")
    parser.add_argument("--before", help="--footprint: also the size of this requirements file's environment")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve, args.variant, args.port)

    texts, work = read_texts(DATA / "test.txt", 512), Path(tempfile.mkdtemp())
    if args.footprint:
        print(f"{machine()}\n")
        return footprint(work, args.starts, args.torch_wheel, texts[0], args.before)
    if args.soak:
        return soak(args.model or exported_model(work)[0], texts, args.clients, args.soak)
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
