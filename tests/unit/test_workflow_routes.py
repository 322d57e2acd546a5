"""The route stages (``peering.workflow.routes``) on a Deps against moto in-process (EC2 and the run store in
S3): the plan kept in the store and referenced from the state, each chunk applied once (a re-run finds its routes
present), a chunk that fails leaves its own sentence, Rollback removes exactly this run's routes, and DNS is allowed
per place (the fast counterpart of tests/workflow's route paths, without Step Functions' Map)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from peering import runstore
from peering.errors import AwsCallFailed, InvalidInput, PeeringNotActive, PeeringNotFound
from peering.models import ApplyRequest, ChunkRef, WorkflowState
from peering.workflow import routes as stage
from peering.workflow.inspect import inspect
from tests.conftest import ACCOUNT, REGION
from tests.unit.stage_support import BUCKET, TRIGGER, Calls, Metrics, deps, record, request, set_state

EXECUTION = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:peering-autopilot:run-1"


def objects() -> dict[str, object]:
    s3 = boto3.client("s3", region_name=REGION)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    return {key: json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) for key in keys}


def extra_table(vpc_id: str) -> str:
    """A second route table of the VPC (the plan routes every table of each side)."""
    return boto3.client("ec2", region_name=REGION).create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]


def routes_in(vpc_id: str) -> list[tuple[str, str, str]]:
    tables = boto3.client("ec2", region_name=REGION).describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    return sorted((t["RouteTableId"], r.get("DestinationCidrBlock", ""), r.get("VpcPeeringConnectionId") or
                   r.get("GatewayId", "")) for t in tables for r in t["Routes"])


def active_run(**settings):
    """An active, consented peering inspected by this run, the Deps and the state document after Inspect."""
    pcx, vpc_a, vpc_b = request(tags={TRIGGER: "true"}, consent="*")
    boto3.client("ec2", region_name=REGION).accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    metrics = Metrics()
    flow = deps(metrics, run_bucket=BUCKET, **settings)
    state = WorkflowState(peering_id=pcx, execution_arn=EXECUTION)
    state = state.model_copy(update={"inspection": inspect(flow, state)})
    return pcx, vpc_a, vpc_b, flow, state, metrics


def chunks_of(stored) -> list[ChunkRef]:
    return [ChunkRef.model_validate(ref) for ref in objects()[stored.manifest]]


def test_the_plan_is_kept_in_the_run_store_and_each_chunk_creates_its_routes_once(bucket, monkeypatch):
    monkeypatch.setattr(runstore, "CHUNK_SIZE", 1)  # one route per chunk: several chunks per side
    pcx, vpc_a, vpc_b, flow, state, metrics = active_run()
    table_a2 = extra_table(vpc_a)

    stored = stage.plan_routes(flow, state)

    prefix = "runs/run-1/"
    assert (stored.bucket, stored.prefix, stored.chunks, stored.chunk_size) == (BUCKET, prefix, 3, 1)
    assert (stored.requester.create, stored.accepter.create) == (2, 1)
    kept = objects()
    assert stored.digest == runstore.digest(stage.RoutePlan.model_validate(kept[runstore.plan_key(prefix)]))
    manifest = chunks_of(stored)
    assert [(c.side, c.index) for c in manifest] == [("requester", 0), ("accepter", 0), ("requester", 1)]
    assert routes_in(vpc_a) == sorted([(t, "10.6.0.0/16", "local") for t in {r[0] for r in routes_in(vpc_a)}])

    without_setting = deps(metrics)  # ApplyRoutes works from the stored plan's bucket, whatever its own setting
    applied = [stage.apply_chunk(without_setting, ApplyRequest(peering_id=pcx, plan=stored, chunk=c))
               for c in manifest]

    assert [(a.side, a.index, a.created, a.already_present) for a in applied] == [
        ("requester", 0, 1, 0), ("accepter", 0, 1, 0), ("requester", 1, 1, 0)]
    assert {(t, d, target) for t, d, target in routes_in(vpc_a) if target == pcx} == {
        (t, "10.7.0.0/16", pcx) for t in {r[0] for r in routes_in(vpc_a)}} and table_a2 in str(routes_in(vpc_a))
    assert [(d, target) for _, d, target in routes_in(vpc_b) if target == pcx] == [("10.6.0.0/16", pcx)]
    assert sorted(k for k in objects() if "/applied/" in k) == [
        f"{prefix}applied/accepter-00000.json", f"{prefix}applied/requester-00000.json",
        f"{prefix}applied/requester-00001.json"]
    assert metrics.seen == {"RoutesCreated": 3}
    assert objects()[f"{prefix}applied/accepter-00000.json"] == {
        "side": "accepter", "alreadyPresent": [],
        "created": [{"routeTableId": routes_in(vpc_b)[0][0], "destination": "10.6.0.0/16"}]}

    again = stage.apply_chunk(flow, ApplyRequest(peering_id=pcx, plan=stored, chunk=manifest[0]))
    assert (again.created, again.already_present) == (0, 1) and metrics.seen == {"RoutesCreated": 3}


def test_a_chunk_the_run_store_does_not_hold_for_that_side_is_refused_and_creates_nothing(bucket):
    pcx, vpc_a, _, flow, state, _ = active_run()
    stored = stage.plan_routes(flow, state)
    requester = next(c for c in chunks_of(stored) if c.side == "requester")
    planted = "runs/another-run/chunks/requester-00000.json"  # a real chunk, of another run's prefix
    s3 = boto3.client("s3", region_name=REGION)
    s3.copy_object(Bucket=BUCKET, Key=planted, CopySource={"Bucket": BUCKET, "Key": requester.key})
    for chunk in (ChunkRef(side="accepter", index=0, key=requester.key),
                  ChunkRef(side="requester", index=0, key=planted),
                  ChunkRef(side="requester", index=7, key=f"{stored.prefix}chunks/requester-00007.json")):
        with pytest.raises(InvalidInput, match=rf"^The run store has no {chunk.side} chunk {chunk.index} of this "
                                               r"run's plan \(s3://runs/runs/run-1/\), so no route was created "
                                               r"from it\.$"):
            stage.apply_chunk(flow, ApplyRequest(peering_id=pcx, plan=stored, chunk=chunk))
    assert [r for r in routes_in(vpc_a) if r[2] == pcx] == []


def failing_create(flow, error: Exception):
    def fail(params, **_):
        raise error
    flow.clients.client("ec2", ACCOUNT, REGION).meta.events.register("provide-client-params.ec2.CreateRoute", fail)


def test_a_chunk_that_fails_keeps_its_own_sentence_in_the_run_store_and_raises(bucket):
    pcx, _, _, flow, state, _ = active_run()
    stored = stage.plan_routes(flow, state)
    chunk = chunks_of(stored)[0]
    failing_create(flow, ClientError({"Error": {"Code": "RouteLimitExceeded", "Message": "too many"}}, "CreateRoute"))

    with pytest.raises(AwsCallFailed) as failed:
        stage.apply_chunk(flow, ApplyRequest(peering_id=pcx, plan=stored, chunk=chunk))

    kept = objects()[runstore.failed_key(stored.prefix, chunk.side, chunk.index)]
    assert kept == {"error": "AwsCallFailed", "message": str(failed.value)}
    assert runstore.applied_key(stored.prefix, chunk.side, chunk.index) not in objects()


def test_a_defect_while_applying_is_kept_as_unexpected_with_its_type(bucket, monkeypatch):
    from peering.aws.ec2 import Ec2

    pcx, _, _, flow, state, _ = active_run()
    stored = stage.plan_routes(flow, state)
    chunk = chunks_of(stored)[0]

    def broken(self, *args):
        raise KeyError("missing")

    monkeypatch.setattr(Ec2, "create_route", broken)
    with pytest.raises(KeyError):
        stage.apply_chunk(flow, ApplyRequest(peering_id=pcx, plan=stored, chunk=chunk))
    assert objects()[runstore.failed_key(stored.prefix, chunk.side, chunk.index)] == {
        "error": "Unexpected", "message": "The apply-routes stage failed unexpectedly (KeyError: 'missing')."}


def test_a_peering_deleted_while_routes_are_created_stops_by_name_and_a_merely_unseen_one_is_retried(bucket):
    pcx, _, _, flow, state, _ = active_run()
    stored = stage.plan_routes(flow, state)
    chunk = chunks_of(stored)[0]
    failing_create(flow, ClientError({"Error": {"Code": "InvalidVpcPeeringConnectionID.NotFound", "Message": "x"}},
                                     "CreateRoute"))
    with pytest.raises(PeeringNotFound):
        stage.apply_chunk(flow, ApplyRequest(peering_id=pcx, plan=stored, chunk=chunk))

    set_state(pcx, "rejected")
    with pytest.raises(PeeringNotActive, match=rf"^{pcx} became rejected while its routes were being created\.$"):
        stage.apply_chunk(flow, ApplyRequest(peering_id=pcx, plan=stored, chunk=chunk))

    def undescribed(**_):  # EC2 no longer describes it: an empty answer (botocore/client.py:1061-1069 takes a
        return AWSResponse("https://ec2", 200, {}, None), {"VpcPeeringConnections": []}  # before-call response)

    flow.clients.client("ec2", ACCOUNT, REGION).meta.events.register(
        "before-call.ec2.DescribeVpcPeeringConnections", undescribed)
    with pytest.raises(PeeringNotActive, match=rf"^{pcx} became deleted while its routes were being created\.$"):
        stage.apply_chunk(flow, ApplyRequest(peering_id=pcx, plan=stored, chunk=chunk))


def test_rollback_removes_this_runs_routes_only_and_lists_them_in_the_run_store(bucket):
    pcx, vpc_a, vpc_b, flow, state, _ = active_run()
    assert stage.rollback(flow, state) == stage.RollbackResult(), "no plan: nothing to roll back"
    stored = stage.plan_routes(flow, state)
    for chunk in chunks_of(stored):
        stage.apply_chunk(flow, ApplyRequest(peering_id=pcx, plan=stored, chunk=chunk))
    ec2 = boto3.client("ec2", region_name=REGION)
    [(table_a, _, _)] = [r for r in routes_in(vpc_a) if r[2] == pcx]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_a)
    ec2.replace_route(RouteTableId=table_a, DestinationCidrBlock="10.7.0.0/16", GatewayId=igw)  # not ours now
    without_setting = deps()  # Rollback works from the stored plan's bucket, whatever its own setting

    result = stage.rollback(without_setting, state.model_copy(update={"plan": stored}))

    assert (result.removed, result.left_alone) == (1, 1)
    assert result.details == f"s3://{BUCKET}/{stored.prefix}rollback.json"
    assert [r for r in routes_in(vpc_b) if r[2] == pcx] == [] and (table_a, "10.7.0.0/16", igw) in routes_in(vpc_a)
    kept = objects()[runstore.rollback_key(stored.prefix)]
    assert [(r["destination"]) for r in kept["removed"]] == ["10.6.0.0/16"]
    assert [(r["routeTableId"], r["destination"]) for r in kept["leftAlone"]] == [(table_a, "10.7.0.0/16")]


def test_rollback_of_a_side_with_nothing_created_still_rolls_back_the_other(bucket):
    pcx, vpc_a, vpc_b, flow, state, _ = active_run()
    [(table_a, _, _)] = routes_in(vpc_a)
    boto3.client("ec2", region_name=REGION).create_route(RouteTableId=table_a, DestinationCidrBlock="10.7.0.0/16",
                                                         VpcPeeringConnectionId=pcx)  # there before the run
    stored = stage.plan_routes(flow, state)
    assert (stored.requester.create, stored.requester.present, stored.accepter.create) == (0, 1, 1)
    for chunk in chunks_of(stored):
        stage.apply_chunk(flow, ApplyRequest(peering_id=pcx, plan=stored, chunk=chunk))

    result = stage.rollback(flow, state.model_copy(update={"plan": stored}))

    assert (result.removed, result.left_alone) == (1, 0)
    assert [r for r in routes_in(vpc_b) if r[2] == pcx] == [] and (table_a, "10.7.0.0/16", pcx) in routes_in(vpc_a)


def test_routes_are_created_and_removed_eight_at_a_time_in_the_callers_context(bucket, monkeypatch):
    """A side's routes go out through a pool of ROUTE_WORKERS (8) threads, each running in a copy of the caller's
    context (tracing follows the call): the first eight calls wait until all eight are in flight together."""
    import contextvars
    import threading

    from peering.aws.ec2 import Ec2

    pcx, vpc_a, vpc_b, flow, state, _ = active_run()
    for _ in range(9):
        extra_table(vpc_a)
    stored = stage.plan_routes(flow, state)
    assert stored.requester.create == 10
    caller = contextvars.ContextVar("caller", default="none")
    caller.set("the stage")
    seen: list[str] = []
    together = threading.Barrier(stage.ROUTE_WORKERS, timeout=10)
    lock = threading.Lock()

    def gathered(original):
        calls = iter(range(1_000))

        def call(self, *args):
            with lock:
                n = next(calls)
                seen.append(caller.get())
            if n < stage.ROUTE_WORKERS:
                together.wait()  # BrokenBarrierError when fewer than eight run at once
            return original(self, *args)
        return call

    monkeypatch.setattr(Ec2, "create_route", gathered(Ec2.create_route))
    chunk = next(c for c in chunks_of(stored) if c.side == "requester")
    assert stage.apply_chunk(flow, ApplyRequest(peering_id=pcx, plan=stored, chunk=chunk)).created == 10
    assert seen == ["the stage"] * 10

    seen.clear()
    together.reset()
    monkeypatch.setattr(Ec2, "delete_route", gathered(Ec2.delete_route))
    assert stage.rollback(flow, state.model_copy(update={"plan": stored})).removed == 10
    assert seen == ["the stage"] * 10


def test_shadowing_routes_are_planned_only_when_allowed(bucket):
    from peering.errors import RouteConflict

    pcx, vpc_a, vpc_b, flow, state, _ = active_run()
    ec2 = boto3.client("ec2", region_name=REGION)
    [(table_a, _, _)] = routes_in(vpc_a)
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_a)
    ec2.create_route(RouteTableId=table_a, DestinationCidrBlock="10.7.0.0/24", GatewayId=igw)
    with pytest.raises(RouteConflict):
        stage.plan_routes(flow, state)
    allowed = deps(run_bucket=BUCKET, allow_shadowing=True)
    assert stage.plan_routes(allowed, state).requester.shadowed == 1


def test_a_plan_made_outside_an_execution_is_kept_under_the_peerings_id(bucket):
    pcx, _, _, flow, state, _ = active_run()
    stored = stage.plan_routes(flow, state.model_copy(update={"execution_arn": None}))
    assert stored.prefix == f"runs/{pcx}/" and runstore.plan_key(stored.prefix) in objects()


def test_the_state_document_and_the_plans_reference_are_measured_as_plan_routes_leaves_them(bucket):
    """The guard's verdict turns on exact sizes (``runstore.guard``): the document as PlanRoutes receives it
    (camelCase, no nulls), the stored plan's own reference, and two flows per probe target. With an input that
    brings the projection to the limit PlanRoutes refuses before it stores anything; one byte less, it plans."""
    from peering.errors import LimitExceeded

    pcx, _, _, flow, state, _ = active_run(max_probe_targets=3)
    stored = stage.plan_routes(flow, state)  # the reference does not depend on the input: measure it once
    fixed = (len(runstore.canonical(stored.wire())) + len('"plan":,') + runstore.LATER_BYTES
             + 2 * 3 * runstore.FLOW_BYTES)

    def padded(pad: int) -> WorkflowState:
        return state.model_copy(update={"input": {"pad": "x" * pad}})

    def size(pad: int) -> int:
        return len(runstore.canonical(padded(pad).model_dump(mode="json", by_alias=True, exclude_none=True)))

    at_limit = runstore.STATE_LIMIT - fixed - size(0)
    assert size(at_limit) + fixed == runstore.STATE_LIMIT
    boto3.client("s3", region_name=REGION).delete_object(Bucket=BUCKET, Key=runstore.plan_key(stored.prefix))
    with pytest.raises(LimitExceeded):
        stage.plan_routes(flow, padded(at_limit))
    assert runstore.plan_key(stored.prefix) not in objects()
    assert stage.plan_routes(flow, padded(at_limit - 1)) == stored


def test_rollback_of_a_plan_that_is_not_this_runs_removes_nothing(bucket):
    pcx, vpc_a, _, flow, state, _ = active_run()
    stored = stage.plan_routes(flow, state)
    for chunk in chunks_of(stored):
        stage.apply_chunk(flow, ApplyRequest(peering_id=pcx, plan=stored, chunk=chunk))
    sentence = (r"^The route plan in s3://runs/runs/run-1/ is missing or is not the one this run made, so no route "
                r"was removed\.$")
    with pytest.raises(AwsCallFailed, match=sentence):
        stage.rollback(flow, state.model_copy(update={"plan": stored.model_copy(update={"digest": "0" * 64})}))
    boto3.client("s3", region_name=REGION).delete_object(Bucket=BUCKET, Key=runstore.plan_key(stored.prefix))
    with pytest.raises(AwsCallFailed, match=sentence):
        stage.rollback(flow, state.model_copy(update={"plan": stored}))
    assert len([r for r in routes_in(vpc_a) if r[2] == pcx]) == 1


def test_dns_is_allowed_for_both_sides_in_one_call_per_place_or_not_at_all_when_disabled(bucket):
    pcx, _, _, flow, state, _ = active_run()
    calls = record(flow, Calls())
    result = stage.configure_dns(flow, state)
    assert result == stage.DnsResult(enabled=True, sides={"requester": True, "accepter": True},
                                     reason="Each side resolves the other's private DNS names.")
    [(_, params)] = calls.of("ModifyVpcPeeringConnectionOptions")
    assert params == {"VpcPeeringConnectionId": pcx,
                      "RequesterPeeringConnectionOptions": {"AllowDnsResolutionFromRemoteVpc": True},
                      "AccepterPeeringConnectionOptions": {"AllowDnsResolutionFromRemoteVpc": True}}

    off = deps(enable_dns_resolution=False)
    calls = record(off, Calls())
    assert stage.configure_dns(off, state) == stage.DnsResult(enabled=False, reason="EnableDnsResolution is false.")
    assert calls.made == []
