"""Load and soak figures for the app, on loopback, every loop bounded in count and time.

    python -m benchmarks.load [--soak 1000] [--crowd 1000] [--only alone 32 burst crowd unread soak] [--json runs/load.json]

Starts `python app.py` in its own process and talks to it the way any script can, over REST
(`/gradio_api/call/compose`, reading the event stream with httpx):
1. one stream alone, several times: wait for the first update and for the end;
2. 32 streams at once: completions, errors, p50/p95 waits, characters per second together;
3. 100 requests at once from one client (--burst): how many are answered "busy" (its job cap) and how
   fast, none a server error; then 400 at once from 400 clients (--crowd, told apart by X-Forwarded-For,
   which the app trusts from loopback as it would from a Space's proxy): how many find the queue full;
4. a client that posts 48 jobs and never reads them, while another listens: the listener's wait;
5. a soak: 100 tunes to warm up, then N in a row, the server's resident memory sampled every 100,
   and its growth over those N.
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
DEFAULT_ARGS = [1.0, 0, True, "any", "any", "any", "any", "", "", 2000, False, "tonic"]
TIMEOUT = 120.0  # seconds: the most any one request may take here


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def listen(base: str, seed: int, client: httpx.Client, who: str | None = None) -> dict:
    """Posts one request (as client `who`, when given) and reads its stream: waits, size, and the outcome."""
    submitted = time.perf_counter()
    data = [*DEFAULT_ARGS]
    data[1] = seed
    headers = {"X-Forwarded-For": who} if who else {}
    posted = client.post(f"{base}/gradio_api/call/compose", json={"data": data}, headers=headers)
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


async def _crowd(base: str, count: int, seed0: int) -> list[dict]:
    """`count` requests posted at once from as many clients (asyncio: the posts leave together,
    which threads on two cores cannot do), then every accepted stream read to its end."""
    import asyncio
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(timeout=TIMEOUT, limits=limits) as client:
        async def one(i):
            submitted = time.perf_counter()
            data = [*DEFAULT_ARGS]
            data[1] = seed0 + i
            try:
                posted = await client.post(f"{base}/gradio_api/call/compose", json={"data": data},
                                           headers={"X-Forwarded-For": f"198.18.{i // 256}.{i % 256}"})
            except httpx.HTTPError as error:
                return {"outcome": f"exception: {type(error).__name__}", "answered": time.perf_counter() - submitted}
            answered = time.perf_counter() - submitted
            if posted.status_code != 200:
                return {"outcome": f"http {posted.status_code}", "answered": answered, "message": posted.text[:200]}
            outcome, chars, event = "incomplete", 0, None
            async with client.stream("GET", f"{base}/gradio_api/call/compose/{posted.json()['event_id']}") as stream:
                async for line in stream.aiter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:") and event in ("complete", "error"):
                        outcome = "complete" if event == "complete" else "error: " + line[5:].strip()[:200]
                        chars = len((json.loads(line[5:]) or [""])[0]) if event == "complete" else 0
                        break
            end = time.perf_counter()
            return {"outcome": outcome, "chars": chars, "wait_first": end - submitted, "total": end - submitted,
                    "answered": answered}
        return list(await asyncio.gather(*(one(i) for i in range(count))))


def crowd(base: str, count: int, seed0: int) -> list[dict]:
    import asyncio
    return asyncio.run(_crowd(base, count, seed0))


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


SECTIONS = ("alone", "32", "burst", "crowd", "unread", "soak")


def run_sections(base: str, server_pid: int, args, report: dict) -> None:
    """The chosen sections, in order, into `report` (see the module docstring)."""
    with httpx.Client(timeout=TIMEOUT) as client:
        for seed in range(10):  # warm
            listen(base, 90_000 + seed, client)
        alone = [listen(base, seed, client) for seed in range(12)]
    report["alone"] = summary(alone)
    if "32" in args.only:
        report["32_at_once"] = summary(together(base, 32, 1000))
        report["32_at_once"]["p95_first_ratio_to_alone"] = report["32_at_once"]["p95_first_ms"] / report["alone"]["p95_first_ms"]
    if "burst" in args.only:
        started = time.perf_counter()
        hundred = together(base, args.burst, 2000)
        report["100_at_once"] = summary(hundred)
        busy = [r for r in hundred if r["outcome"].startswith("http") or "queue" in r["outcome"].lower()]
        report["100_at_once"]["busy"] = len(busy)
        report["100_at_once"]["slowest_busy_answer_s"] = max((r.get("answered", 0) for r in busy), default=0.0)
        report["100_at_once"]["server_errors"] = sum(r["outcome"].startswith("http 5") for r in hundred)
        report["100_at_once"]["wall_s"] = time.perf_counter() - started
    if "crowd" in args.only:
        started = time.perf_counter()
        everyone = crowd(base, args.crowd, 6000)
        report["crowd"] = summary(everyone)
        full = [r for r in everyone if r["outcome"] == "http 503"]
        report["crowd"]["queue_full"] = len(full)
        report["crowd"]["queue_full_message"] = full[0]["message"] if full else ""
        report["crowd"]["slowest_busy_answer_s"] = max((r["answered"] for r in full), default=0.0)
        report["crowd"]["server_errors"] = sum(r["outcome"].startswith("http 5") and r["outcome"] != "http 503"
                                               for r in everyone)
        report["crowd"]["wall_s"] = time.perf_counter() - started
    if "unread" in args.only:
        # A client that posts jobs and never reads them, while another person listens.
        with httpx.Client(timeout=TIMEOUT) as rude, httpx.Client(timeout=TIMEOUT) as polite:
            for seed in range(48):
                data = [*DEFAULT_ARGS]
                data[1] = 3000 + seed
                rude.post(f"{base}/gradio_api/call/compose", json={"data": data})
            during = [listen(base, 4000 + seed, polite) for seed in range(5)]
        report["unread_jobs"] = {"posted_unread": 48, "listener": summary(during),
                                 "p95_first_ratio_to_alone": summary(during)["p95_first_ms"] / report["alone"]["p95_first_ms"]}
    if "soak" in args.only:
        # Tunes in a row, memory sampled: after the other sections, or (--only soak) on a fresh server.
        samples, failed = [], 0
        with httpx.Client(timeout=TIMEOUT) as client:
            for i in range(100 + args.soak):
                if i % 100 == 0:
                    samples.append(rss_mb(server_pid))
                failed += listen(base, 10_000 + i, client)["outcome"] != "complete"
            samples.append(rss_mb(server_pid))
        report["soak"] = {"tunes": args.soak, "failed": failed, "rss_mb_every_100": [round(s, 1) for s in samples],
                          "growth_mb": round(samples[-1] - samples[1], 1),
                          "after": [k for k in SECTIONS[:-1] if k in args.only],
                          "note": "growth over the last --soak tunes, after 100 to warm up"}


def print_report(report: dict) -> None:
    a = report["alone"]
    print(f"- one stream alone: p95 first update {a['p95_first_ms']:.0f} ms, p95 whole tune {a['p95_end_ms']:.0f} ms")
    if c := report.get("32_at_once"):
        print(f"- 32 at once: {c['complete']}/32 complete, {c['errors']} errors, p95 first update {c['p95_first_ms']:.0f} ms "
              f"(**{c['p95_first_ratio_to_alone']:.1f}×** alone), {c['chars_per_s_together']:,.0f} chars/s together")
    if h := report.get("100_at_once"):
        print(f"- {h['requests']} at once from one client: {h['complete']} complete, {h['busy']} busy (slowest answer "
              f"{h['slowest_busy_answer_s']:.2f} s), {h['server_errors']} server errors, {h['wall_s']:.1f} s")
    if q := report.get("crowd"):
        print(f"- {q['requests']} at once from as many clients: {q['complete']} complete, {q['queue_full']} busy "
              f"(queue full, slowest answer {q['slowest_busy_answer_s']:.2f} s: {q['queue_full_message']!r}), "
              f"{q['server_errors']} server errors, {q['wall_s']:.1f} s")
    if u := report.get("unread_jobs"):
        print(f"- 48 jobs posted and never read: the listener's p95 first update {u['listener']['p95_first_ms']:.0f} ms "
              f"({u['p95_first_ratio_to_alone']:.1f}× alone)")
    if s := report.get("soak"):
        print(f"- soak: {s['tunes']} tunes after 100 to warm up, following {s['after'] or 'nothing (a fresh server)'} "
              f"({s['failed']} failed), server memory {s['rss_mb_every_100'][1]} → {s['rss_mb_every_100'][-1]} MB: "
              f"growth **{s['growth_mb']} MB** (every 100: {s['rss_mb_every_100']})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n")[0])
    parser.add_argument("--soak", type=int, default=1000, help="tunes in a row for the memory soak (after 100 to warm up)")
    parser.add_argument("--burst", type=int, default=100, help="requests sent at once by one client in section 3")
    parser.add_argument("--crowd", type=int, default=1000, help="requests sent at once by as many clients in section 3")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS),
                        help="sections to run (one stream alone always runs: the others are measured against it)")
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
        run_sections(base, server.pid, args, report)
    finally:
        server.terminate()
        server.wait(timeout=30)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print_report(report)
    print(f"\n(JSON: {args.json})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
