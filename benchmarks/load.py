"""Load and soak figures for the app, on loopback, every loop bounded in count and time.

    python -m benchmarks.load [--soak 1000] [--json runs/load.json]

Starts `python app.py` in its own process and talks to it the way any script can, over REST
(`/gradio_api/call/compose`, reading the event stream with httpx):
1. one stream alone, several times: wait for the first update and for the end;
2. 32 streams at once: completions, errors, p50/p95 waits, characters per second together;
3. 100 requests at once (--burst): how many are answered "busy" (queue full) and how fast, none a server error;
4. a client that posts 48 jobs and never reads them, while another listens: the listener's wait;
5. a soak: N tunes in a row, the server's resident memory sampled every 100, and its growth.
Prints a table and writes JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from benchmarks.speed import free_port

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ARGS = [1.0, 0, True, "any", "any", "any", "any", "", "", 2000]
TIMEOUT = 120.0  # seconds: the most any one request may take here


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def listen(base: str, seed: int, client: httpx.Client) -> dict:
    """Posts one request and reads its stream: waits, size, and the outcome."""
    submitted = time.perf_counter()
    data = [*DEFAULT_ARGS]
    data[1] = seed
    posted = client.post(f"{base}/gradio_api/call/compose", json={"data": data})
    if posted.status_code != 200:
        return {"outcome": f"http {posted.status_code}", "answered": time.perf_counter() - submitted,
                "message": posted.text[:200]}
    event_id = posted.json()["event_id"]
    first = last = None
    final, event, outcome = "", None, "incomplete"
    with client.stream("GET", f"{base}/gradio_api/call/compose/{event_id}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                if event in ("generating", "complete"):
                    payload = json.loads(line[5:])
                    if payload:
                        now = time.perf_counter()
                        first = first or now
                        final, last = payload[0], now
                    if event == "complete":
                        outcome = "complete"
                        break
                elif event == "error":
                    outcome = "error: " + line[5:].strip()[:200]
                    break
    end = time.perf_counter()
    return {"outcome": outcome, "chars": len(final), "wait_first": (first or end) - submitted,
            "total": (last or end) - submitted, "first": first, "last": last, "submitted": submitted}


def together(base: str, count: int, seed0: int) -> list[dict]:
    results, clients = [None] * count, [httpx.Client(timeout=TIMEOUT) for _ in range(count)]

    def run(i):
        try:
            results[i] = listen(base, seed0 + i, clients[i])
        except Exception as error:  # noqa: BLE001 - a dropped connection is a finding, not a crash
            results[i] = {"outcome": f"exception: {type(error).__name__}: {error}"[:200]}

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    for c in clients:
        c.close()
    return [r or {"outcome": "no answer"} for r in results]


def summary(results: list[dict]) -> dict:
    done = [r for r in results if r["outcome"] == "complete"]
    waits = [r["wait_first"] for r in done] or [float("nan")]
    spans = [r for r in done if r.get("last")]
    rate = (sum(r["chars"] for r in spans) / (max(r["last"] for r in spans) - min(r["submitted"] for r in spans))
            if spans else 0.0)
    return {"requests": len(results), "complete": len(done),
            "errors": len(results) - len(done),
            "outcomes": sorted({r["outcome"] for r in results if r["outcome"] != "complete"}),
            "p50_first_ms": float(np.percentile(waits, 50) * 1e3), "p95_first_ms": float(np.percentile(waits, 95) * 1e3),
            "p95_end_ms": float(np.percentile([r["total"] for r in done] or [float("nan")], 95) * 1e3),
            "chars_per_s_together": rate}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n")[0])
    parser.add_argument("--soak", type=int, default=1000, help="tunes in a row for the memory soak")
    parser.add_argument("--burst", type=int, default=100, help="requests sent at once in section 3")
    parser.add_argument("--json", default=str(REPO / "runs" / "load.json"))
    args = parser.parse_args(argv)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1",
               GRADIO_ANALYTICS_ENABLED="False")
    server = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    report = {}
    try:
        with httpx.Client(timeout=TIMEOUT) as client:
            for _ in range(240):
                try:
                    if client.get(f"{base}/gradio_api/info").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            for seed in range(10):  # warm
                listen(base, 90_000 + seed, client)
            alone = [listen(base, seed, client) for seed in range(12)]
        report["alone"] = summary(alone)
        report["32_at_once"] = summary(together(base, 32, 1000))
        report["32_at_once"]["p95_first_ratio_to_alone"] = report["32_at_once"]["p95_first_ms"] / report["alone"]["p95_first_ms"]
        started = time.perf_counter()
        hundred = together(base, args.burst, 2000)
        report["100_at_once"] = summary(hundred)
        busy = [r for r in hundred if r["outcome"].startswith("http") or "queue" in r["outcome"].lower()]
        report["100_at_once"]["busy"] = len(busy)
        report["100_at_once"]["slowest_busy_answer_s"] = max((r.get("answered", 0) for r in busy), default=0.0)
        report["100_at_once"]["server_errors"] = sum(r["outcome"].startswith("http 5") for r in hundred)
        report["100_at_once"]["wall_s"] = time.perf_counter() - started

        # A client that posts jobs and never reads them, while another person listens.
        with httpx.Client(timeout=TIMEOUT) as rude, httpx.Client(timeout=TIMEOUT) as polite:
            for seed in range(48):
                data = [*DEFAULT_ARGS]
                data[1] = 3000 + seed
                rude.post(f"{base}/gradio_api/call/compose", json={"data": data})
            during = [listen(base, 4000 + seed, polite) for seed in range(5)]
        report["unread_jobs"] = {"posted_unread": 48, "listener": summary(during),
                                 "p95_first_ratio_to_alone": summary(during)["p95_first_ms"] / report["alone"]["p95_first_ms"]}

        # Soak: tunes in a row, memory sampled.
        samples = []
        with httpx.Client(timeout=TIMEOUT) as client:
            for i in range(args.soak):
                if i % 100 == 0:
                    samples.append(rss_mb(server.pid))
                listen(base, 10_000 + i, client)
            samples.append(rss_mb(server.pid))
        report["soak"] = {"tunes": args.soak, "rss_mb_every_100": [round(s, 1) for s in samples],
                          "growth_mb": round(samples[-1] - samples[1], 1) if len(samples) > 2 else None,
                          "note": "growth from the sample after the first 100 tunes (caches warm) to the end"}
    finally:
        server.terminate()
        server.wait(timeout=30)

    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    a, c, h, u, s = (report[k] for k in ("alone", "32_at_once", "100_at_once", "unread_jobs", "soak"))
    print(f"- one stream alone: p95 first update {a['p95_first_ms']:.0f} ms, p95 whole tune {a['p95_end_ms']:.0f} ms")
    print(f"- 32 at once: {c['complete']}/32 complete, {c['errors']} errors, p95 first update {c['p95_first_ms']:.0f} ms "
          f"(**{c['p95_first_ratio_to_alone']:.1f}×** alone), {c['chars_per_s_together']:,.0f} chars/s together")
    print(f"- {h['requests']} at once: {h['complete']} complete, {h['busy']} busy (slowest answer {h['slowest_busy_answer_s']:.2f} s), "
          f"{h['server_errors']} server errors, {h['wall_s']:.1f} s")
    print(f"- 48 jobs posted and never read: the listener's p95 first update {u['listener']['p95_first_ms']:.0f} ms "
          f"({u['p95_first_ratio_to_alone']:.1f}× alone)")
    print(f"- soak: {s['tunes']} tunes, server memory {s['rss_mb_every_100'][0]} → {s['rss_mb_every_100'][-1]} MB, "
          f"growth after warm-up **{s['growth_mb']} MB**")
    print(f"\n(JSON: {args.json})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
