"""The data plane: a :class:`~.layout.Layout` made real with namespaces, veths, routes and nftables.

``DataPlane(layout).up()`` makes a namespace per router and per host, links them, loads each one's
routes and rules, and opens the listening sockets (each host accepts TCP on its ports and the kernel
answers ping). ``connect`` runs :func:`peering.probe.tcp_connect` — the probe function's own code —
in a thread inside a host's namespace, so its socket crosses the emulated VPCs for real. ``close``
frees everything (and the kernel does the same if this process dies: see :mod:`.netns`).
"""

from __future__ import annotations

import selectors
import shutil
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from peering import probe
from peering.models import ProbeResult

from .layout import HOST_DEV, Host, Layout
from .netns import Namespace, NetnsError

T = TypeVar("T")
BUILD_THREADS = 4
"""Hosts configured at once (the time goes to starting ``ip`` and to netlink, not to Python)."""


class DataPlane:
    def __init__(self, layout: Layout):
        self.layout = layout
        self.routers: dict[str, Namespace] = {}
        self.hosts: dict[str, Namespace] = {}
        self._listeners: list[socket.socket] = []
        self._selector: selectors.BaseSelector | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._acceptor: threading.Thread | None = None

    # -- building ----------------------------------------------------------------------------------
    def up(self) -> DataPlane:
        """Build everything; on any failure what was made is freed and NetnsError says what failed."""
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def _build(self) -> None:
        layout = self.layout
        for vpc in layout.routers:
            self.routers[vpc] = Namespace(f"router of {vpc}")
        for key in layout.hosts:
            self.hosts[key] = Namespace(f"host {key}")
        for namespace in self.hosts.values():  # ping sockets (ICMP echo without a raw socket) for every group
            namespace.sysctl("net.ipv4.ping_group_range", "0 2147483647")
        for namespace in self.routers.values():
            for name, value in (("net.ipv4.ip_forward", "1"), ("net.ipv4.conf.all.rp_filter", "0"),
                                ("net.ipv4.conf.default.rp_filter", "0")):
                namespace.sysctl(name, value)
        # links first (each created in a router and its other end moved where it belongs), then addresses
        creating: dict[str, list[str]] = {vpc: [] for vpc in layout.routers}
        for host in layout.hosts.values():
            creating[host.vpc_id].append(f"link add {host.router_dev} type veth peer name {HOST_DEV} "
                                         f"netns {self.hosts[host.key].path}")
        for link in layout.peer_links:
            creating[link.vpc_a].append(f"link add {link.dev_a} type veth peer name {link.dev_b} "
                                        f"netns {self.routers[link.vpc_b].path}")
        for vpc, lines in creating.items():
            if lines:
                self.routers[vpc].run(["ip", "-batch", "-"], "\n".join(lines) + "\n")
        for vpc, router in layout.routers.items():
            self.routers[vpc].run(["ip", "-batch", "-"], router.script)
            self.routers[vpc].load_rules(router.ruleset)

        def configure(key: str) -> None:
            host = layout.hosts[key]
            self.hosts[key].run(["ip", "-batch", "-"], host.script)
            self.hosts[key].load_rules(host.ruleset)

        with ThreadPoolExecutor(max_workers=BUILD_THREADS) as pool:  # each thread enters its own host
            list(pool.map(configure, layout.hosts))
        self._listen()

    def _listen(self) -> None:
        """Each host accepts TCP on its ports (connections are accepted and closed at once)."""
        self._selector = selectors.DefaultSelector()
        for key, host in self.layout.hosts.items():
            for ip in host.ips:
                for port in host.ports:
                    listener = self._in(key, lambda ip=ip, port=port: _listening(ip, port))
                    self._listeners.append(listener)
                    self._selector.register(listener, selectors.EVENT_READ)
        self._wake = socket.socketpair()
        self._selector.register(self._wake[0], selectors.EVENT_READ)
        self._acceptor = threading.Thread(target=self._accept, name="dataplane-accept", daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        selector, wake = self._selector, self._wake
        assert selector is not None and wake is not None
        while True:
            for key, _ in selector.select():
                if key.fileobj is wake[0]:
                    return
                try:
                    connection, _ = key.fileobj.accept()  # type: ignore[union-attr]
                    connection.close()
                except OSError:
                    continue

    # -- using -------------------------------------------------------------------------------------
    def _in(self, key: str, work: Callable[[], T]) -> T:
        namespace = self.hosts.get(key)
        if namespace is None:
            raise NetnsError(f"no host {key} in the data plane")
        with namespace.inside():
            return work()

    def host(self, key: str) -> Host:
        return self.layout.hosts[key]

    def connect(self, key: str, ip: str, port: int, timeout: float) -> ProbeResult:
        """The probe's own ``tcp_connect`` from host ``key``'s namespace (this thread enters it and comes back)."""
        return self._in(key, lambda: probe.tcp_connect(ip, port, timeout))

    def ping(self, key: str, ip: str, wait: float = 1.0) -> tuple[bool, str]:
        """``ping -c 1 -W wait`` from host ``key``: (answered, ping's summary line)."""
        namespace = self.hosts[key]
        if shutil.which("ping") is None:
            return False, "ping is not installed (Debian package iputils-ping)"
        done = namespace.run(["ping", "-n", "-c", "1", "-W", f"{wait:g}", ip], timeout=wait + 10, check=False)
        lines = [line for line in done.stdout.splitlines() if "packets transmitted" in line]
        return done.returncode == 0, (lines[0].strip() if lines else (done.stderr or done.stdout).strip())

    @property
    def inodes(self) -> set[int]:
        return {n.inode for n in (*self.routers.values(), *self.hosts.values())}

    def close(self) -> None:
        """Stop listening and free every namespace (their links, routes and rules go with them)."""
        if self._wake is not None:
            self._wake[1].send(b"x")
            if self._acceptor is not None:
                self._acceptor.join(timeout=5)
            for end in self._wake:
                end.close()
            self._wake = None
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        for listener in self._listeners:
            listener.close()
        self._listeners.clear()
        for namespace in (*self.hosts.values(), *self.routers.values()):
            namespace.close()
        self.hosts.clear()
        self.routers.clear()

    def __enter__(self) -> DataPlane:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _listening(ip: str, port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((ip, port))
    listener.listen(128)
    listener.setblocking(False)
    return listener

