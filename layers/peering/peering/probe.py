"""The reachability probe: concurrent TCP connects, each with a timeout (Lambda cannot send ICMP).

``connector`` is the one seam: the deployed probe opens real sockets; the local emulator replaces it
with its emulated network (the path analysis over its own state), so no packet ever leaves the
machine there. Tests call ``tcp_connect`` against 127.0.0.1 listeners only.
"""

from __future__ import annotations

import contextvars
import errno
import ipaddress
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from .errors import InvalidInput
from .models import ProbeResult, ProbeTarget

UNREACHABLE_ERRNOS = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL})


def parse_targets(text: str, limit: int) -> list[ProbeTarget]:
    """``host:port`` items, comma-separated (``[v6]:port`` for IPv6); the first ``limit`` are kept."""
    targets = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        host = host.strip("[]")
        try:
            ipaddress.ip_address(host)
            number = int(port)
        except ValueError as e:
            raise InvalidInput(f"Probe target {item!r} is not an IP address and port (host:port).") from e
        if not sep or not 0 < number < 65536:
            raise InvalidInput(f"Probe target {item!r} has no valid port.")
        targets.append(ProbeTarget(host=host, port=number))
    return targets[:limit]


def tcp_connect(host: str, port: int, timeout: float) -> ProbeResult:
    """One TCP connect: reachable with its latency, or the error class (timeout, refused, unreachable)."""
    started = time.perf_counter()
    target = ProbeTarget(host=host, port=port)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            latency = (time.perf_counter() - started) * 1000
            return ProbeResult(target=target, reachable=True, latency_ms=round(latency, 2))
    except ConnectionRefusedError:
        error = "refused"
    except TimeoutError:
        error = "timeout"
    except OSError as e:
        error = "unreachable" if e.errno in UNREACHABLE_ERRNOS else "error"
    return ProbeResult(target=target, reachable=False, error=error)


Connector = Callable[[str, int, float], ProbeResult]
connector: Connector = tcp_connect


def probe_all(targets: Sequence[ProbeTarget], timeout: float, workers: int = 16) -> list[ProbeResult]:
    """Connect to every target concurrently; results in the targets' order."""
    if not targets:
        return []
    connect = connector  # read once: the emulator may swap the seam between runs, not during one
    # each connect runs in its own copy of the caller's context (copied here, in the caller's thread)
    calls = [(contextvars.copy_context(), t) for t in targets]
    with ThreadPoolExecutor(max_workers=min(workers, len(targets))) as pool:
        return list(pool.map(lambda call: call[0].run(connect, call[1].host, call[1].port, timeout), calls))
