"""The report stage (``peering.workflow.report``): the outcome's status, stage and one sentence from the state
document (``summarize``, pure), and ``report`` on a Deps against moto in-process: route counts from the run store,
a failed chunk's own sentence, the notification, the metric, the status tag last (with the reason only on a
failure), and the lease given back."""

from __future__ import annotations

import json
from dataclasses import replace

import boto3
import pytest
from botocore.exceptions import ClientError

from peering import runstore
from peering.config import EXECUTION_TAG, REASON_TAG, STATUS_TAG
from peering.models import (
    AppliedRoutes,
    ApplyRequest,
    ChunkFailure,
    DnsResult,
    ErrorInfo,
    Inspection,
    RollbackResult,
    Status,
    Verification,
    WorkflowState,
)
from peering.workflow import routes
from peering.workflow.report import failure_sentence, report, summarize
from tests.conftest import ACCOUNT, REGION
from tests.unit.stage_support import BUCKET, TRIGGER, state_machine, tags_of
from tests.unit.test_workflow_routes import EXECUTION, active_run, chunks_of

PCX = "pcx-0a1b2c3d4e5f60718"


def lambda_error(message: str, error: str = "AwsCallFailed") -> ErrorInfo:
    return ErrorInfo(Error=error, Cause=json.dumps({"errorMessage": message, "errorType": error}))


# -- failure_sentence and summarize (pure) ---------------------------------------------------------------------


@pytest.mark.parametrize(("error", "sentence"), [
    (lambda_error("  CreateRoute failed.  "), "CreateRoute failed."),
    (ErrorInfo(Error="States.TaskFailed", Cause="  not json  "), "not json"),
    (ErrorInfo(Error="States.TaskFailed", Cause=json.dumps({"errorType": "X"})), '{"errorType": "X"}'),
    (ErrorInfo(Error="States.TaskFailed", Cause=json.dumps(["a list"])), '["a list"]'),
    (ErrorInfo(Error="States.Timeout"), "A stage timed out."),
    (ErrorInfo(Error="States.Timeout", Cause=json.dumps({"errorMessage": "The probe ran too long."})),
     "The probe ran too long."),
    (ErrorInfo(Error="States.TaskFailed"), "The workflow failed with States.TaskFailed."),
    (ErrorInfo(Error="States.TaskFailed", Cause="   "), "The workflow failed with States.TaskFailed."),
])
def test_a_failure_is_one_sentence_from_the_lambdas_message_or_the_cause_or_the_error(error, sentence):
    assert failure_sentence(error) == sentence


def test_a_failed_run_says_why_and_at_which_stage_and_a_failed_rollback_adds_that_routes_may_remain():
    failed = summarize(WorkflowState(peering_id=PCX, execution_arn=EXECUTION, error=lambda_error("Boom.")))
    assert (failed.status, failed.stage, failed.reason, failed.execution_arn) == (
        Status.FAILED, "inspect", "Boom.", EXECUTION)

    both = summarize(WorkflowState(peering_id=PCX, error=lambda_error("Boom."),
                                   rollback_error=lambda_error("DeleteRoute failed.")))
    assert both.reason == ("Boom. The rollback failed too (DeleteRoute failed): routes this run created may "
                           "remain.")
    own_ending = summarize(WorkflowState(peering_id=PCX, error=lambda_error("Throttled by EC2 in table APP-X."),
                                         rollback_error=lambda_error("No route in APP-X.")))
    assert own_ending.reason == ("Throttled by EC2 in table APP-X. The rollback failed too (No route in APP-X): "
                                 "routes this run created may remain."), "only the final period is dropped"
    alone = summarize(WorkflowState(peering_id=PCX, rollback_error=lambda_error("DeleteRoute failed.")))
    assert (alone.status, alone.reason) == (
        Status.FAILED, "The run failed. The rollback failed too (DeleteRoute failed): routes this run created may "
        "remain.")


def test_a_refusal_is_rejected_at_inspect_with_inspects_sentence():
    refused = summarize(WorkflowState(peering_id=PCX, inspection=Inspection(decision="refuse", reason="No.")))
    assert (refused.status, refused.stage, refused.reason) == (Status.REJECTED, "inspect", "No.")


@pytest.mark.parametrize(("reachable", "status"), [(True, Status.VERIFIED), (False, Status.FAILED)])
def test_a_performed_verification_decides_the_status_with_its_sentence_and_information(reachable, status):
    verification = Verification(performed=True, reachable=reachable, reason="The probe says so.",
                                information=["A reverse flow is blocked."])
    summary = summarize(WorkflowState(peering_id=PCX, verification=verification), (2, 1))
    assert (summary.status, summary.stage, summary.reason) == (status, "verify", "The probe says so.")
    assert summary.information == ["A reverse flow is blocked."] and summary.verification == verification
    assert (summary.routes_created, summary.routes_already_present) == (2, 1)


def test_a_run_without_a_verification_is_routed_with_its_route_counts_and_where_its_details_are():
    inspection = Inspection(decision="route", reason="active")
    dns = DnsResult(enabled=False, reason="EnableDnsResolution is false.")
    state = WorkflowState(peering_id=PCX, inspection=inspection, dns=dns,
                          verification=Verification(performed=False, reason="No probe applies."),
                          rollback=RollbackResult(removed=3))
    summary = summarize(state, (4, 2))
    assert (summary.status, summary.reason) == (
        Status.ROUTED, f"Accepted and routed: 6 route(s) point at {PCX}, 4 added by this run.")
    assert (summary.stage, summary.routes_removed, summary.dns, summary.details) == (state.stage_reached(), 3, dns, "")
    assert summary.requester is None and summary.information == []
    assert summarize(WorkflowState(peering_id=PCX)).reason == (
        f"Accepted and routed: 0 route(s) point at {PCX}, 0 added by this run.")


def test_the_summary_names_both_sides_of_the_inspected_peering_and_no_removal_without_a_rollback():
    inspection = Inspection.model_validate({"decision": "route", "reason": "active", "peering": {
        "peeringId": PCX, "state": "active",
        "requester": {"role": "requester", "vpcId": "vpc-a", "accountId": ACCOUNT, "region": REGION},
        "accepter": {"role": "accepter", "vpcId": "vpc-b", "accountId": "210987654321", "region": "eu-west-1"}}})
    summary = summarize(WorkflowState(peering_id=PCX, inspection=inspection))
    assert (summary.requester, summary.accepter) == (inspection.peering.requester, inspection.peering.accepter)
    assert (summary.routes_created, summary.routes_already_present, summary.routes_removed) == (0, 0, 0)


# -- report (moto) ---------------------------------------------------------------------------------------------


def topic() -> tuple[str, str]:
    """The stack's topic with a queue subscribed (raw delivery), to read what was published."""
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    arn = sns.create_topic(Name="peering")["TopicArn"]
    queue = sqs.create_queue(QueueName="notes")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    return arn, queue


def published(queue: str) -> list[dict]:
    messages = boto3.client("sqs", region_name=REGION).receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def routed_run(**settings):
    """A run whose routes were planned and applied (every chunk), up to Report."""
    pcx, vpc_a, vpc_b, flow, state, metrics = active_run(**settings)
    stored = routes.plan_routes(flow, state)
    for chunk in chunks_of(stored):
        routes.apply_chunk(flow, ApplyRequest(peering_id=pcx, plan=stored, chunk=chunk))
    return pcx, flow, state.model_copy(update={"plan": stored, "routes": AppliedRoutes(chunks=stored.chunks)}), metrics


def test_a_routed_run_counts_its_routes_from_the_run_store_notifies_tags_routed_and_gives_its_lease_back(bucket):
    arn, queue = topic()
    machine = state_machine()
    pcx, flow, state, metrics = routed_run(topic_arn=arn, lease_table="leases")
    from peering.once import new_lease
    execution = f"{machine.replace(':stateMachine:', ':execution:')}:{pcx}-run"
    flow.leases().acquire(new_lease(pcx, execution, 1_800_000_000, "CreateTags"), 1_800_000_000)
    state = state.model_copy(update={"execution_arn": execution})

    summary = report(flow, state)

    assert (summary.status, summary.routes_created, summary.routes_already_present) == (Status.ROUTED, 2, 0)
    assert summary.details == state.plan.location and summary.reason.startswith("Accepted and routed: 2 route(s)")
    assert published(queue) == [summary.wire()]
    assert metrics.seen["PeeringsRouted"] == 1
    assert tags_of(pcx) == {TRIGGER: "true", STATUS_TAG: "routed", EXECUTION_TAG: execution}
    assert boto3.client("dynamodb", region_name=REGION).scan(TableName="leases")["Items"] == []
    assert (summary.status_tag_error, summary.lease_error) == ("", "")

    again = report(flow, state)  # a retried Report: the same outcome, the routes now counted as there already
    assert (again.status, again.routes_created) == (Status.ROUTED, 2)


def test_a_second_report_of_the_same_routes_counts_them_present_not_created(bucket):
    pcx, flow, state, _ = routed_run()
    for chunk in chunks_of(state.plan):  # the chunks applied again: every route already there
        routes.apply_chunk(flow, ApplyRequest(peering_id=pcx, plan=state.plan, chunk=chunk))
    summary = report(flow, state)
    assert (summary.routes_created, summary.routes_already_present) == (0, 2)


def test_a_failed_run_is_tagged_failed_with_its_reason_and_a_verified_one_drops_an_old_reason(bucket):
    pcx, flow, state, metrics = routed_run()
    failed = report(flow, state.model_copy(update={"error": lambda_error("Routes could not be added.")}))
    assert failed.status == Status.FAILED and metrics.seen["PeeringsFailed"] == 1
    assert tags_of(pcx)[REASON_TAG] == "Routes could not be added."

    inspected = state.inspection.peering
    with_reason = replace(inspected, tags={**inspected.tags, REASON_TAG: "Routes could not be added."})
    verified = state.model_copy(update={
        "inspection": state.inspection.model_copy(update={"peering": with_reason}),
        "verification": Verification(performed=True, reachable=True, reason="Reachable.")})
    summary = report(flow, verified)
    assert summary.status == Status.VERIFIED and metrics.seen["PeeringsVerified"] == 1
    assert REASON_TAG not in tags_of(pcx) and tags_of(pcx)[STATUS_TAG] == "verified"


def test_a_peering_that_did_not_opt_in_is_never_tagged(bucket):
    pcx, flow, state, _ = routed_run()
    quiet = state.model_copy(update={"inspection": state.inspection.model_copy(update={"opted_in": False})})
    report(flow, quiet)
    assert tags_of(pcx)[STATUS_TAG] == "in-progress", "as Inspect left it: Report does not tag"


def test_a_tag_or_lease_that_cannot_be_written_is_said_in_the_summary_and_the_outcome_stands(bucket):
    machine = state_machine()
    pcx, flow, state, _ = routed_run(lease_table="leases")
    state = state.model_copy(update={"execution_arn": f"{machine.replace(':stateMachine:', ':execution:')}:x"})

    def fail(operation):
        def raise_it(params, **_):
            raise ClientError({"Error": {"Code": "InternalError", "Message": "try again"}}, operation)
        return raise_it

    flow.clients.client("ec2", ACCOUNT, REGION).meta.events.register("provide-client-params.ec2.CreateTags",
                                                                      fail("CreateTags"))
    flow.clients.client("dynamodb", ACCOUNT, REGION).meta.events.register(
        "provide-client-params.dynamodb.DeleteItem", fail("DeleteItem"))

    summary = report(flow, state)

    assert summary.status == Status.ROUTED
    assert summary.status_tag_error.startswith(f"CreateTags on {pcx} failed with InternalError")
    assert "InternalError" in summary.lease_error and summary.lease_error.endswith(".")


def test_a_failed_apply_map_reports_the_failed_chunks_own_sentence(bucket):
    pcx, flow, state, _ = routed_run()
    stored = state.plan
    chunk = chunks_of(stored)[1]
    s3 = boto3.client("s3", region_name=REGION)
    s3.delete_object(Bucket=BUCKET, Key=runstore.applied_key(stored.prefix, chunk.side, chunk.index))
    flow.run_store(BUCKET).put(runstore.failed_key(stored.prefix, chunk.side, chunk.index),
                               ChunkFailure(error="AwsCallFailed", message="CreateRoute in rtb-1 failed."))
    map_failed = state.model_copy(update={"routes": None, "error": ErrorInfo(
        Error="States.ExceedToleratedFailureThreshold", Cause="The Map Run failed.")})

    summary = report(flow, map_failed)

    assert (summary.status, summary.reason, summary.routes_created) == (
        Status.FAILED, "CreateRoute in rtb-1 failed.", 1)
    for kept in (state.model_copy(update={"error": map_failed.error}),  # the Map had finished: not its failure
                 map_failed.model_copy(update={"error": lambda_error("Other.", "AwsCallFailed")})):
        assert report(flow, kept).reason != "CreateRoute in rtb-1 failed."


def test_a_run_that_failed_at_inspect_is_tagged_failed_with_no_routes_and_no_lease_table_needed(moto):
    """Inspect timed out: no inspection, no plan; the peering exists and carries the trigger tag, so the failure
    is tagged on it. Without a LEASE_TABLE setting there is no lease to give back, and that is no error."""
    from tests.unit.stage_support import deps, request

    pcx, _, _ = request(tags={TRIGGER: "true"})
    summary = report(deps(), WorkflowState(peering_id=pcx, execution_arn=EXECUTION,
                                           error=ErrorInfo(Error="States.Timeout")))
    assert (summary.status, summary.stage, summary.reason) == (Status.FAILED, "inspect", "A stage timed out.")
    assert (summary.routes_created, summary.routes_already_present, summary.details) == (0, 0, "")
    assert (summary.status_tag_error, summary.lease_error) == ("", "")
    assert tags_of(pcx) == {TRIGGER: "true", STATUS_TAG: "failed", EXECUTION_TAG: EXECUTION,
                            REASON_TAG: "A stage timed out."}


def test_an_old_reason_is_dropped_only_when_it_is_there_and_only_when_the_run_succeeded(bucket):
    from tests.unit.stage_support import Calls, record

    pcx, flow, state, _ = routed_run()
    calls = record(flow, Calls())
    report(flow, state)
    assert calls.of("DeleteTags") == [], "no reason tag was read: nothing to remove"

    inspected = state.inspection.peering
    with_reason = replace(inspected, tags={**inspected.tags, REASON_TAG: "An earlier failure."})
    earlier = state.inspection.model_copy(update={"peering": with_reason})
    report(flow, state.model_copy(update={"inspection": earlier, "error": lambda_error("This run failed.")}))
    assert tags_of(pcx)[REASON_TAG] == "This run failed." and calls.of("DeleteTags") == []


def test_route_counts_add_up_each_sides_own_chunks_and_the_routes_already_there(bucket, monkeypatch):
    """Three routes to create on the requester's side (one chunk each), one on the accepter's, and one already in
    place on the requester's: Report reads the chunks from the stored plan's bucket (whatever its own setting)."""
    from tests.unit.stage_support import deps
    from tests.unit.test_workflow_routes import extra_table

    monkeypatch.setattr(runstore, "CHUNK_SIZE", 1)
    pcx, vpc_a, vpc_b, flow, state, _ = active_run()
    extra_table(vpc_a)
    extra_table(vpc_a)
    ready = extra_table(vpc_a)
    boto3.client("ec2", region_name=REGION).create_route(RouteTableId=ready, DestinationCidrBlock="10.7.0.0/16",
                                                         VpcPeeringConnectionId=pcx)
    stored = routes.plan_routes(flow, state)
    assert (stored.requester.create, stored.requester.present, stored.accepter.create) == (3, 1, 1)
    for chunk in chunks_of(stored):
        routes.apply_chunk(flow, ApplyRequest(peering_id=pcx, plan=stored, chunk=chunk))

    summary = report(deps(), state.model_copy(update={"plan": stored, "routes": AppliedRoutes(chunks=4)}))

    assert (summary.routes_created, summary.routes_already_present) == (4, 1)


def test_a_failed_map_without_a_failed_chunk_of_its_own_keeps_the_maps_cause(bucket):
    """Chunk 0 failed once and then succeeded (both objects are there), chunk 1 never ran (neither is): no chunk
    holds the failure, so the Map's own cause is the reason."""
    from tests.unit.stage_support import deps

    pcx, flow, state, _ = routed_run()
    stored = state.plan
    first, second = chunks_of(stored)
    store = flow.run_store(BUCKET)
    store.put(runstore.failed_key(stored.prefix, first.side, first.index),
              ChunkFailure(error="Throttled", message="CreateRoute was throttled."))
    boto3.client("s3", region_name=REGION).delete_object(
        Bucket=BUCKET, Key=runstore.applied_key(stored.prefix, second.side, second.index))
    map_failed = state.model_copy(update={"routes": None, "error": ErrorInfo(
        Error="States.ExceedToleratedFailureThreshold", Cause="The Map Run failed.")})

    summary = report(deps(), map_failed)

    assert (summary.status, summary.reason) == (Status.FAILED, "The Map Run failed.")
