"""The state document stays small whatever the VPCs' size: the plan and the per-route results live in the run store.

A plan of many chunks (``runstore.CHUNK_SIZE`` lowered so that a few dozen tables make many chunks) is applied by
the ApplyRoutes Distributed Map; every state's input and output in the execution history, and every handler's
event and result (the Map's items run as child executions, outside the history), stays under 64 KiB and does not
grow with the tables. Rollback reads the plan from the store and removes exactly the routes this run created.
"""

import json

import pytest

from peering import runstore
from peering.aws.ec2 import Ec2
from peering.errors import AwsCallFailed
from peering_tools import inprocess, seed
from tests.conftest import all_route_tables

TARGET = 64 * 1024
EXTRA_TABLES = 30
EXTRA_CIDRS = ("10.8.0.0/16", "10.9.0.0/16", "10.10.0.0/16", "10.11.0.0/16")
DNS_DENIED = "ModifyVpcPeeringConnectionOptions failed with UnauthorizedOperation: denied."


def largest_history_state(stack, arn: str) -> int:
    largest = 0
    for event in stack.history(arn):
        for name, details in event.items():
            if name.endswith("EventDetails") and isinstance(details, dict):
                for field in ("input", "output"):
                    largest = max(largest, len((details.get(field) or "").encode()))
    return largest


@pytest.fixture
def payloads(monkeypatch) -> list[int]:
    """The size of every in-process handler's event and result, child executions' included."""
    sizes: list[int] = []
    original = inprocess._module

    def module(code_dir, handler):
        fn = original(code_dir, handler)

        def wrapped(event, context):
            result = fn(event, context)
            sizes.extend((len(json.dumps(event).encode()), len(json.dumps(result).encode())))
            return result

        return wrapped

    monkeypatch.setattr(inprocess, "_module", module)
    return sizes


def grow(ec2, network) -> None:
    """EXTRA_TABLES more tables in each VPC and four more IPv4 blocks on B: many routes per side."""
    for vpc in (network.vpc_a, network.vpc_b):
        for _ in range(EXTRA_TABLES):
            ec2.create_route_table(VpcId=vpc)
    for cidr in EXTRA_CIDRS:
        ec2.associate_vpc_cidr_block(VpcId=network.vpc_b, CidrBlock=cidr)


def test_a_plan_of_many_chunks_is_applied_and_no_state_grows_with_it(make_stack, ec2, network, payloads,
                                                                      monkeypatch):
    monkeypatch.setattr(runstore, "CHUNK_SIZE", 8)
    stack = make_stack(RouteTableQuota="1000")
    small_run = stack.run(seed.request_peering(ec2, network), "small")
    assert json.loads(small_run["output"])["status"] == "verified"
    small_largest = largest_history_state(stack, small_run["executionArn"])
    network = seed.build(ec2)  # a second seed network (its own two VPCs), grown
    grow(ec2, network)
    payloads.clear()
    pcx = seed.request_peering(ec2, network)

    described = stack.run(pcx, "large")

    summary = json.loads(described["output"])
    requester_routes = (EXTRA_TABLES + 1) * (1 + len(EXTRA_CIDRS))  # A's tables x B's five blocks
    accepter_routes = EXTRA_TABLES + 1  # B's tables x A's one block
    assert summary["status"] == "verified"
    assert (summary["routesCreated"], summary["routesAlreadyPresent"]) == (requester_routes + accepter_routes, 0)
    both = [{"Name": "vpc-id", "Values": [network.vpc_a, network.vpc_b]}]
    made = [r for t in ec2.describe_route_tables(Filters=both)["RouteTables"] for r in t["Routes"]
            if r.get("VpcPeeringConnectionId") == pcx]
    assert len(made) == requester_routes + accepter_routes
    stored = [e for e in stack.history(described["executionArn"])
              if e.get("stateExitedEventDetails", {}).get("name") == "PlanRoutes"]
    plan = json.loads(stored[0]["stateExitedEventDetails"]["output"])["plan"]
    assert plan["chunks"] == -(-requester_routes // 8) + -(-accepter_routes // 8) > 20
    # no state and no handler payload grows with the plan (the old design grew ~0.4 KiB per table per VPC)
    largest = largest_history_state(stack, described["executionArn"])
    assert largest < TARGET and max(payloads) < TARGET
    assert largest - small_largest < 1024, (small_largest, largest)


def test_rollback_reads_the_plan_from_the_store_and_removes_exactly_this_runs_routes_in_every_chunk(
        make_stack, ec2, network, monkeypatch):
    monkeypatch.setattr(runstore, "CHUNK_SIZE", 4)
    monkeypatch.setattr(Ec2, "allow_remote_dns", lambda *a: (_ for _ in ()).throw(AwsCallFailed(DNS_DENIED)))
    stack = make_stack(RouteTableQuota="1000")
    grow(ec2, network)
    before = all_route_tables(ec2)
    pcx = seed.request_peering(ec2, network)

    described = stack.run(pcx)

    assert (described["status"], described["cause"]) == ("FAILED", DNS_DENIED)
    assert all_route_tables(ec2) == before, "every route this run created, in every chunk, was removed"
    prefix = runstore.prefix_for(described["executionArn"], pcx)
    rollback = stack.stored(runstore.rollback_key(prefix))
    created = [r for k in stack.stored(f"{prefix}chunks.json") for r in (stack.stored(
        runstore.applied_key(prefix, k["side"], k["index"])) or {"created": []})["created"]]
    assert len(created) == (EXTRA_TABLES + 1) * (2 + len(EXTRA_CIDRS))
    assert sorted(map(json.dumps, rollback["removed"])) == sorted(map(json.dumps, created))
    assert rollback["leftAlone"] == []


def test_rollback_refuses_a_plan_that_is_not_the_one_this_run_made_and_says_the_routes_may_remain(
        stack, ec2, network, monkeypatch):
    """The digest in the state document names the plan: a changed plan.json removes nothing."""
    def tamper_then_deny(self, peering_id, *roles):
        prefix = next(p for p in _prefixes(stack) if peering_id in p)
        plan = stack.stored(runstore.plan_key(prefix))
        plan["requester"]["create"] = []  # as if someone rewrote the stored plan
        import boto3
        boto3.client("s3").put_object(Bucket=stack.run_bucket, Key=runstore.plan_key(prefix),
                                      Body=json.dumps(plan).encode())
        raise AwsCallFailed(DNS_DENIED)

    monkeypatch.setattr(Ec2, "allow_remote_dns", tamper_then_deny)
    pcx = seed.request_peering(ec2, network)

    described = stack.run(pcx)

    assert described["status"] == "FAILED"
    assert described["cause"].startswith(DNS_DENIED.rstrip(".") + ". The rollback failed too (The route plan in s3://")
    assert described["cause"].endswith("is missing or is not the one this run made, so no route was removed): "
                                       "routes this run created may remain.")
    assert ("10.7.0.0/16", pcx) in seed.routes(ec2, network.rtb_a), "nothing was removed on a plan it cannot trust"


def _prefixes(stack) -> list[str]:
    import boto3
    listed = boto3.client("s3").list_objects_v2(Bucket=stack.run_bucket, Prefix="runs/").get("Contents", [])
    return sorted({o["Key"].rsplit("/", 1)[0] + "/" for o in listed if o["Key"].endswith("plan.json")})
