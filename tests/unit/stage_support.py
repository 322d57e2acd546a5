"""What the fast stage tests share: a Deps on moto in-process (one account; the ``moto`` fixture is in
tests/unit/conftest.py), VPCs, peerings, and a recorder of the EC2 calls each client makes (botocore's
``before-parameter-build`` event, with the parameters as given), so that the region of each call is seen as it
was made and not inferred from moto's records, which it shares between regions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import boto3

from peering.config import CONSENT_TAG, Settings
from peering.deps import Deps
from tests.conftest import ACCOUNT, REGION

WORKFLOW = "peering-autopilot"
BUCKET = "runs"
TRIGGER = "peering-automation/auto-accept"


class Metrics:
    def __init__(self) -> None:
        self.seen: dict[str, float] = {}

    def __call__(self, name: str, value: float) -> None:
        self.seen[name] = self.seen.get(name, 0) + value


@dataclass
class Calls:
    """EC2 calls as made: (region, operation, parameters)."""

    made: list[tuple[str, str, dict]] = field(default_factory=list)

    def of(self, operation: str) -> list[tuple[str, dict]]:
        return [(region, params) for region, name, params in self.made if name == operation]


def deps(metrics: Metrics | None = None, **settings) -> Deps:
    defaults = {"stack_account_id": ACCOUNT, "workflow_name": WORKFLOW}
    return Deps.of(Settings(**{**defaults, **settings}), region=REGION, metric=metrics or Metrics())


def record(flow: Deps, calls: Calls, *regions: str, account: str = ACCOUNT) -> Calls:
    """Record every EC2 call the flow's clients make in ``regions`` (the flow's own by default)."""
    for region in regions or (flow.region,):
        client = flow.clients.client("ec2", account, region)

        def seen(params, model, region=region, **_):
            calls.made.append((region, model.name, dict(params)))

        client.meta.events.register("before-parameter-build.ec2", seen)
    return calls


def vpc(ec2, cidr: str) -> str:
    return ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]


def peering(region: str = REGION, peer_region: str | None = None, tags: dict[str, str] | None = None) -> str:
    """A pending request from a 10.6/16 VPC in ``region`` to a 10.7/16 VPC in ``peer_region`` (the same by
    default)."""
    return request(region, peer_region, tags)[0]


def request(region: str = REGION, peer_region: str | None = None, tags: dict[str, str] | None = None,
            consent: str | None = None, cidrs: tuple[str, str] = ("10.6.0.0/16", "10.7.0.0/16"),
            ) -> tuple[str, str, str]:
    """A pending request (``peering``), with both VPCs' consent tag set to ``consent`` when given: the
    peering and the requester's and accepter's VPC ids."""
    ec2 = boto3.client("ec2", region_name=region)
    peer = boto3.client("ec2", region_name=peer_region or region)
    spec = [{"ResourceType": "vpc-peering-connection", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}] \
        if tags else []
    vpc_a, vpc_b = vpc(ec2, cidrs[0]), vpc(peer, cidrs[1])
    if consent is not None:
        for client, vpc_id in ((ec2, vpc_a), (peer, vpc_b)):
            client.create_tags(Resources=[vpc_id], Tags=[{"Key": CONSENT_TAG, "Value": consent}])
    pcx = ec2.create_vpc_peering_connection(VpcId=vpc_a, PeerVpcId=vpc_b, PeerRegion=peer_region or region,
                                            TagSpecifications=spec)["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    return pcx, vpc_a, vpc_b


def set_state(peering_id: str, code: str) -> None:
    """Put the peering in a state moto never reaches by itself (provisioning, initiating-request): moto's
    VPCPeeringConnection status (a private seam; read back through DescribeVpcPeeringConnections, so a moved
    seam fails the check below)."""
    from moto.ec2.models import ec2_backends

    ec2_backends[ACCOUNT][REGION].vpc_pcxs[peering_id]._status.code = code
    assert boto3.client("ec2", region_name=REGION).describe_vpc_peering_connections(
        VpcPeeringConnectionIds=[peering_id])["VpcPeeringConnections"][0]["Status"]["Code"] == code, "seam moved"


def tags_of(peering_id: str, region: str = REGION) -> dict[str, str]:
    found = boto3.client("ec2", region_name=region).describe_vpc_peering_connections(
        VpcPeeringConnectionIds=[peering_id])["VpcPeeringConnections"][0]
    return {t["Key"]: t["Value"] for t in found.get("Tags", [])}


def state_machine() -> str:
    """A state machine that succeeds at once, and the lease table, as the stack has them."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(name=WORKFLOW, roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn", definition=json.dumps(
        {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}))["stateMachineArn"]
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName="leases", KeySchema=[{"AttributeName": "peeringId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "peeringId", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    return arn


def executions(arn: str) -> list[dict]:
    """Every execution of the state machine with its input, oldest first."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    listed = sfn.list_executions(stateMachineArn=arn)["executions"]
    return [{**e, "input": json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])}
            for e in sorted(listed, key=lambda e: e["startDate"])]


def leases() -> dict[str, dict]:
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName="leases")["Items"]
    return {item["peeringId"]["S"]: item for item in items}
