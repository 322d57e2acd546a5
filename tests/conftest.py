"""Shared fixtures: moto with in-process Lambdas and the real ASL interpreter, the seed network."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from peering_tools import deploy, emulated_network, seed, template, timewarp

REGION = "us-east-1"
ACCOUNT = "123456789012"
EVENTS = Path(__file__).resolve().parents[1] / "events"
MOTO_CONFIG = {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and a region: nothing in the tests may reach a real account."""
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


GONE_PEERING_STATES = frozenset({"deleted", "rejected", "expired", "failed"})


def aws_route_state(route) -> str:
    """A route's state as AWS reports it: ``blackhole`` once its peering is deleted, rejected, expired or failed.
    moto 5.2.5 always says ``active`` (moto/ec2/models/route_tables.py:260-262; canary in test_moto_seams)."""
    pcx = getattr(route, "vpc_pcx", None)
    return "blackhole" if pcx is not None and pcx._status.code in GONE_PEERING_STATES else "active"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from moto.ec2.models.route_tables import Route

    monkeypatch.setattr(Route, "state", property(aws_route_state))
    with mock_aws(config=MOTO_CONFIG):
        yield


def consent(ec2, vpc_id: str, *accepts: str) -> None:
    """The VPC owner's consent (ConsentMode=tag): ``peering-automation/accept-from`` listing ``accepts``."""
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": seed.CONSENT_TAG, "Value": ",".join(accepts or ("*",))}])


@pytest.fixture
def ec2(aws: None):
    return boto3.client("ec2", region_name=REGION)


@pytest.fixture
def network(ec2) -> seed.SeedNetwork:
    return seed.build(ec2)


def invoke(function: str, payload: dict) -> dict:
    """Invoke a deployed function synchronously (in-process) and return its result; it must not fail."""
    response = boto3.client("lambda", region_name=REGION).invoke(FunctionName=function, Payload=json.dumps(payload))
    result = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, result
    return result


def all_route_tables(ec2) -> list[dict]:
    """Every route table with its routes, normalized for before/after comparison."""
    tables = ec2.describe_route_tables()["RouteTables"]
    return sorted(
        ({"id": t["RouteTableId"], "routes": sorted(json.dumps(r, sort_keys=True, default=str) for r in t["Routes"])}
         for t in tables),
        key=lambda t: t["id"],
    )


def peering_tags(ec2, pcx: str) -> dict[str, str]:
    found = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"]
    return {t["Key"]: t["Value"] for t in found[0].get("Tags", [])}


class Stack:
    """The deployed template in moto, and a way to run the workflow to its end."""

    def __init__(self, deployed: deploy.DeployedStack):
        self.deployed = deployed
        self.sfn = boto3.client("stepfunctions", region_name=REGION)

    def start(self, pcx: str, event_id: str = "test-event") -> str:
        from peering.events import execution_name

        return self.sfn.start_execution(
            stateMachineArn=self.deployed.state_machine_arn,
            name=execution_name(pcx, event_id),
            input=json.dumps({"peeringId": pcx, "trigger": {"eventId": event_id}}),
        )["executionArn"]

    def wait(self, execution_arn: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            described = self.sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.05)
        raise AssertionError(f"{execution_arn} still running after {timeout}s")

    def run(self, pcx: str, event_id: str = "test-event") -> dict:
        return self.wait(self.start(pcx, event_id))

    def history(self, execution_arn: str) -> list[dict]:
        return self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]


@pytest.fixture
def make_stack(aws: None):
    """Deploy template.yaml (with parameter overrides) into moto; waits and back-offs are not slept."""
    timewarp.compress(0.0)

    def _make(**parameters: str) -> Stack:
        from peering import runtime

        runtime._workflow.cache_clear()  # a warm container belongs to one deployment (and one mock account set)
        spec = template.stack_spec(parameters, account_id=ACCOUNT, region=REGION)
        emulated_network.install(emulated_network.EmulatedNetwork(
            lambda service: boto3.client(service, region_name=REGION), spec.functions["ProbeFunction"].name))
        return Stack(deploy.deploy(spec))

    yield _make
    emulated_network.uninstall()
    timewarp.restore()


@pytest.fixture
def stack(make_stack) -> Stack:
    return make_stack()
