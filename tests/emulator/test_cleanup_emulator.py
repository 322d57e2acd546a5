"""Deleting a peering against `peering local up` with the AWS CLI: the emulator's CloudTrail event
reaches the CleanupFunction through its EventBridge rule, which removes the routes on both sides -
and only those."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from peering_tools import seed
from tests.conftest import consent
from tests.emulator.test_local_up import REGION, child_env, routes_to, server, wait_for_status  # noqa: F401

pytestmark = pytest.mark.emulator

CLEANUP_TIMEOUT = 30.0


def wait_until_no_route(ec2, tables: list[str], pcx: str, timeout: float = CLEANUP_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(routes_to(ec2, table, pcx) for table in tables):
            return
        time.sleep(0.2)
    raise AssertionError(f"routes to {pcx} still in {tables} after {timeout:.0f} s")


def test_deleting_an_active_peering_with_the_aws_cli_removes_its_routes_on_both_sides_only(server):  # noqa: F811
    ec2 = server.client("ec2")
    net = seed.build(ec2)
    pcx = seed.request_peering(ec2, net)
    assert wait_for_status(ec2, pcx) == "verified"
    vpc_c = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    consent(ec2, vpc_c, net.vpc_a)
    consent(ec2, net.vpc_a, net.vpc_b, vpc_c)
    rtb_c = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_c]}])["RouteTables"][0][
        "RouteTableId"]
    other = ec2.create_vpc_peering_connection(
        VpcId=net.vpc_a, PeerVpcId=vpc_c, TagSpecifications=[{"ResourceType": "vpc-peering-connection", "Tags": [
            {"Key": seed.TRIGGER_TAG, "Value": "true"}]}])["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    assert wait_for_status(ec2, other) in ("routed", "verified")
    assert routes_to(ec2, net.rtb_a, pcx) == ["10.7.0.0/16"] and routes_to(ec2, net.rtb_b, pcx) == ["10.6.0.0/16"]

    cli = subprocess.run(
        [sys.executable, "-m", "awscli", "ec2", "delete-vpc-peering-connection", "--vpc-peering-connection-id", pcx,
         "--endpoint-url", server.url, "--region", REGION],
        capture_output=True, text=True, timeout=60, env=child_env(),
    )

    assert cli.returncode == 0, cli.stderr
    wait_until_no_route(ec2, [net.rtb_a, net.rtb_b], pcx)
    assert seed.routes(ec2, net.rtb_a) == sorted(
        [("0.0.0.0/0", net.igw_a), ("10.6.0.0/16", "local"), ("10.9.0.0/16", other)])
    assert seed.routes(ec2, net.rtb_b) == [("10.7.0.0/16", "local")]
    assert routes_to(ec2, rtb_c, other) == ["10.6.0.0/16"]
