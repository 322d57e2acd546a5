"""Who may connect what, tried as an attacker and as a careless user would, against `peering local up`:
each escalation is refused in one sentence and changes no route table.

The emulator runs with AllowedTaggers naming one role and MaxPeeringsPerEvent=2. The network engineer
works through that role (STS in the emulator); everyone else uses plain credentials.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time

import boto3
import pytest

from peering_tools import seed
from tests.emulator.test_local_up import (
    CREDENTIALS,
    READY_TIMEOUT,
    REGION,
    child_env,
    executions_for,
    free_port,
    stop,
    tags_of,
    wait_for_status,
)

pytestmark = pytest.mark.emulator
ACCOUNT = "123456789012"
ADMIN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/NetworkAdmin"
REASON_TAG = "peering-automation/reason"


@pytest.fixture(scope="module")
def emulator():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "peering_tools.cli", "local", "up", "--port", str(port), "--parameter-overrides",
         f"AllowedTaggers={ADMIN_ROLE} MaxPeeringsPerEvent=2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env())
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if lines.get(timeout=1).startswith(f"ready: {url}"):
                break
        except queue.Empty:
            if process.poll() is not None:
                pytest.fail(f"`peering local up` ended: {process.stderr.read()}")
    else:
        process.kill()
        pytest.fail("`peering local up` printed no ready line")
    yield url
    stop(process)


def clients(url: str):
    plain = boto3.client("ec2", region_name=REGION, endpoint_url=url, **CREDENTIALS)
    sts = boto3.client("sts", region_name=REGION, endpoint_url=url, **CREDENTIALS)
    creds = sts.assume_role(RoleArn=ADMIN_ROLE, RoleSessionName="engineer")["Credentials"]
    admin = boto3.client("ec2", region_name=REGION, endpoint_url=url, aws_access_key_id=creds["AccessKeyId"],
                         aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    return plain, admin


def tables(ec2) -> list:
    """Every route of every table, except the local route each new VPC's main table is born with."""
    return sorted((t["RouteTableId"], r.get("DestinationCidrBlock"), r.get("GatewayId") or r.get(
        "VpcPeeringConnectionId") or r.get("TransitGatewayId"), r.get("State"))
        for t in ec2.describe_route_tables()["RouteTables"] for r in t["Routes"] if r.get("GatewayId") != "local")


def request(ec2, vpc: str, peer: str, tagged: bool = True) -> str:
    kwargs = {"VpcId": vpc, "PeerVpcId": peer}
    if tagged:
        kwargs["TagSpecifications"] = [{"ResourceType": "vpc-peering-connection",
                                        "Tags": [{"Key": seed.TRIGGER_TAG, "Value": "true"}]}]
    return ec2.create_vpc_peering_connection(**kwargs)["VpcPeeringConnection"]["VpcPeeringConnectionId"]


def vpc(ec2, cidr: str, consent: str | None = "*") -> str:
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    if consent is not None:
        ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": seed.CONSENT_TAG, "Value": consent}])
    return vpc_id


def refused(ec2, pcx: str, fragment: str) -> str:
    assert wait_for_status(ec2, pcx) == "rejected"
    reason = tags_of(ec2, pcx)[REASON_TAG]
    assert fragment in reason and reason.endswith(".") and "\n" not in reason, reason
    return reason


def test_each_escalation_is_refused_in_one_sentence_and_no_route_table_changes(emulator):
    plain, admin = clients(emulator)
    net = seed.build(admin)
    server = type("S", (), {"client": lambda self, service: boto3.client(
        service, region_name=REGION, endpoint_url=emulator, **CREDENTIALS)})()

    # anyone may tag, but only the NetworkAdmin role triggers: nothing is read or started
    before = tables(admin)
    by_someone = request(plain, net.vpc_a, net.vpc_b)
    time.sleep(3)
    assert executions_for(server, by_someone) == [] and "peering-automation/status" not in tags_of(admin, by_someone)
    admin.delete_vpc_peering_connection(VpcPeeringConnectionId=by_someone)

    # prod <-> sandbox: C accepts anyone, but A consented only to B
    sandbox = vpc(admin, "10.9.0.0/16")
    refused(admin, request(admin, net.vpc_a, sandbox), f"Requester VPC {net.vpc_a} (account {ACCOUNT}) does not "
                                                       f"consent to {sandbox}")
    assert tables(admin) == before

    # a public range, outside the default AllowedPeerCidrs, even with both consents
    public = vpc(admin, "198.51.100.0/24")
    admin.create_tags(Resources=[net.vpc_a], Tags=[{"Key": seed.CONSENT_TAG, "Value": f"{net.vpc_b},{public}"}])
    refused(admin, request(admin, net.vpc_a, public), "198.51.100.0/24, outside AllowedPeerCidrs")
    assert tables(admin) == before

    # the probe aimed outside both VPCs
    aimed = request(admin, net.vpc_a, net.vpc_b, tagged=False)
    admin.create_tags(Resources=[aimed], Tags=[{"Key": "peering-automation/probe-targets", "Value": "8.8.8.8:53"},
                                               {"Key": seed.TRIGGER_TAG, "Value": "true"}])
    refused(admin, aimed, "names 8.8.8.8, outside both VPCs")
    assert tables(admin) == before

    # an inspection path (a TGW route for part of B's range) would be shadowed: failed before any change
    tgw = admin.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    admin.create_route(RouteTableId=net.rtb_a, DestinationCidrBlock="10.7.0.0/17", TransitGatewayId=tgw)
    shadowed_before = tables(admin)
    shadowing = request(admin, net.vpc_a, net.vpc_b)
    assert wait_for_status(admin, shadowing) == "failed"
    assert "sends 10.7.0.0/17 to " + tgw in tags_of(admin, shadowing)[REASON_TAG]
    assert tables(admin) == shadowed_before

    # one CreateTags naming three peerings starts two runs (MaxPeeringsPerEvent=2)
    admin.delete_route(RouteTableId=net.rtb_a, DestinationCidrBlock="10.7.0.0/17")
    many = sorted(request(admin, net.vpc_a, net.vpc_b, tagged=False) for _ in range(3))
    admin.create_tags(Resources=many, Tags=[{"Key": seed.TRIGGER_TAG, "Value": "true"}])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and sum(bool(executions_for(server, p)) for p in many) < 2:
        time.sleep(0.2)
    time.sleep(2)
    assert [bool(executions_for(server, p)) for p in many] == [True, True, False]
