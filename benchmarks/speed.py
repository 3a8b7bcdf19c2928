"""How fast Tunesmith writes, every figure measured side by side in one run; prints a table, writes JSON.

    python -m benchmarks.speed [--quick] [--json runs/speed.json]

Sections (each compares against figures taken in the same run, as ratios; machines are noisy):
1. Engine step time at batch 1, 8 and 64: torch eager of the seed architecture (when torch is
   installed; CUDA too where there is a GPU), ONNX Runtime fp32 and int8 on the CPU, and the
   shipped default engine (CUDA graphs where a GPU is usable). Rounds interleave the engines.
2. Python overhead per character at batch 1: one stream through the composer (tracker, mask,
   sampling, bookkeeping) against the bare step of the same engine.
3. A 400-character tune end to end through the app's own path (app.compose: request parsing,
   the shared composer, paced updates), p50 and p95, against 400 bare steps.
4. Characters per second with 1, 4, 16, 32 and 64 streams kept running through the composer,
   against the bare engine at that batch size.
5. Through the app's API (`python app.py` in its own process, gradio_client listeners): one
   stream alone, then 32 at once; characters per second between a listener's first and last
   update, and the wait for the first update (p95).
6. Peak memory of this process and of the app's.
It runs unchanged on a CUDA machine.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from tunesmith.composer import Composer
from tunesmith.engine import OrtEngine, load_engine
from tunesmith.model import DEFAULT_ARTIFACTS, load_description
from tunesmith.request import parse_request

REPO = Path(__file__).resolve().parent.parent
BATCHES = (1, 8, 64)
CONCURRENCY = (1, 4, 16, 32, 64)


def time_steps(step, batch: int, steps: int, settle: float = 0.0) -> float:
    """Seconds per step of `step(batch)`, a closure that runs `steps` steps.

    settle: seconds to wait first, so threads another engine left spinning (ONNX Runtime's, and
    torch's OpenMP pool, which spins for a while after each op) are asleep and do not take a core.
    """
    time.sleep(settle)
    started = time.perf_counter()
    step(batch, steps)
    return (time.perf_counter() - started) / steps


def ort_stepper(engine):
    def run(batch, steps):
        state = engine.initial_state(batch)
        tokens = np.zeros(batch, np.int64)
        for _ in range(steps):
            _, state = engine.step(tokens, state)
    return run


def torch_stepper(device: str):
    import torch

    from train.config import PRESETS
    from train.model import CharLSTM
    # The step is plain matrix products; with cuDNN off, nn.LSTM's weights need no cuDNN check, which
    # fails where onnxruntime-gpu has loaded another cuDNN build into the process first.
    torch.backends.cudnn.enabled = False
    model = CharLSTM(PRESETS["seed"]).eval().to(device)

    def run(batch, steps):
        h, c = (t.to(device) for t in model.initial_state(batch))
        token = torch.zeros(batch, dtype=torch.int64, device=device)
        with torch.inference_mode():
            for _ in range(steps):
                logits, h, c = model.step(token, h, c)
                logits.cpu()  # the engines hand logits to the host each step too
    return run


def engine_steps(engines: dict, steppers: dict, rounds: int, steps: int) -> dict:
    table = {}
    for batch in BATCHES:
        n = max(20, steps // (1 + batch // 8))
        samples = {name: [] for name in steppers}
        for name, step in steppers.items():
            time_steps(step, batch, 10)  # warm-up
        for _ in range(rounds):
            for name, step in steppers.items():
                samples[name].append(time_steps(step, batch, n, settle=0.3))
        table[batch] = {name: statistics.median(s) * 1e6 for name, s in samples.items()}
    return table


def warm_composer(composer: Composer, tunes: int = 512) -> None:
    """Fills the tracker's shared automaton, as a server that has been running a while has."""
    for stream in composer.warm_up(tunes):
        stream.wait()


def composer_overhead(engine, rounds: int) -> dict:
    """Per-character time of one stream through the composer vs a bare step, interleaved; with the
    default request (strict meter and form) and with strict meter alone."""
    bare, through, alone = [], [], []
    request = parse_request({}, engine.description)
    meter_only = parse_request({"form": False}, engine.description)
    with Composer(engine) as composer:
        warm_composer(composer)
        for r in range(rounds):
            for req, times in ((request, through), (meter_only, alone)):
                before = composer.stats()["rows_stepped"]
                started = time.perf_counter()
                composer.submit(req.with_seed(r)).result()
                seconds = time.perf_counter() - started
                times.append(seconds / (composer.stats()["rows_stepped"] - before))
            bare.append(time_steps(ort_stepper(engine), 1, 300))
    per_char, step = statistics.median(through), statistics.median(bare)
    return {"us_per_char_through_composer": per_char * 1e6, "us_per_bare_step": step * 1e6,
            "python_overhead_share": 1 - step / per_char,
            "us_per_char_strict_meter_alone": statistics.median(alone) * 1e6}


def app_path_tune(rounds: int) -> dict:
    """A 400-character tune through the app's own compose function (parse, composer, paced updates)."""
    import app  # builds the page and the shared composer; nothing is served
    warm_composer(app.composer)
    step = statistics.median(time_steps(ort_stepper(app.engine), 1, 300) for _ in range(3))
    ratios, seconds, lengths = [], [], []
    for seed in range(rounds):
        started = time.perf_counter()
        final = None
        for final, _ in app.compose(1.0, seed, True, "any", "any", "any", "any", "", "", 400):
            pass
        elapsed = time.perf_counter() - started
        seconds.append(elapsed)
        lengths.append(len(final))
        ratios.append(elapsed / (len(final) * step))
    app.composer.close()
    return {"tunes": rounds, "mean_chars": statistics.mean(lengths),
            "p50_ms": float(np.percentile(seconds, 50) * 1e3), "p95_ms": float(np.percentile(seconds, 95) * 1e3),
            "p50_ratio_to_bare_steps": float(np.percentile(ratios, 50)),
            "p95_ratio_to_bare_steps": float(np.percentile(ratios, 95))}


def concurrent_rate(engine, streams: int, seconds: float) -> float:
    """Characters per second with `streams` tunes always running (a finished one is replaced)."""
    request = parse_request({}, engine.description)
    with Composer(engine) as composer:
        seed = iter(range(10**9))
        running = [composer.submit(request.with_seed(next(seed))) for _ in range(streams)]
        time.sleep(0.05)
        start_rows, started = composer.stats()["rows_stepped"], time.perf_counter()
        while time.perf_counter() - started < seconds:
            running = [s if not s.done else composer.submit(request.with_seed(next(seed))) for s in running]
            time.sleep(0.002)
        rows = composer.stats()["rows_stepped"] - start_rows
        elapsed = time.perf_counter() - started
        for s in running:
            s.cancel()
    return rows / elapsed


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listen(client, seed: int, into: list) -> None:
    submitted = time.perf_counter()
    first = first_chars = None
    final, updates = "", 0
    for text, _ in client.submit(1.0, seed, True, "any", "any", "any", "any", "", "", 2000, api_name="/compose"):
        now = time.perf_counter()
        if first is None:
            first, first_chars = now, len(text)
        final, last = text, now
        updates += 1
    into.append({"submitted": submitted, "first": first, "last": last, "wait_first": first - submitted,
                 "chars": len(final), "after_first": len(final) - first_chars, "updates": updates,
                 "total": last - submitted})


def through_app(bare_rates: dict, alone: int, together: int) -> dict:
    from gradio_client import Client
    port = free_port()
    env = dict(os.environ, GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1", GRADIO_ANALYTICS_ENABLED="False")
    server = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        client = None
        for _ in range(120):
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.5)
        if client is None:
            raise RuntimeError("the app did not start")
        warm = []
        for seed in range(20):
            listen(client, 200_000 + seed, warm)
        single = []
        for seed in range(alone):
            listen(client, seed, single)
        crowd, threads = [], []
        server_cpu, client_cpu = process_cpu_seconds(server.pid), resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        for seed in range(together):
            threads.append(threading.Thread(target=listen, args=(Client(f"http://127.0.0.1:{port}/", verbose=False),
                                                                 1000 + seed, crowd)))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        crowd_seconds = time.perf_counter() - started
        server_cpu = process_cpu_seconds(server.pid) - server_cpu
        after = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = after.ru_utime + after.ru_stime - client_cpu.ru_utime - client_cpu.ru_stime
        with open(f"/proc/{server.pid}/status") as status:
            server_peak_mb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
    finally:
        server.terminate()
        server.wait(timeout=30)

    # Two readings. Between a listener's first and last update (the measure): a whole tune
    # is written in a few tens of ms and often arrives in one or two updates, so this reading
    # flatters; from the request to holding the whole tune, waiting included, is the stricter.
    spans = [r for r in single if r["last"] > r["first"]]
    between = sum(r["after_first"] for r in spans) / sum(r["last"] - r["first"] for r in spans) if spans else float("inf")
    alone_rate = statistics.median(r["chars"] / r["total"] for r in single)
    crowd_between = sum(r["chars"] for r in crowd) / (max(r["last"] for r in crowd) - min(r["first"] for r in crowd))
    crowd_rate = sum(r["chars"] for r in crowd) / (max(r["last"] for r in crowd) - min(r["submitted"] for r in crowd))
    return {
        "one_stream_first_to_last_update_chars_per_s": between,
        "one_stream_first_to_last_share_of_bare_batch1": between / bare_rates[1],
        "one_stream_chars_per_s": alone_rate,
        "one_stream_share_of_bare_batch1": alone_rate / bare_rates[1],
        "one_stream_p50_updates": statistics.median(r["updates"] for r in single),
        f"{together}_streams_first_to_last_update_chars_per_s": crowd_between,
        f"{together}_streams_first_to_last_share_of_bare_batch{together}": crowd_between / bare_rates[together],
        "one_stream_p95_wait_first_ms": float(np.percentile([r["wait_first"] for r in single], 95) * 1e3),
        f"{together}_streams_completed": len(crowd),
        f"{together}_streams_chars_per_s_together": crowd_rate,
        f"{together}_streams_share_of_bare_batch{together}": crowd_rate / bare_rates[together],
        f"{together}_streams_p95_wait_first_ms": float(np.percentile([r["wait_first"] for r in crowd], 95) * 1e3),
        "p95_wait_ratio_crowd_to_alone": float(np.percentile([r["wait_first"] for r in crowd], 95)
                                               / np.percentile([r["wait_first"] for r in single], 95)),
        "wall_seconds_for_crowd": crowd_seconds,
        # Where the crowd's time went: the app's process and the listeners share this machine's CPUs.
        "crowd_server_cpu_seconds": server_cpu,
        "crowd_listeners_cpu_seconds": client_cpu,
        "server_peak_rss_mb": server_peak_mb,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__.split("\n")[0])
    parser.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS))
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument("--json", default=str(REPO / "runs" / "speed.json"))
    parser.add_argument("--no-app", action="store_true",
                        help="skip sections 3 and 5, which need Gradio (e.g. on a GPU machine without it)")
    args = parser.parse_args(argv)
    rounds, steps, window = (2, 100, 0.5) if args.quick else (5, 400, 2.0)

    description = load_description(args.artifacts)
    shipped = load_engine(args.artifacts)
    engines = {f"onnxruntime cpu {v}": OrtEngine(description, variant=v) for v in description.weights}
    steppers = {name: ort_stepper(e) for name, e in engines.items()}
    steppers[f"shipped default ({shipped.name})"] = ort_stepper(shipped)
    try:
        import torch
        steppers["torch eager cpu (seed architecture)"] = torch_stepper("cpu")
        if torch.cuda.is_available():
            steppers["torch eager cuda (seed architecture)"] = torch_stepper("cuda")
    except ImportError:
        torch = None
    steps_us = engine_steps(engines, steppers, rounds, steps)
    default = f"shipped default ({shipped.name})"
    torch_name = "torch eager cpu (seed architecture)"

    report = {
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(), "onnxruntime": ort.__version__, "providers": shipped.providers,
                    "torch": getattr(torch, "__version__", None)},
        "engine": shipped.name,
        "us_per_step": {str(b): {k: round(v, 1) for k, v in row.items()} for b, row in steps_us.items()},
    }
    if torch_name in steps_us[1]:
        report["batch1_speedup_vs_torch_eager_cpu"] = round(steps_us[1][torch_name] / steps_us[1][default], 2)
    cuda_torch = "torch eager cuda (seed architecture)"
    if cuda_torch in steps_us[1]:
        report["batch1_speedup_vs_torch_eager_cuda"] = round(steps_us[1][cuda_torch] / steps_us[1][default], 2)
    bare_rates = {b: b / (time_steps(ort_stepper(shipped), b, max(20, steps // (1 + b // 8)), settle=0.3))
                  for b in CONCURRENCY}
    best = {b: max(b / (steps_us[b][n] / 1e6) for n in steps_us[b] if "torch" not in n) for b in (1, 64)}
    report["batching"] = {"best_engine_chars_per_s_batch1": round(best[1]),
                          "shipped_chars_per_s": {str(b): round(r) for b, r in bare_rates.items()},
                          "batch32_over_batch1": round(bare_rates[32] / bare_rates[1], 2)}
    report["python_overhead"] = {k: round(v, 3) for k, v in composer_overhead(shipped, rounds * 4).items()}
    if not args.no_app:
        report["tune_400_chars_app_path"] = {k: round(v, 3) for k, v in app_path_tune(rounds * 4).items()}
    report["composer_chars_per_s"] = {}
    for n in CONCURRENCY:
        rate = concurrent_rate(shipped, n, window)
        report["composer_chars_per_s"][str(n)] = {"chars_per_s": round(rate), "share_of_bare": round(rate / bare_rates[n], 3)}
    if not args.no_app:
        report["through_app_api"] = {k: round(v, 3) for k, v in
                                     through_app(bare_rates, alone=rounds * 2, together=32).items()}
    report["peak_rss_mb_this_process"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(f"\n(JSON: {args.json})")
    return 0


def table(report: dict) -> str:
    lines = [f"Machine: {report['machine']['processor']}, {report['machine']['cpus']} CPUs, "
             f"onnxruntime {report['machine']['onnxruntime']}; engine: {report['engine']}", "",
             "| µs per step | " + " | ".join(f"batch {b}" for b in report["us_per_step"]) + " |",
             "|---|" + "---|" * len(report["us_per_step"])]
    names = list(next(iter(report["us_per_step"].values())))
    for name in names:
        lines.append(f"| {name} | " + " | ".join(f"{row[name]:,.1f}" for row in report["us_per_step"].values()) + " |")
    lines.append("")
    for key in ("batch1_speedup_vs_torch_eager_cpu", "batch1_speedup_vs_torch_eager_cuda"):
        if key in report:
            lines.append(f"- {key.replace('_', ' ')}: **{report[key]}×**")
    b = report["batching"]
    lines.append(f"- batch 32 / batch 1 characters per second (shipped engine): **{b['batch32_over_batch1']}×**")
    o = report["python_overhead"]
    lines.append(f"- Python overhead per character at batch 1: **{o['python_overhead_share']:.0%}** "
                 f"({o['us_per_char_through_composer']:.1f} µs through the composer vs {o['us_per_bare_step']:.1f} µs bare; "
                 f"{o['us_per_char_strict_meter_alone']:.1f} µs with strict meter alone, the form off)")
    t = report.get("tune_400_chars_app_path")
    if t:
        lines.append(f"- a ≤400-character tune through the app's path: p50 {t['p50_ms']:.1f} ms, p95 {t['p95_ms']:.1f} ms; "
                     f"**{t['p50_ratio_to_bare_steps']:.2f}×** (p95 {t['p95_ratio_to_bare_steps']:.2f}×) its bare steps")
    lines.append("- streams through the composer: " + ", ".join(
        f"{n}: {v['chars_per_s']:,} chars/s ({v['share_of_bare']:.0%} of bare)" for n, v in report["composer_chars_per_s"].items()))
    if "through_app_api" in report:
        a = report["through_app_api"]
        lines.append(f"- through the app's API, between first and last update: one stream "
                     f"{a['one_stream_first_to_last_update_chars_per_s']:,.0f} chars/s "
                     f"(**{a['one_stream_first_to_last_share_of_bare_batch1']:.0%}** of bare batch 1, "
                     f"{a['one_stream_p50_updates']:.0f} updates a tune); 32 together "
                     f"{a['32_streams_first_to_last_update_chars_per_s']:,.0f} chars/s "
                     f"(**{a['32_streams_first_to_last_share_of_bare_batch32']:.0%}** of bare batch 32)")
        lines.append(f"- through the app's API, request to whole tune: one stream {a['one_stream_chars_per_s']:,.0f} "
                     f"chars/s (**{a['one_stream_share_of_bare_batch1']:.0%}** of bare batch 1); 32 together "
                     f"{a['32_streams_chars_per_s_together']:,.0f} chars/s (**{a['32_streams_share_of_bare_batch32']:.0%}** "
                     f"of bare batch 32), {a['32_streams_completed']}/32 completed, p95 first update "
                     f"{a['32_streams_p95_wait_first_ms']:.0f} ms vs {a['one_stream_p95_wait_first_ms']:.0f} ms alone "
                     f"(**{a['p95_wait_ratio_crowd_to_alone']:.1f}×**); CPU for the 32: app {a['crowd_server_cpu_seconds']:.1f} s, "
                     f"listeners {a['crowd_listeners_cpu_seconds']:.1f} s in {a['wall_seconds_for_crowd']:.1f} s; "
                     f"app peak memory {a['server_peak_rss_mb']:.0f} MB")
    lines.append(f"- peak memory of this process: {report['peak_rss_mb_this_process']:.0f} MB")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
