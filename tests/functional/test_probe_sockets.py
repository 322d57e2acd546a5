"""The probe's real socket code, against listeners on 127.0.0.1 only (never any other address)."""

import socket
import threading

import pytest

from peering import probe
from peering.errors import InvalidInput
from peering.models import ProbeTarget

LOOPBACK = "127.0.0.1"


@pytest.fixture
def open_port():
    server = socket.socket()
    server.bind((LOOPBACK, 0))
    server.listen(8)
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                conn.close()
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    server.close()
    thread.join(timeout=2)


@pytest.fixture
def closed_port():
    s = socket.socket()
    s.bind((LOOPBACK, 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there any more: the kernel answers with RST
    return port


@pytest.fixture
def silent_port():
    """A listener whose backlog is full: further connects get no answer, so they time out."""
    server = socket.socket()
    server.bind((LOOPBACK, 0))
    server.listen(0)
    fillers = []
    for _ in range(8):  # fill the accept queue (never accepted)
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(server.getsockname())
        fillers.append(c)
    yield server.getsockname()[1]
    for c in fillers:
        c.close()
    server.close()


def test_open_port_is_reachable_with_a_latency(open_port):
    result = probe.tcp_connect(LOOPBACK, open_port, timeout=2)
    assert result.reachable and result.error is None and 0 <= result.latency_ms < 2000


def test_closed_port_is_refused(closed_port):
    result = probe.tcp_connect(LOOPBACK, closed_port, timeout=2)
    assert (result.reachable, result.error) == (False, "refused")


def test_unanswered_connect_times_out_within_the_limit(silent_port):
    import time

    started = time.monotonic()
    result = probe.tcp_connect(LOOPBACK, silent_port, timeout=0.3)
    assert (result.reachable, result.error) == (False, "timeout")
    assert time.monotonic() - started < 2


def test_probe_all_runs_concurrently_and_keeps_the_targets_order(open_port, closed_port):
    targets = [ProbeTarget(host=LOOPBACK, port=open_port), ProbeTarget(host=LOOPBACK, port=closed_port)] * 3
    results = probe.probe_all(targets, timeout=2)
    assert [r.target for r in results] == targets
    assert [r.reachable for r in results] == [True, False] * 3


def test_probe_all_uses_the_connector_seam(monkeypatch):
    seen = []

    def fake(host, port, timeout):
        seen.append((host, port, timeout))
        return probe.ProbeResult(target=ProbeTarget(host=host, port=port), reachable=True, latency_ms=1.0)

    monkeypatch.setattr(probe, "connector", fake)
    probe.probe_all([ProbeTarget(host="10.7.1.4", port=22)], timeout=1.5)
    assert seen == [("10.7.1.4", 22, 1.5)]  # the seam was called; no socket was opened


@pytest.mark.parametrize("text, expected", [
    ("10.7.1.4:22", [("10.7.1.4", 22)]),
    (" 10.7.1.4:22 , 10.7.1.5:443,", [("10.7.1.4", 22), ("10.7.1.5", 443)]),
    ("[2600:1f18::5]:443", [("2600:1f18::5", 443)]),
    ("10.0.0.1:1,10.0.0.2:2,10.0.0.3:3", [("10.0.0.1", 1), ("10.0.0.2", 2)]),
])
def test_targets_parse_and_are_capped(text, expected):
    assert [(t.host, t.port) for t in probe.parse_targets(text, limit=2)] == expected


@pytest.mark.parametrize("text", ["db.internal:5432", "10.7.1.4", "10.7.1.4:0", "10.7.1.4:70000", "10.7.1.4:ssh"])
def test_bad_targets_are_one_sentence_errors(text):
    with pytest.raises(InvalidInput, match=r"^Probe target .*\.$"):
        probe.parse_targets(text, limit=5)
