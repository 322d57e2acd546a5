"""The delete cleanup and the sweep, orchestrated against moto in-process (one account, one region), with the
stack's Deps but without deploying the stack: the fast counterpart of tests/workflow/test_cleanup.py and
test_sweeper.py, which run the real workflow.

moto 5.2.5 reports routes to a deleted peering as ``active`` (moto/ec2/models/route_tables.py:260-262); as
in tests/conftest.py's ``make_stack``, its Route.state is read as AWS reports it (``aws_route_state``)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from peering import cleanup, sweeper
from peering.config import EXECUTION_TAG, SKIP_TAG, STATUS_TAG, Settings
from peering.deps import Deps
from peering.errors import CleanupIncomplete, InvalidInput
from tests.conftest import ACCOUNT, REGION, aws_route_state

TRIGGER = "peering-automation/auto-accept"
WORKFLOW = "peering-autopilot"
EXECUTION = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{WORKFLOW}:pcx-1-abc"


@pytest.fixture
def ec2(monkeypatch):
    from moto.ec2.models.route_tables import Route

    monkeypatch.setattr(Route, "state", property(aws_route_state))
    with mock_aws():
        yield boto3.client("ec2", region_name=REGION)


class Metrics:
    def __init__(self):
        self.seen: dict[str, float] = {}

    def __call__(self, name: str, value: float) -> None:
        self.seen[name] = value


def flow(**settings) -> tuple[Deps, Metrics]:
    metrics = Metrics()
    defaults = {"stack_account_id": ACCOUNT, "workflow_name": WORKFLOW}
    return Deps.of(Settings(**{**defaults, **settings}), region=REGION, metric=metrics), metrics


def vpc(ec2, cidr: str) -> tuple[str, str]:
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    table = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"][0]
    return vpc_id, table["RouteTableId"]


def routes(ec2, table: str) -> list[tuple[str, str]]:
    found = ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Routes"]
    return sorted((r.get("DestinationCidrBlock", ""), r.get("VpcPeeringConnectionId") or r.get("GatewayId", ""))
                  for r in found)


def routed_peering(ec2, owned: bool = True, tags: dict[str, str] | None = None):
    """A↔B peered, each side's main table routed to the other through it (as the workflow would leave it)."""
    vpc_a, rtb_a = vpc(ec2, "10.6.0.0/16")
    vpc_b, rtb_b = vpc(ec2, "10.7.0.0/16")
    pcx = ec2.create_vpc_peering_connection(VpcId=vpc_a, PeerVpcId=vpc_b)["VpcPeeringConnection"][
        "VpcPeeringConnectionId"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    ec2.create_route(RouteTableId=rtb_a, DestinationCidrBlock="10.7.0.0/16", VpcPeeringConnectionId=pcx)
    ec2.create_route(RouteTableId=rtb_b, DestinationCidrBlock="10.6.0.0/16", VpcPeeringConnectionId=pcx)
    stack_tags = {STATUS_TAG: "verified", EXECUTION_TAG: EXECUTION} if owned else {}
    all_tags = {**stack_tags, **(tags or {})}
    if all_tags:
        ec2.create_tags(Resources=[pcx], Tags=[{"Key": k, "Value": v} for k, v in all_tags.items()])
    return pcx, rtb_a, rtb_b


# -- cleanup ---------------------------------------------------------------------------------------------------


def test_a_deleted_peering_of_the_stack_loses_its_blackholes_on_both_sides_and_nothing_else(ec2):
    pcx, rtb_a, rtb_b = routed_peering(ec2)
    ec2.create_tags(Resources=[rtb_b], Tags=[{"Key": "Name", "Value": "b-main"}])
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    workflow, metrics = flow()

    result = cleanup.Cleanup(workflow).clean(pcx)

    assert {(r.route_table_id, r.destination) for r in result.removed} == {(rtb_a, "10.7.0.0/16"),
                                                                           (rtb_b, "10.6.0.0/16")}
    assert all((r.account_id, r.region) == (ACCOUNT, REGION) for r in result.removed)
    assert (result.peering_state, result.left_alone, result.problems) == ("deleted", [], [])
    assert result.reason == f"Removed 2 route(s) to {pcx} (deleted) from {', '.join(sorted([rtb_a, rtb_b]))}."
    assert routes(ec2, rtb_a) == [("10.6.0.0/16", "local")] and routes(ec2, rtb_b) == [("10.7.0.0/16", "local")]
    assert metrics.seen == {"RoutesRemovedOnDelete": 2}
    again = cleanup.Cleanup(workflow).clean(pcx)
    assert again.removed == [] and again.reason == f"No route to {pcx} (deleted) had to be removed."


def test_routes_in_skipped_tables_stay_and_the_summary_counts_them(ec2):
    pcx, rtb_a, rtb_b = routed_peering(ec2)
    ec2.create_tags(Resources=[rtb_b], Tags=[{"Key": SKIP_TAG, "Value": "true"}])
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)

    result = cleanup.Cleanup(flow()[0]).clean(pcx)

    assert [(r.route_table_id, r.destination) for r in result.removed] == [(rtb_a, "10.7.0.0/16")]
    assert [(r.route_table_id, r.destination) for r in result.left_alone] == [(rtb_b, "10.6.0.0/16")]
    assert result.reason == (f"Removed 1 route(s) to {pcx} (deleted) from {rtb_a}; 1 were left alone (tables tagged "
                             "peering-automation/skip=true, or not a blackhole made by CreateRoute).")
    assert ("10.6.0.0/16", pcx) in routes(ec2, rtb_b)


@pytest.mark.parametrize("case", ["alive", "not the stack's", "another workflow's"])
def test_live_foreign_or_other_workflows_peerings_keep_their_routes(ec2, case):
    pcx, rtb_a, _ = routed_peering(ec2, owned=case != "not the stack's")
    if case != "alive":
        ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    workflow = flow(workflow_name="another-stack")[0] if case == "another workflow's" else flow()[0]

    result = cleanup.Cleanup(workflow).clean(pcx)

    assert result.removed == [] and ("10.7.0.0/16", pcx) in routes(ec2, rtb_a)
    expected = (f"{pcx} is active, not deleted, so its routes were left alone." if case == "alive" else
                f"{pcx} was never handled by this stack (it has no status tag from its workflow), so its routes were "
                "left alone.")
    assert result.reason == expected


def test_a_peering_ec2_does_not_describe_is_never_taken_for_gone(ec2):
    result = cleanup.Cleanup(flow()[0]).clean("pcx-0123456789abcdef0")
    assert (result.peering_state, result.removed) == ("not described", [])
    assert result.reason == ("pcx-0123456789abcdef0 is not described by EC2, so it is not known to be gone and its "
                             "routes were left alone.")


def test_a_side_in_an_account_the_stack_may_not_touch_is_a_problem_reported_then_raised(ec2):
    pcx, rtb_a, _ = routed_peering(ec2)
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    workflow = flow(allowed_requester_accounts=("999999999999",), allowed_accepter_accounts=("888888888888",))[0]

    with pytest.raises(CleanupIncomplete) as caught:
        cleanup.Cleanup(workflow).clean(pcx)
    assert str(caught.value) == (f"No route to {pcx} (deleted) had to be removed; 2 side(s) could not be cleaned: "
                                 f"Account {ACCOUNT} is not an allowed account, so its side was not touched. Account "
                                 f"{ACCOUNT} is not an allowed account, so its side was not touched.")
    quiet = cleanup.Cleanup(workflow).clean(pcx, raise_on_problem=False)
    assert len(quiet.problems) == 2 and ("10.7.0.0/16", pcx) in routes(ec2, rtb_a)


def test_the_summary_goes_to_the_stacks_topic(ec2):
    pcx, _, _ = routed_peering(ec2)
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="peering")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    result = cleanup.Cleanup(flow(topic_arn=topic)[0]).clean(pcx)
    silent = cleanup.Cleanup(flow(topic_arn=topic)[0]).clean(pcx, notify=False)

    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1 and silent.removed == []
    body = json.loads(messages[0]["Body"])
    assert body["Subject"] == f"Peering {pcx}: deleted, 2 route(s) removed"
    assert json.loads(body["Message"])["reason"] == result.reason


def test_a_delete_event_cleans_the_peering_it_names_and_other_events_change_nothing(ec2):
    from tests.conftest import load_event

    pcx, rtb_a, _ = routed_peering(ec2)
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    event = load_event("delete-peering.json")
    event["detail"]["requestParameters"]["vpcPeeringConnectionId"] = pcx
    other = json.loads(json.dumps(event))
    other["detail"]["eventName"] = "CreateTags"

    ignored = cleanup.Cleanup(flow()[0]).on_delete_event(other)
    assert (ignored.peering_id, ignored.peering_state, ignored.removed) == ("", "unknown", [])
    assert ignored.reason == "CreateTags from ec2.amazonaws.com is not DeleteVpcPeeringConnection."
    done = cleanup.Cleanup(flow()[0]).on_delete_event(event)
    assert done.peering_id == pcx and len(done.removed) == 2 and routes(ec2, rtb_a) == [("10.6.0.0/16", "local")]


# -- the sweep -------------------------------------------------------------------------------------------------


@pytest.fixture
def machine(ec2):
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(name=WORKFLOW, roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn", definition=json.dumps(
        {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}))["stateMachineArn"]
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(TableName="leases", KeySchema=[{"AttributeName": "peeringId", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "peeringId", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")
    return sfn, arn


def pending(ec2, value: str = "true") -> str:
    vpc_a, _ = vpc(ec2, "10.6.0.0/16")
    vpc_b, _ = vpc(ec2, "10.7.0.0/16")
    return ec2.create_vpc_peering_connection(
        VpcId=vpc_a, PeerVpcId=vpc_b, TagSpecifications=[{"ResourceType": "vpc-peering-connection",
                                                          "Tags": [{"Key": TRIGGER, "Value": value}]}]
    )["VpcPeeringConnection"]["VpcPeeringConnectionId"]


def sweep_flow(machine, **settings):
    return flow(state_machine_arn=machine[1], lease_table="leases", **settings)


def test_a_sweep_starts_each_tagged_pending_request_once_and_cleans_gone_peerings(ec2, machine):
    sfn, arn = machine
    first, second = pending(ec2), pending(ec2)
    pending(ec2, "false")
    gone, rtb_a, _ = routed_peering(ec2)
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=gone)
    workflow, metrics = sweep_flow(machine)
    event = {"id": "sweep-1", "time": "2026-12-01T00:00:00Z"}

    result = sweeper.sweep(workflow, event)

    assert sorted(r.peering_id for r in result.started) == sorted([first, second]) and result.skipped == []
    inputs = [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])
              for e in sfn.list_executions(stateMachineArn=arn)["executions"]]
    assert {i["peeringId"] for i in inputs} == {first, second}
    assert all(i["trigger"] == {"eventName": "Sweep", "eventId": "sweep-1", "eventTime": "2026-12-01T00:00:00Z"}
               for i in inputs)
    assert [c.peering_id for c in result.cleaned] == [gone] and routes(ec2, rtb_a) == [("10.6.0.0/16", "local")]
    assert result.reason == ("2 tagged request(s) pending: 2 started, 0 already handled; 1 gone peering(s) cleaned "
                             "up.")
    assert metrics.seen["SweepStarted"] == 2

    again = sweeper.sweep(workflow, {"id": "sweep-2"})
    assert again.started == [] and sorted(r.peering_id for r in again.skipped) == sorted([first, second])
    assert all(r.reason.startswith("Execution ") and "is already handling" in r.reason for r in again.skipped)
    assert again.reason == "2 tagged request(s) pending: 0 started, 2 already handled; 0 gone peering(s) cleaned up."
    assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 2


def test_a_request_whose_last_run_succeeded_for_real_is_skipped_and_a_duplicates_no_op_is_not(ec2, machine):
    """Step Functions has no call that ends an execution as SUCCEEDED with a chosen output; moto's execution
    record is set directly (and read back through DescribeExecution, so a moved seam fails here)."""
    from moto.stepfunctions.models import stepfunctions_backends

    sfn, arn = machine
    done, duplicate = pending(ec2), pending(ec2)
    for pcx, output in ((done, {"status": "verified"}), (duplicate, {"inspection": {"decision": "duplicate"}})):
        run = sfn.start_execution(stateMachineArn=arn, name=f"{pcx}-earlier", input="{}")["executionArn"]
        execution = next(e for m in stepfunctions_backends[ACCOUNT][REGION].state_machines for e in m.executions
                         if e.execution_arn == run)
        execution.status, execution.output = "SUCCEEDED", json.dumps(output)  # moto's Execution (a private seam)
        described = sfn.describe_execution(executionArn=run)
        assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", output), "moto's seam moved"

    result = sweeper.sweep(sweep_flow(machine)[0], {"id": "sweep-1"})

    assert [r.peering_id for r in result.started] == [duplicate]
    assert [(r.peering_id, r.started, r.reason) for r in result.skipped] == [
        (done, False, f"Execution {done}-earlier already handled {done}.")]


def test_with_allowed_taggers_the_sweep_starts_nothing_but_still_cleans(ec2, machine):
    pending(ec2)
    result = sweeper.sweep(sweep_flow(machine, allowed_taggers=("arn:aws:iam::123456789012:role/ops",))[0])
    assert result.started == [] and result.skipped == []
    assert result.reason == ("AllowedTaggers is set, so the sweep starts no request; 0 gone peering(s) cleaned up.")


def test_a_sweep_without_its_state_machine_setting_refuses_in_one_sentence(ec2):
    with pytest.raises(InvalidInput, match=r"^The sweeper has no STATE_MACHINE_ARN setting; redeploy the stack\.$"):
        sweeper.sweep(flow()[0], {})


def test_a_sweep_without_an_event_names_its_executions_after_the_time(ec2, machine):
    sfn, arn = machine
    pending(ec2)
    before = datetime.now(UTC).replace(microsecond=0)
    result = sweeper.sweep(sweep_flow(machine)[0], None)
    trigger = json.loads(sfn.describe_execution(executionArn=result.started[0].execution_arn)["input"])["trigger"]
    assert trigger["eventName"] == "Sweep" and trigger["eventId"] == f"sweep-{trigger['eventTime']}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", trigger["eventTime"]), trigger["eventTime"]
    at = datetime.strptime(trigger["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= at <= datetime.now(UTC), "the time is UTC, whatever the machine's time zone"


@pytest.fixture
def far_east(monkeypatch):
    """A local time zone nine hours ahead of UTC (a POSIX TZ string: no time zone database needed)."""
    monkeypatch.setenv("TZ", "JST-9")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_sweep_names_its_executions_after_utc_in_any_time_zone(ec2, machine, far_east):
    test_a_sweep_without_an_event_names_its_executions_after_the_time(ec2, machine)


def test_a_request_whose_lease_another_start_holds_is_skipped_not_started(ec2, machine):
    """Between ListExecutions and the start, another starter took the lease for an execution it has not started
    yet (``runs.holder_keeps``: it is being started): the sweep reports it skipped and starts nothing."""
    from peering.once import new_lease
    from peering.runs import execution_arn

    sfn, arn = machine
    pcx = pending(ec2)
    workflow = sweep_flow(machine)[0]
    now = int(time.time())
    held = new_lease(pcx, execution_arn(arn, f"{pcx}-elsewhere"), now, "CreateTags")
    assert workflow.leases().acquire(held, now) is None

    result = sweeper.sweep(workflow, {"id": "sweep-1"})

    assert result.started == [] and [(r.peering_id, r.started, r.reason) for r in result.skipped] == [
        (pcx, False, f"Execution {pcx}-elsewhere is being started for {pcx}.")]
    assert sfn.list_executions(stateMachineArn=arn)["executions"] == []
    assert result.reason == "1 tagged request(s) pending: 0 started, 1 already handled; 0 gone peering(s) cleaned up."


def deleted_peerings(ec2, count: int) -> list[tuple[str, str]]:
    """``count`` routed peerings of the stack, deleted: each with its requester's table."""
    made = [routed_peering(ec2) for _ in range(count)]
    for pcx, _, _ in made:
        ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    return [(pcx, rtb_a) for pcx, rtb_a, _ in made]


def test_a_sweep_describes_the_route_targets_once_and_cleans_from_that_description(ec2, machine):
    """One DescribeVpcPeeringConnections for the pending requests and one for every route target: the cleanup
    of each gone peering works from the sweep's description and does not read it again."""
    (first, rtb_a), (second, rtb_c) = deleted_peerings(ec2, 2)
    workflow = sweep_flow(machine)[0]
    described: list[dict] = []
    ec2_client_of(workflow).meta.events.register(
        "provide-client-params.ec2.DescribeVpcPeeringConnections", lambda params, **_: described.append(params))

    result = sweeper.sweep(workflow, {"id": "sweep-1"})

    assert sorted(c.peering_id for c in result.cleaned) == sorted([first, second])
    assert routes(ec2, rtb_a) == [("10.6.0.0/16", "local")] and routes(ec2, rtb_c) == [("10.6.0.0/16", "local")]
    assert [[f["Name"] for f in call.get("Filters", [])] for call in described] == [
        ["status-code", "tag-key"], ["vpc-peering-connection-id"]]


def test_a_gone_peering_that_cannot_be_cleaned_is_reported_and_the_sweep_cleans_the_others(ec2, machine):
    """The sweep never raises for one peering's cleanup: the problem is in its result, the next peering is still
    cleaned, and the next sweep tries again."""
    from botocore.exceptions import ClientError

    (broken, rtb_a), (fine, rtb_c) = deleted_peerings(ec2, 2)
    vpc_a = ec2.describe_route_tables(RouteTableIds=[rtb_a])["RouteTables"][0]["VpcId"]
    workflow = sweep_flow(machine)[0]

    def fail_for_a(params, **_):
        if params.get("Filters") and params["Filters"][0]["Values"] == [vpc_a]:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "try again"}}, "DescribeRouteTables")

    ec2_client_of(workflow).meta.events.register("provide-client-params.ec2.DescribeRouteTables", fail_for_a)
    result = sweeper.sweep(workflow, {"id": "sweep-1"})

    by_id = {c.peering_id: c for c in result.cleaned}
    assert by_id[broken].problems == [f"DescribeRouteTables for {vpc_a} failed with InternalError: try again."]
    assert by_id[fine].problems == [] and len(by_id[fine].removed) == 2
    assert routes(ec2, rtb_c) == [("10.6.0.0/16", "local")] and ("10.7.0.0/16", broken) in routes(ec2, rtb_a)
    assert result.reason.endswith("; 2 gone peering(s) cleaned up.")


# -- cleanup: what AWS does that moto does not, failures and races ----------------------------------------------


def ec2_client_of(workflow: Deps):
    """The cached EC2 client the workflow uses in its own account and region (faults are injected on it)."""
    return workflow.clients.client("ec2", ACCOUNT, REGION)


def test_a_peering_ec2_answers_not_found_for_is_not_taken_for_gone(ec2):
    """AWS answers DescribeVpcPeeringConnections for an unknown id with InvalidVpcPeeringConnectionID.NotFound
    (moto answers an empty list): either way, nothing is deleted."""
    from botocore.stub import Stubber

    workflow = flow()[0]
    with Stubber(ec2_client_of(workflow)) as stub:
        stub.add_client_error("describe_vpc_peering_connections", "InvalidVpcPeeringConnectionID.NotFound")
        result = cleanup.Cleanup(workflow).clean("pcx-0123456789abcdef0")
    assert (result.peering_state, result.removed) == ("not described", [])


def test_a_peering_with_a_status_tag_but_no_execution_of_the_workflow_is_not_the_stacks(ec2):
    pcx, rtb_a, _ = routed_peering(ec2, owned=False, tags={STATUS_TAG: "verified"})
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    result = cleanup.Cleanup(flow()[0]).clean(pcx)
    assert result.removed == [] and "was never handled by this stack" in result.reason
    assert cleanup.Cleanup(flow(workflow_name=None)[0]).clean(pcx, notify=False).removed != [], \
        "without a workflow name the status tag alone marks the stack's peering"


def test_a_side_that_fails_is_a_problem_and_the_other_side_is_still_cleaned(ec2):
    from botocore.exceptions import ClientError

    pcx, rtb_a, rtb_b = routed_peering(ec2)
    ec2.create_tags(Resources=[rtb_a], Tags=[{"Key": SKIP_TAG, "Value": "true"}])
    ec2.create_tags(Resources=[rtb_b], Tags=[{"Key": SKIP_TAG, "Value": "true"}])
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    vpc_a = ec2.describe_route_tables(RouteTableIds=[rtb_a])["RouteTables"][0]["VpcId"]
    workflow = flow()[0]

    both = cleanup.Cleanup(workflow).clean(pcx, notify=False)
    assert sorted(r.route_table_id for r in both.left_alone) == sorted([rtb_a, rtb_b])

    def fail_for_a(params, **_):
        if params.get("Filters") and params["Filters"][0]["Values"] == [vpc_a]:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "try again"}}, "DescribeRouteTables")

    ec2_client_of(workflow).meta.events.register("provide-client-params.ec2.DescribeRouteTables", fail_for_a)
    result = cleanup.Cleanup(workflow).clean(pcx, raise_on_problem=False)
    assert result.problems == [f"DescribeRouteTables for {vpc_a} failed with InternalError: try again."]
    assert [r.route_table_id for r in result.left_alone] == [rtb_b], "the side after the failed one was read"


def test_a_route_that_is_no_longer_the_stacks_blackhole_when_re_read_is_kept(ec2):
    """Between listing and deleting, someone points the route elsewhere: the re-read decides, not the list."""
    pcx, rtb_a, rtb_b = routed_peering(ec2)
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    vpc_a = ec2.describe_route_tables(RouteTableIds=[rtb_a])["RouteTables"][0]["VpcId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_a)
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    workflow = flow()[0]

    def replaced_meanwhile(params, **_):
        if params.get("RouteTableIds") == [rtb_a]:
            ec2.replace_route(RouteTableId=rtb_a, DestinationCidrBlock="10.7.0.0/16", GatewayId=igw)

    ec2_client_of(workflow).meta.events.register("provide-client-params.ec2.DescribeRouteTables",
                                                 replaced_meanwhile)
    result = cleanup.Cleanup(workflow).clean(pcx)

    assert [(r.route_table_id, r.destination) for r in result.removed] == [(rtb_b, "10.6.0.0/16")]
    assert [(r.route_table_id, r.destination) for r in result.left_alone] == [(rtb_a, "10.7.0.0/16")]
    assert ("10.7.0.0/16", igw) in routes(ec2, rtb_a)


def deleted_with(ec2, peer, **where) -> tuple[str, tuple[str, str], tuple[str, str]]:
    """A stack's peering from 10.6/16 (``ec2``) to 10.8/16 (``peer``'s client: another region or account, as
    ``where`` says), accepted and routed both ways, then deleted: the peering and each side's (VPC, table)."""
    vpc_a, rtb_a = vpc(ec2, "10.6.0.0/16")
    vpc_b, rtb_b = vpc(peer, "10.8.0.0/16")
    pcx = ec2.create_vpc_peering_connection(VpcId=vpc_a, PeerVpcId=vpc_b, **where)["VpcPeeringConnection"][
        "VpcPeeringConnectionId"]
    peer.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    ec2.create_route(RouteTableId=rtb_a, DestinationCidrBlock="10.8.0.0/16", VpcPeeringConnectionId=pcx)
    peer.create_route(RouteTableId=rtb_b, DestinationCidrBlock="10.6.0.0/16", VpcPeeringConnectionId=pcx)
    ec2.create_tags(Resources=[pcx], Tags=[{"Key": STATUS_TAG, "Value": "verified"},
                                           {"Key": EXECUTION_TAG, "Value": EXECUTION}])
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    return pcx, (vpc_a, rtb_a), (vpc_b, rtb_b)


def test_each_side_is_worked_in_its_own_account_and_region(ec2):
    """A side in an account the stack may not touch is reported by its own account; a side in another region
    is cleaned there."""
    west = boto3.client("ec2", region_name="eu-west-1")
    pcx, (_, rtb_a), (_, rtb_w) = deleted_with(ec2, west, PeerRegion="eu-west-1")

    result = cleanup.Cleanup(flow()[0]).clean(pcx)
    assert sorted((r.region, r.route_table_id) for r in result.removed) == sorted(
        [(REGION, rtb_a), ("eu-west-1", rtb_w)])

    peering = flow()[0].ec2().peering(pcx)
    foreign = replace(peering, accepter=replace(peering.accepter, account_id="999999999999"))
    kept = cleanup.Cleanup(flow()[0]).clean(pcx, foreign, raise_on_problem=False)
    assert kept.problems == ["Account 999999999999 is not an allowed account, so its side was not touched."]


def test_a_side_in_another_allowed_account_is_cleaned_there_through_the_accepter_role(ec2):
    """moto holds every account: the peer's VPC is made as the peer account (moto's ``x-moto-account-id``
    header), and STS AssumeRole into the peer account gives credentials moto maps to it."""
    peer_account = "210987654321"
    peer = boto3.client("ec2", region_name=REGION)
    peer.meta.events.register("before-sign", lambda request, **_: request.headers.__setitem__(
        "x-moto-account-id", peer_account))
    pcx, (vpc_a, rtb_a), (vpc_b, rtb_b) = deleted_with(ec2, peer, PeerOwnerId=peer_account)
    workflow = flow(allowed_accepter_accounts=(peer_account,), accepter_role_name="Accepter")[0]

    result = cleanup.Cleanup(workflow).clean(pcx)

    assert sorted((r.account_id, r.vpc_id, r.route_table_id) for r in result.removed) == sorted(
        [(ACCOUNT, vpc_a, rtb_a), (peer_account, vpc_b, rtb_b)])
    assert routes(peer, rtb_b) == [("10.8.0.0/16", "local")] and routes(ec2, rtb_a) == [("10.6.0.0/16", "local")]


def test_a_side_whose_account_or_region_is_not_recorded_is_worked_in_the_stacks_own(ec2):
    pcx, rtb_a, rtb_b = routed_peering(ec2)
    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    peering = flow()[0].ec2().peering(pcx)
    unrecorded = replace(peering, requester=replace(peering.requester, account_id="", region=""))
    result = cleanup.Cleanup(flow()[0]).clean(pcx, unrecorded)
    assert sorted((r.account_id, r.region, r.route_table_id) for r in result.removed) == sorted(
        [(ACCOUNT, REGION, rtb_a), (ACCOUNT, REGION, rtb_b)])


def test_events_that_name_no_deleted_peering_are_refused_in_one_sentence():
    from tests.conftest import load_event

    assert cleanup.peering_id_from_event({"detail": "nothing"}) == (
        None, "The event is not a CloudTrail API call event.")
    event = load_event("delete-peering.json")
    event["detail"]["requestParameters"] = {}
    assert cleanup.peering_id_from_event(event) == (None, "The DeleteVpcPeeringConnection call names no peering "
                                                          "connection.")
