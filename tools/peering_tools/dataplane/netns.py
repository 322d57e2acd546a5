"""Anonymous network namespaces held by file descriptors of this process.

A namespace is made by ``unshare(CLONE_NEWNET)`` in the calling thread, kept as an open descriptor of
``/proc/thread-self/ns/net``, and the thread goes straight back to where it was. It has no name in
``/run/netns`` and nothing else refers to it, so the kernel frees it — with its links, routes, nftables
rules and sockets — as soon as this process closes the descriptor or exits for any reason, SIGKILL
included: nothing can be left behind, and nothing is ever added to the host's own namespace.

Work inside a namespace happens in a thread that ``setns``-es into it and back (``inside``); a child
process started from that thread (``ip``, ``nft``, ``ping``) is born in the namespace.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator

SELF_NET = "/proc/thread-self/ns/net"
TOOLS = ("ip", "nft")


class NetnsError(Exception):
    """A namespace could not be made or configured; the message says what failed."""


class Namespace:
    """One anonymous network namespace; ``label`` says what it stands for (errors name it)."""

    def __init__(self, label: str):
        self.label = label
        here = os.open(SELF_NET, os.O_RDONLY)
        try:
            os.unshare(os.CLONE_NEWNET)
            try:
                self.fd = os.open(SELF_NET, os.O_RDONLY)
            finally:
                os.setns(here, os.CLONE_NEWNET)
        finally:
            os.close(here)
        self.inode = os.fstat(self.fd).st_ino

    @property
    def path(self) -> str:
        """A path other processes of this machine can open to name this namespace (``ip link ... netns``)."""
        return f"/proc/{os.getpid()}/fd/{self.fd}"

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    @contextlib.contextmanager
    def inside(self) -> Iterator[None]:
        """The calling thread works in this namespace until the block ends (then where it was before)."""
        if self.fd < 0:
            raise NetnsError(f"the namespace of {self.label} is closed")
        here = os.open(SELF_NET, os.O_RDONLY)
        try:
            os.setns(self.fd, os.CLONE_NEWNET)
            try:
                yield
            finally:
                os.setns(here, os.CLONE_NEWNET)
        finally:
            os.close(here)

    def run(self, args: list[str], stdin: str | None = None, timeout: float = 30.0,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        with self.inside():
            done = subprocess.run(args, input=stdin, text=True, capture_output=True, timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise NetnsError(f"{' '.join(args[:2])} failed in the namespace of {self.label}: "
                             f"{(done.stderr or done.stdout).strip()}")
        return done

    def load_rules(self, ruleset: str) -> None:
        """Load an nftables ruleset here: through libnftables in this thread when the library is there
        (no process to start), else ``nft -f -``."""
        if _libnftables() is None:
            self.run(["nft", "-f", "-"], ruleset)
            return
        with self.inside():
            error = _nft_run(ruleset)
        if error is not None:
            raise NetnsError(f"nft -f failed in the namespace of {self.label}: {error}")

    def sysctl(self, name: str, value: str) -> None:
        """Write ``net/...`` sysctls as this namespace sees them (they are per namespace)."""
        with self.inside(), open(f"/proc/sys/{name.replace('.', '/')}", "w") as f:
            f.write(value)

    def __repr__(self) -> str:
        return f"Namespace({self.label!r}, net:[{self.inode}])"


def unavailable() -> str | None:
    """Why namespaces cannot be made here (one sentence), or None when they can."""
    if not hasattr(os, "unshare") or not hasattr(os, "setns"):
        return "this Python has no os.unshare/os.setns (Linux only)"
    if os.geteuid() != 0:
        return "network namespaces need root (CAP_SYS_ADMIN) and this process is not root"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return (f"{' and '.join(missing)} not found (Debian packages iproute2 and nftables; `make` installs them "
                "when it runs as root)")
    try:
        probe = Namespace("availability check")
    except OSError as e:
        return f"a network namespace could not be made ({e.strerror or e})"
    try:
        probe.load_rules("table inet availability {\n}\n")
    except (NetnsError, OSError) as e:
        return f"nftables does not work in a network namespace ({e})"
    finally:
        probe.close()
    return None


def referenced_inodes() -> set[int]:
    """Inodes of every network namespace some process of this machine holds (its own, or an open fd)
    plus the named ones (``/run/netns``): what a leak check compares before and after."""
    found: set[int] = set()

    def add(link: str) -> None:
        with contextlib.suppress(OSError):
            target = os.readlink(link)
            if target.startswith("net:["):
                found.add(int(target[5:-1]))

    for pid in filter(str.isdigit, os.listdir("/proc")):
        add(f"/proc/{pid}/ns/net")
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                add(f"/proc/{pid}/fd/{fd}")
    with contextlib.suppress(OSError):
        for name in os.listdir("/run/netns"):
            with contextlib.suppress(OSError):
                found.add(os.stat(f"/run/netns/{name}").st_ino)
    return found



# -- libnftables (nftables' own C API, libnftables(3); what its Python binding wraps with ctypes) ------
@functools.cache
def _libnftables() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("nftables")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.nft_ctx_new.restype = ctypes.c_void_p
    lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
    lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
    lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
    lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
    lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
    return lib


_NFT_LOCK = threading.Lock()
"""libnftables keeps global state (its context set-up is not thread-safe): one call at a time."""


def _nft_run(ruleset: str) -> str | None:
    """Run ``ruleset`` in the calling thread's namespace; the error text, or None when it loaded."""
    lib = _libnftables()
    assert lib is not None
    with _NFT_LOCK:
        return _nft_run_locked(lib, ruleset)


def _nft_run_locked(lib: ctypes.CDLL, ruleset: str) -> str | None:
    ctx = lib.nft_ctx_new(0)  # NFT_CTX_DEFAULT; its netlink socket is this thread's namespace's
    if not ctx:
        return "libnftables could not make a context"
    try:
        lib.nft_ctx_buffer_output(ctx)
        lib.nft_ctx_buffer_error(ctx)
        if lib.nft_run_cmd_from_buffer(ctx, ruleset.encode()) == 0:
            return None
        return (lib.nft_ctx_get_error_buffer(ctx) or b"").decode(errors="replace").strip() or "unknown error"
    finally:
        lib.nft_ctx_free(ctx)
