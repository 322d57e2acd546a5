"""The emulator's data plane kept in step with its EC2 state, answering the probe function's connects.

Before each connect (and each ``ping`` the demo asks for) the EC2 state is read again with the
layer's own ``read_snapshot`` (plus the instances' ``peering-automation/listen`` tags and the probe
function's VpcConfig); when its digest differs from the one the data plane was built from (routes,
security groups, network ACLs, peering states, instances), the data plane is rebuilt. The probe's
interface is a host like any other: an address of the probe subnet (the highest one no interface
holds, below the subnet's last address, which AWS reserves) with the function's security groups.
``peering.probe.tcp_connect`` — the probe's own code, unchanged — then runs in a thread inside that
host's namespace, so its socket crosses the emulated route tables, peering, security groups and ACLs
for real, from a client port anywhere in 1024-65535 as a Lambda function's (:data:`LAMBDA_PORTS`).

The links inside the data plane answer in well under a millisecond, so a connect's timeout is capped
at :data:`TIMEOUT_CAP` seconds: a blocked target costs one second, not the deployed probe's three.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import logging
import threading
from collections.abc import Callable
from typing import Any

from peering import probe
from peering.analysis import Interface, Snapshot
from peering.aws.network import read_snapshot
from peering.models import ProbeResult, ProbeTarget

from .layout import LISTEN_TAG, build_layout, parse_listen
from .netns import unavailable
from .plane import DataPlane

log = logging.getLogger(__name__)

ClientFactory = Callable[[str], Any]
TIMEOUT_CAP = 1.0
LAMBDA_PORTS = "1024 65535"
"""The client ports a Lambda function's connections use (AWS VPC User Guide, "Ephemeral ports": Lambda
functions use 1024-65535, many Linux kernels 32768-61000); the probe's namespace uses the same, so a
network ACL that lets only part of that range back in fails the probe here as it can in AWS."""
PROBE_KEY = "probe-eni"


@dataclasses.dataclass(frozen=True)
class State:
    snapshot: Snapshot
    listen: dict[str, tuple[int, ...]]
    probe_ip: str | None

    @property
    def digest(self) -> str:
        return hashlib.sha256(repr((self.snapshot, sorted(self.listen.items()), self.probe_ip)).encode()).hexdigest()


def probe_address(snapshot: Snapshot, subnet_id: str) -> str | None:
    """The highest address of the subnet that no interface holds, below its last (reserved) one."""
    subnet = snapshot.subnets.get(subnet_id)
    if subnet is None:
        return None
    net = ipaddress.ip_network(subnet.cidr, strict=False)
    taken = {ip for interface in snapshot.interfaces for ip in interface.ips}
    for offset in range(1, min(net.num_addresses - 4, 64)):
        candidate = str(net.broadcast_address - offset)
        if candidate not in taken:
            return candidate
    return None


class _Built:
    """A data plane and how many connects are using it (it is closed once retired and unused)."""

    def __init__(self, plane: DataPlane, digest: str):
        self.plane, self.digest, self.users, self.retired = plane, digest, 0, False


class NetnsNetwork:
    """The probe function's network: the data plane of the emulator's EC2 state."""

    def __init__(self, client: ClientFactory, probe_function_name: str):
        self.client = client
        self.probe_function_name = probe_function_name
        self._lock = threading.Lock()
        self._built: _Built | None = None
        self.builds = 0

    # -- the state ---------------------------------------------------------------------------------
    def _placement(self) -> tuple[str, tuple[str, ...]] | None:
        config = self.client("lambda").get_function_configuration(FunctionName=self.probe_function_name)
        vpc = config.get("VpcConfig") or {}
        subnets = vpc.get("SubnetIds") or []
        return (subnets[0], tuple(vpc.get("SecurityGroupIds") or ())) if subnets else None

    def state(self) -> State:
        ec2 = self.client("ec2")
        vpcs = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]
        snapshot = read_snapshot([(ec2, vpcs)])
        listen: dict[str, tuple[int, ...]] = {}
        for reservation in ec2.describe_instances()["Reservations"]:
            for instance in reservation.get("Instances", []):
                tag = next((t["Value"] for t in instance.get("Tags", []) or [] if t.get("Key") == LISTEN_TAG), None)
                try:
                    ports = parse_listen(tag)
                except ValueError as e:
                    log.warning("%s: %s Nothing listens there.", instance["InstanceId"], e)
                    ports = ()
                for eni in instance.get("NetworkInterfaces", []) or []:
                    listen[eni["NetworkInterfaceId"]] = ports
        placement = self._placement()
        probe_ip = probe_address(snapshot, placement[0]) if placement else None
        if placement and probe_ip:
            subnet = snapshot.subnets[placement[0]]
            eni = Interface(PROBE_KEY, subnet.subnet_id, subnet.vpc_id, (probe_ip,), placement[1], None, "in-use")
            snapshot = dataclasses.replace(snapshot, interfaces=(*snapshot.interfaces, eni))
            listen[PROBE_KEY] = ()
        return State(snapshot, listen, probe_ip)

    def _acquire(self) -> tuple[_Built, State]:
        """The data plane of the current EC2 state (rebuilt when it changed), marked in use."""
        state = self.state()
        digest = state.digest
        with self._lock:
            built = self._built
            if built is None or built.digest != digest:
                plane = DataPlane(build_layout(state.snapshot, state.listen)).up()
                if PROBE_KEY in plane.hosts:  # replies come back to the probe's port as they would to a Lambda's
                    plane.hosts[PROBE_KEY].sysctl("net.ipv4.ip_local_port_range", LAMBDA_PORTS)
                self.builds += 1
                if built is not None:
                    built.retired = True
                    if built.users == 0:
                        built.plane.close()
                built = self._built = _Built(plane, digest)
            built.users += 1
        return built, state

    def _release(self, built: _Built) -> None:
        with self._lock:
            built.users -= 1
            if built.retired and built.users == 0:
                built.plane.close()

    # -- what the emulator and the demo ask ----------------------------------------------------------
    def connect(self, host: str, port: int, timeout: float) -> ProbeResult:
        """The probe function's connect, from its own interface (none: a Lambda outside any VPC reaches
        no private address, so the connect times out)."""
        built, state = self._acquire()
        try:
            if state.probe_ip is None:
                return ProbeResult(target=ProbeTarget(host=host, port=port), reachable=False, error="timeout")
            return built.plane.connect(PROBE_KEY, host, port, min(timeout, TIMEOUT_CAP))
        finally:
            self._release(built)

    def probe_ip(self) -> str | None:
        return self.state().probe_ip

    def ping(self, source_ip: str, destination_ip: str, wait: float = 1.0) -> tuple[bool, str]:
        """``ping -c 1`` from the host holding ``source_ip``: (answered, ping's summary line)."""
        built, _ = self._acquire()
        try:
            host = built.plane.layout.host_at(source_ip)
            if host is None:
                return False, f"no running instance holds {source_ip} in the data plane"
            return built.plane.ping(host.key, destination_ip, wait)
        finally:
            self._release(built)

    def close(self) -> None:
        with self._lock:
            if self._built is not None:
                self._built.retired = True
                if self._built.users == 0:
                    self._built.plane.close()
                self._built = None


def install(client: ClientFactory, probe_function_name: str) -> NetnsNetwork:
    """Answer the probe's connects (``peering.probe.connector``) over a data plane of the emulator's state."""
    network = NetnsNetwork(client, probe_function_name)
    probe.connector = network.connect
    return network


def uninstall(network: NetnsNetwork | None) -> None:
    from ..inprocess import loopback_only  # noqa: PLC0415

    probe.connector = loopback_only
    if network is not None:
        network.close()


__all__ = ["NetnsNetwork", "install", "probe_address", "uninstall", "unavailable"]
