"""The emulated network: the probe's TCP connects answered from the emulator's own EC2 state.

No packet leaves the machine. A connect from the probe function (its VpcConfig: subnet and security
groups) to ``host:port`` succeeds when the project's path analysis (``peering.analysis.analyze``, the one
definition of a reachable flow) finds its request path and its reply path open and a running instance or
in-use network interface holds that address; anything else times out, as a dropped SYN does in a VPC. Whatever
listens on the port is assumed to (there are no processes here).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from peering import probe
from peering.analysis import analyze, endpoint_for_ip, endpoint_for_subnet
from peering.aws.network import read_snapshot
from peering.models import ProbeResult, ProbeTarget

from . import inprocess

ClientFactory = Callable[[str], Any]
EMULATED_LATENCY_MS = 0.5


class EmulatedNetwork:
    def __init__(self, client: ClientFactory, probe_function_name: str):
        self.client = client
        self.probe_function_name = probe_function_name

    def _probe_placement(self, name: str) -> tuple[str, tuple[str, ...]] | None:
        """The VpcConfig of the probe function that is connecting."""
        config = self.client("lambda").get_function_configuration(FunctionName=name)
        vpc = config.get("VpcConfig") or {}
        subnets = vpc.get("SubnetIds") or []
        return (subnets[0], tuple(vpc.get("SecurityGroupIds") or ())) if subnets else None

    def connect(self, host: str, port: int, timeout: float) -> ProbeResult:
        """Called in the probe's context: which function connects (the stack's own when none is known). The
        network's own reads run in an empty context, so they are never taken for the function's calls."""
        name = inprocess.current_function() or self.probe_function_name
        return contextvars.Context().run(self._connect, name, host, port)

    def _connect(self, name: str, host: str, port: int) -> ProbeResult:
        target = ProbeTarget(host=host, port=port)
        placement = self._probe_placement(name)
        if placement is None:  # a Lambda outside any VPC reaches no private address
            return ProbeResult(target=target, reachable=False, error="timeout")
        ec2 = self.client("ec2")
        vpcs = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]]
        snapshot = read_snapshot([(ec2, vpcs)])  # every peering of those VPCs comes with them
        if endpoint_for_ip(snapshot, host) is None:
            return ProbeResult(target=target, reachable=False, error="timeout")
        source = endpoint_for_subnet(snapshot, *placement)
        result = analyze(snapshot, source, host, port)
        if result.reachable:
            return ProbeResult(target=target, reachable=True, latency_ms=EMULATED_LATENCY_MS)
        return ProbeResult(target=target, reachable=False, error="timeout")


def install(network: EmulatedNetwork) -> None:
    """Replace the probe's connector seam (``peering.probe.connector``) with the emulated network."""
    probe.connector = network.connect


def uninstall() -> None:
    probe.connector = inprocess.loopback_only
