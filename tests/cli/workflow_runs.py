"""Real runs of the CURRENT workflow, made in the test session (no recorded files to go stale).

``Account`` deploys template.yaml into moto (in-process handlers, the real ASL, Waits and Retry
intervals not slept) with the probe attached to the first seed network's VPC A, as the demo does,
and runs one scenario at a time:

    verified    the seed request A -> B: accepted, routed both ways, DNS, probed and analysed: verified
    rejected    the same request without the trigger tag: refused by Inspect, nothing changed
    failed      10.7.0.0/16 -> A's internet gateway pre-exists: PlanRoutes raises RouteConflict;
                Rollback, ReportFailure, then the Fail state PeeringFailed
    retried     a peering that does not exist: Inspect's PeeringNotFound is retried by the ASL, then
                caught
    unverified  B's security group no longer admits SSH from A: routed, but the path analysis finds
                tcp/22 blocked, so the run ends in VerificationFailed with its routes kept

Runs are started, awaited and read with ``tests.conftest.Stack``; each is kept as ``describe_execution``
+ ``get_execution_history`` events exactly as boto3 returns them (datetimes included): what
``peering executions`` reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from peering_tools import deploy, emulated_network, seed, template, timewarp
from tests.conftest import ACCOUNT, MOTO_CONFIG, REGION, Stack

SCENARIOS = ("verified", "rejected", "failed", "retried", "unverified")
MISSING_PEERING = "pcx-0000000000000dead"
ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
       "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}


@dataclass(frozen=True)
class Run:
    scenario: str
    peering_id: str
    describe: dict
    events: list[dict]
    network: seed.SeedNetwork | None


class Account:
    """One mocked account with the stack deployed; ``run(scenario)`` builds a fresh seed network for it."""

    def __init__(self) -> None:
        self.ec2 = boto3.client("ec2", region_name=REGION)
        self.probe_network = seed.build(self.ec2)
        spec = template.stack_spec({"ProbeSubnetIds": self.probe_network.subnet_a,
                                    "ProbeSecurityGroupIds": self.probe_network.sg_a},
                                   account_id=ACCOUNT, region=REGION)
        emulated_network.install(emulated_network.EmulatedNetwork(
            lambda service: boto3.client(service, region_name=REGION), spec.functions["ProbeFunction"].name))
        self.stack = Stack(deploy.deploy(spec))  # tests/conftest.py: start, wait, history
        self.machine_arn = self.stack.deployed.state_machine_arn
        self._fresh = True

    def _network(self) -> seed.SeedNetwork:
        if self._fresh:  # the first run uses the network the probe is attached to
            self._fresh = False
            return self.probe_network
        return seed.build(self.ec2)

    def run(self, scenario: str, timeout: float = 60.0) -> Run:
        network: seed.SeedNetwork | None = None
        if scenario == "retried":
            pcx = MISSING_PEERING
        else:
            network = self._network()
            if scenario == "failed":
                self.ec2.create_route(RouteTableId=network.rtb_a, DestinationCidrBlock="10.7.0.0/16",
                                      GatewayId=network.igw_a)
            if scenario == "unverified":
                self.ec2.revoke_security_group_ingress(GroupId=network.sg_b, IpPermissions=[
                    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.6.0.0/16"}]}])
            pcx = seed.request_peering(self.ec2, network, tagged=scenario != "rejected")
        described = self.stack.wait(self.stack.start(pcx, f"event-{scenario}"), timeout)
        return Run(scenario, pcx, _plain(described), _plain(self.stack.history(described["executionArn"])), network)


def _plain(value: Any) -> Any:
    """Without boto3's ResponseMetadata."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@contextmanager
def account() -> Iterator[Account]:
    """A mocked account with the stack deployed, usable outside a test function (session or module
    fixtures): it sets the dummy credentials itself and undoes every patch on exit."""
    from peering import runtime

    with pytest.MonkeyPatch.context() as env:
        for key, value in ENV.items():
            env.setenv(key, value)
        env.delenv("AWS_ENDPOINT_URL", raising=False)
        env.delenv("AWS_PROFILE", raising=False)
        timewarp.compress(0.0)
        runtime._clients.cache_clear()  # a warm container belongs to one deployment
        try:
            with mock_aws(config=MOTO_CONFIG):
                yield Account()
        finally:
            emulated_network.uninstall()
            timewarp.restore()
            runtime._clients.cache_clear()


def run_all(scenarios: tuple[str, ...] = SCENARIOS) -> dict[str, Run]:
    with account() as acct:
        return {scenario: acct.run(scenario) for scenario in scenarios}
