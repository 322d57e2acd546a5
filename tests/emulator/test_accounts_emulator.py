"""Issue 5 in the emulator: a cross-account, cross-region peering is accepted and routed through the
accepter role; a requester outside AllowedRequesterAccounts ends rejected with nothing changed.

The emulator runs in-process here (same server, same seams as `peering local up`) so that the test
can redeploy the stack with other guardrails, as `sam deploy --parameter-overrides` would.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import boto3
import pytest

from peering_tools import seed
from peering_tools.emulator import Emulator
from tests.workflow.test_cross_account_region import build_a, build_b, peer, routes_to

pytestmark = pytest.mark.emulator

PEER_ACCOUNT = "222222222222"
ROLE = "PeeringAutopilotAccepter"
STATUS = "peering-automation/status"
TIMEOUT = 30.0


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    running = Emulator(port=0, parameter_overrides={
        "AccepterRoleName": ROLE, "AccepterRoleExternalId": "ext-id-0123456789",
        "AllowedAccepterAccounts": f"123456789012,{PEER_ACCOUNT}"})
    running.start()
    try:
        yield running
    finally:
        running.stop()


def peer_client(emulator: Emulator, service: str, region: str):
    creds = emulator.client("sts").assume_role(RoleArn=f"arn:aws:iam::{PEER_ACCOUNT}:role/{ROLE}",
                                               RoleSessionName="test-setup")["Credentials"]
    return boto3.client(service, region_name=region, endpoint_url=emulator.url,
                        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"])


def final_status(ec2, pcx: str) -> str:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        found = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"][0]
        status = {t["Key"]: t["Value"] for t in found.get("Tags", [])}.get(STATUS)
        if status in ("routed", "verified", "failed", "rejected"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"{pcx} has no final status after {TIMEOUT:.0f} s")


def tables(ec2) -> list:
    return sorted((t["RouteTableId"], len(t["Routes"])) for t in ec2.describe_route_tables()["RouteTables"])


def test_cross_account_cross_region_peering_is_verified_through_the_accepter_role(emulator):
    ec2_a = emulator.client("ec2")
    ec2_b = peer_client(emulator, "ec2", "us-west-2")
    a, b = build_a(ec2_a), build_b(ec2_b)

    pcx = peer(ec2_a, a, b, PEER_ACCOUNT, "us-west-2")  # tagged at creation: CloudTrail -> rule -> intake

    assert final_status(ec2_a, pcx) == "verified"
    assert routes_to(ec2_a, a["rtb"], pcx) == ["10.7.0.0/16"]
    assert routes_to(ec2_b, b["rtb"], pcx) == ["10.6.0.0/16"], "the accepter's route, in its account and region"
    state = ec2_b.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"][0]
    assert state["Status"]["Code"] == "active"
    assert state["AccepterVpcInfo"]["PeeringOptions"]["AllowDnsResolutionFromRemoteVpc"] is True


def test_a_requester_outside_the_allow_list_is_rejected_and_nothing_changes(emulator):
    emulator.redeploy(AllowedRequesterAccounts="999999999999")
    try:
        ec2 = emulator.client("ec2")
        net = seed.build(ec2)
        before = tables(ec2)

        pcx = seed.request_peering(ec2, net)

        assert final_status(ec2, pcx) == "rejected"
        assert tables(ec2) == before
        found = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"][0]
        assert found["Status"]["Code"] == "pending-acceptance"
        reason = {t["Key"]: t["Value"] for t in found["Tags"]}["peering-automation/reason"]
        assert reason == "Requester account 123456789012 is not in AllowedRequesterAccounts (999999999999)."
    finally:
        emulator.redeploy(AllowedRequesterAccounts="")


def test_the_console_draws_the_peer_accounts_vpc_of_a_cross_account_run(emulator):
    """The local console's execution page data: both VPCs drawn, the accepter's read as its own account in its
    own region (the emulator holds both accounts), with the route the run created there."""
    import json
    import urllib.parse
    import urllib.request

    ec2_a = emulator.client("ec2")
    ec2_b = peer_client(emulator, "ec2", "us-west-2")
    a, b = build_a(ec2_a), build_b(ec2_b)  # new VPCs (10.6 and 10.7 again), a new peering
    pcx = peer(ec2_a, a, b, PEER_ACCOUNT, "us-west-2")
    assert final_status(ec2_a, pcx) == "verified"

    def get(path: str):
        with urllib.request.urlopen(f"{emulator.console_url}{path}", timeout=60) as answer:  # noqa: S310 - loopback
            return json.loads(answer.read())

    arn = next(r["executionArn"] for r in get("api/executions") if r["peeringId"] == pcx)
    network = get(f"api/execution?arn={urllib.parse.quote(arn)}")["network"]

    assert network["unreadable"] == []
    assert [(v["role"], v["vpcId"], v["accountId"], v["region"]) for v in network["vpcs"]] == [
        ("requester", a["vpc"], "123456789012", "us-east-1"), ("accepter", b["vpc"], PEER_ACCOUNT, "us-west-2")]
    accepter_routes = [r for t in network["vpcs"][1]["routeTables"] for r in t["routes"] if r["viaPeering"]]
    assert [(r["destination"], r["target"]) for r in accepter_routes] == [("10.6.0.0/16", pcx)]
    assert network["peering"]["state"] == "active"
