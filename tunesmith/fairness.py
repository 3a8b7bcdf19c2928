"""A cap on the jobs one client may have queued or running, so one client cannot fill the queue.

A job is reserved when its request passes the checks (before it is queued) and released when it
ends. A job that never runs (cancelled while queued) would never be released, so reservations
also expire after `ttl` seconds, past which the app stops any tune anyway.
"""
from __future__ import annotations

import collections
import ipaddress
import os
import threading
import time


class ClientJobs:
    def __init__(self, cap: int, ttl: float):
        self.cap, self.ttl = cap, ttl
        self._jobs: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()

    def _pruned(self, client: str, now: float) -> int:
        """Drops the client's expired reservations (and its record when none is left); how many remain."""
        jobs = self._jobs.get(client)
        if jobs is None:
            return 0
        while jobs and now - jobs[0] > self.ttl:
            jobs.popleft()
        if not jobs:
            del self._jobs[client]  # no record of clients with nothing running
        return len(jobs)

    def reserve(self, client: str) -> bool:
        """True (and counted) when the client has fewer than `cap` jobs."""
        now = time.monotonic()
        with self._lock:
            if self._pruned(client, now) >= self.cap:
                return False
            self._jobs[client].append(now)
            return True

    def release(self, client: str) -> None:
        with self._lock:
            jobs = self._jobs.get(client)
            if jobs:
                jobs.popleft()
                if not jobs:
                    del self._jobs[client]

    def count(self, client: str) -> int:
        with self._lock:
            return self._pruned(client, time.monotonic())

    def clients(self) -> int:
        with self._lock:
            return len(self._jobs)


# How many proxies in front of the app append to X-Forwarded-For (a Space: one). Their entries are
# the rightmost ones; anything left of them is whatever the client wrote, so it is never trusted.
PROXY_HOPS_ENV = "TUNESMITH_PROXY_HOPS"
DEFAULT_PROXY_HOPS = 1


def client_address(peer: str | None, forwarded_for: str | None, hops: int | None = None) -> str:
    """Who sent a request, for the per-client cap. Behind proxies on a private network (a Space),
    the address the outermost trusted proxy saw: the `hops`-th X-Forwarded-For entry from the right.
    From a public peer the header is ignored: the peer could have written anything in it."""
    peer = peer or "unknown"
    hops = int(os.environ.get(PROXY_HOPS_ENV, DEFAULT_PROXY_HOPS)) if hops is None else hops
    entries = [entry.strip() for entry in (forwarded_for or "").split(",") if entry.strip()]
    if hops < 1 or not entries or not _is_private(peer):
        return peer
    return entries[-min(hops, len(entries))]


def _is_private(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_private or ip.is_loopback
