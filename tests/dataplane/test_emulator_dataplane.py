"""`peering local up --data-plane netns` as a user runs it: the probe's connects cross the data plane
(a port nothing listens on is refused, which the path analysis alone could never say), and however the
emulator ends — Ctrl-C or SIGKILL — no namespace, link or rule of it is left, and the host's own
namespace never changed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from peering_tools import seed
from peering_tools.dataplane.netns import referenced_inodes
from tests.emulator.test_local_up import STATUS_TAG, free_port, start_up

from .test_plane import host_state

pytestmark = pytest.mark.emulator

STATUS_TIMEOUT = 60.0


class Up:
    """`peering local up` with these arguments (test_local_up's ``start_up``), and its data plane's namespaces."""

    def __init__(self, *args: str):
        self.server = start_up(free_port(), *args)
        self.url, self.process = self.server.url, self.server.process

    def client(self, service: str):
        return self.server.client(service)

    def stderr_lines(self) -> list[str]:
        out = []
        while not self.server.errors.empty():
            out.append(self.server.errors.get())
        return out

    def namespaces(self) -> set[int]:
        """The network namespaces the emulator holds open (its data plane)."""
        own = os.readlink(f"/proc/{self.process.pid}/ns/net")
        found = set()
        for fd in os.listdir(f"/proc/{self.process.pid}/fd"):
            try:
                target = os.readlink(f"/proc/{self.process.pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("net:[") and target != own:
                found.add(int(target[5:-1]))
        return found


def status_of(ec2, pcx: str) -> str:
    deadline = time.monotonic() + STATUS_TIMEOUT
    status = None
    while time.monotonic() < deadline:
        found = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"]
        status = {t["Key"]: t["Value"] for t in found[0].get("Tags", [])}.get(STATUS_TAG)
        if status in ("routed", "verified", "failed", "rejected"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"{pcx} had {STATUS_TAG}={status} after {STATUS_TIMEOUT:.0f} s")


def attach_probe(up: Up, net: seed.SeedNetwork) -> None:
    """What `sam deploy --parameter-overrides ProbeSubnetIds=... ProbeSecurityGroupIds=...` changes: the probe
    function's VpcConfig and the functions' PROBE_* variables."""
    lam = up.client("lambda")
    for function in lam.list_functions()["Functions"]:
        variables = (function.get("Environment") or {}).get("Variables") or {}
        update = {}
        if "PROBE_SUBNET_IDS" in variables:
            update["Environment"] = {"Variables": {**variables, "PROBE_SUBNET_IDS": net.subnet_a,
                                                   "PROBE_SECURITY_GROUP_IDS": net.sg_a}}
        if "ProbeFunction" in function["FunctionName"]:
            update["VpcConfig"] = {"SubnetIds": [net.subnet_a], "SecurityGroupIds": [net.sg_a]}
        if update:
            lam.update_function_configuration(FunctionName=function["FunctionName"], **update)


def run_tutorial(up: Up, listen: str | None = None) -> str:
    ec2 = up.client("ec2")
    net = seed.build(ec2)
    if listen is not None:
        ec2.create_tags(Resources=[net.instance_b], Tags=[{"Key": "peering-automation/listen", "Value": listen}])
    attach_probe(up, net)
    return status_of(ec2, seed.request_peering(ec2, net, tagged=True))


def gone(inodes: set[int]) -> bool:
    deadline = time.monotonic() + 10
    while inodes & referenced_inodes() and time.monotonic() < deadline:
        time.sleep(0.1)
    return not inodes & referenced_inodes()


def test_after_sigkill_nothing_is_left():
    before = host_state()
    up = Up()  # the default: netns here
    held: set[int] = set()
    try:
        # nothing listens on B's tcp/22 (the tag says 443): the probe's real connect is refused
        assert run_tutorial(up, listen="443") == "failed"
        held = up.namespaces()
        assert len(held) >= 5
    finally:
        up.process.kill()
        up.process.wait(timeout=30)
    assert gone(held), "the kernel frees the namespaces of a killed emulator (they are held only by its fds)"
    assert host_state() == before


def test_the_next_emulator_verifies_the_tutorial_and_ctrl_c_frees_its_data_plane():
    """Runs after the SIGKILL test: a new emulator starts with no clean-up step (there is nothing to clean)."""
    before = host_state()
    up = Up("--data-plane", "netns")
    held: set[int] = set()
    try:
        assert run_tutorial(up) == "verified"
        held = up.namespaces()
        assert len(held) >= 5, "two routers, two instances and the probe's interface"
        assert any(line.startswith("data plane: netns") for line in up.stderr_lines())
    finally:
        up.process.send_signal(signal.SIGINT)
        code = up.process.wait(timeout=30)
    assert code == 0
    assert gone(held), "a namespace of the emulator is still held after Ctrl-C"
    assert host_state() == before


def cli(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "peering_tools.cli", "local", "up", "--port", str(free_port()), *args],
                          capture_output=True, text=True, timeout=60, env=env)


def test_data_plane_option_takes_netns_or_analysis():
    done = cli("--data-plane", "bogus")
    assert done.returncode == 2
    assert done.stderr.strip() == "error: --data-plane must be netns or analysis, not 'bogus'."


def test_netns_asked_where_it_cannot_be_made_is_one_sentence_and_exit_2(tmp_path):
    # a PATH without iproute2 and nftables: the data plane cannot be made, and nothing is started
    done = cli("--data-plane", "netns", path=str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.startswith("error: The netns data plane cannot be made here: ip and nft not found")
    assert done.stdout == "" and "Traceback" not in done.stderr


def test_by_default_it_falls_back_to_the_analysis_with_one_line_why(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PATH"] = str(tmp_path)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "peering_tools.cli", "local", "up", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout.readline() == f"ready: http://127.0.0.1:{port}\n"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    first = process.stderr.readline()
    assert first.startswith("data plane: analysis, not netns (ip and nft not found"), first
