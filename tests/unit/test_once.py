"""Exactly one execution per peering (peering.once) against moto's DynamoDB and Step Functions.

moto 5.2.5 keeps a started execution RUNNING (nothing interprets the definition unless configured to) and
answers a repeated name with the same input with the running execution, as StartExecution does on AWS
(moto/stepfunctions/models.py:156-162, ``_handle_name_input_idempotency``), so the starter's paths are real
API calls here. The workflow-level race is tested in tests/workflow/test_lease.py."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from peering import once
from peering.aws.executions import StepFunctions
from peering.aws.lease import KEY, LeaseTable
from peering.errors import AwsCallFailed
from peering.events import execution_name
from peering.models import WorkflowState
from peering.runs import DUPLICATE, LEASE_SECONDS, START_GRACE_SECONDS, Lease

REGION = "us-east-1"
NOW = 1_800_000_000
PCX = "pcx-0123456789abcdef0"
TRIGGER = {"eventName": "CreateTags", "eventId": "event-1", "eventTime": "2026-01-01T00:00:00Z"}


@pytest.fixture
def aws():
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(TableName="leases", KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
                              BillingMode="PAY_PER_REQUEST")
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(
            name="peering", roleArn="arn:aws:iam::123456789012:role/sfn",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}))["stateMachineArn"]
        yield sfn, LeaseTable(dynamodb, "leases"), machine


def held(leases: LeaseTable) -> dict | None:
    item = leases.client.get_item(TableName="leases", Key={KEY: {"S": PCX}}, ConsistentRead=True).get("Item")
    return {k: next(iter(v.values())) for k, v in item.items()} if item else None


def test_a_start_takes_the_lease_for_the_triggers_execution_and_starts_it_with_the_trigger(aws):
    sfn, leases, machine = aws
    result = once.start_once(StepFunctions(sfn), leases, machine, PCX, TRIGGER, now=NOW)

    name = execution_name(PCX, "event-1")
    assert result.started and result.reason == f"Started {name} for {PCX}."
    described = sfn.describe_execution(executionArn=result.execution_arn)
    assert described["name"] == name and described["status"] == "RUNNING"
    assert json.loads(described["input"]) == {"peeringId": PCX, "trigger": TRIGGER}
    lease = held(leases)
    assert (lease["executionName"], lease["executionArn"], lease["trigger"]) == (name, result.execution_arn,
                                                                                "CreateTags")
    assert (int(lease["acquiredAt"]), int(lease["expiresAt"])) == (NOW, NOW + LEASE_SECONDS)


def test_another_trigger_while_the_first_runs_starts_nothing_and_names_the_holder(aws):
    sfn, leases, machine = aws
    first = once.start_once(StepFunctions(sfn), leases, machine, PCX, TRIGGER, now=NOW)
    second = once.start_once(StepFunctions(sfn), leases, machine, PCX, {**TRIGGER, "eventId": "event-2"}, now=NOW + 5)

    name = execution_name(PCX, "event-1")
    assert (second.started, second.execution_arn) == (False, first.execution_arn)
    assert second.reason == f"Execution {name} is already handling {PCX}."
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1
    assert held(leases)["executionName"] == name


def test_a_trigger_whose_execution_already_ran_starts_nothing_and_gives_the_lease_back(aws):
    sfn, leases, machine = aws
    first = once.start_once(StepFunctions(sfn), leases, machine, PCX, TRIGGER, now=NOW)
    sfn.stop_execution(executionArn=first.execution_arn)
    again = once.start_once(StepFunctions(sfn), leases, machine, PCX, TRIGGER, now=NOW + 5)

    name = execution_name(PCX, "event-1")
    assert (again.started, again.execution_arn) == (False, first.execution_arn)
    assert again.reason == f"Execution {name} already ran for this trigger (aborted)."
    assert held(leases) is None, "the lease of an execution that ended is given back"


def test_a_redelivered_trigger_while_its_execution_runs_is_the_same_start(aws):
    sfn, leases, machine = aws
    first = once.start_once(StepFunctions(sfn), leases, machine, PCX, TRIGGER, now=NOW)
    again = once.start_once(StepFunctions(sfn), leases, machine, PCX, TRIGGER, now=NOW + 5)
    assert again.execution_arn == first.execution_arn
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1
    assert held(leases)["executionName"] == execution_name(PCX, "event-1")


def test_a_start_that_fails_gives_the_lease_back_and_raises(aws):
    sfn, leases, machine = aws
    missing = machine.replace(":peering", ":no-such-machine")
    with pytest.raises(AwsCallFailed, match=r"StartExecution of .* failed with StateMachineDoesNotExist: "):
        once.start_once(StepFunctions(sfn), leases, missing, PCX, TRIGGER, now=NOW)
    assert held(leases) is None


def test_a_lease_whose_execution_never_started_is_taken_over_only_after_the_grace(aws):
    sfn, leases, machine = aws
    ghost_arn = f"{machine.replace(':stateMachine:', ':execution:')}:{PCX}-ghost"
    ghost = Lease(peering_id=PCX, execution_name=f"{PCX}-ghost", execution_arn=ghost_arn,
                  token="t-ghost", acquired_at=NOW, expires_at=NOW + LEASE_SECONDS)
    assert leases.acquire(ghost, NOW) is None
    early = once.start_once(StepFunctions(sfn), leases, machine, PCX, TRIGGER, now=NOW + START_GRACE_SECONDS - 1)
    assert not early.started and early.reason == f"Execution {PCX}-ghost is being started for {PCX}."
    late = once.start_once(StepFunctions(sfn), leases, machine, PCX, TRIGGER, now=NOW + START_GRACE_SECONDS + 1)
    assert late.started and held(leases)["executionName"] == execution_name(PCX, "event-1")


# -- inside the workflow: the Inspect stage's claim -------------------------------------------------------------


def state(arn: str | None, trigger: str = "CreateTags") -> WorkflowState:
    return WorkflowState(peering_id=PCX, execution_arn=arn, input={"trigger": {"eventName": trigger}})


def test_an_execution_started_by_hand_takes_the_lease_for_itself(aws):
    sfn, leases, machine = aws
    arn = sfn.start_execution(stateMachineArn=machine, name=f"{PCX}-by-hand", input="{}")["executionArn"]
    assert once.claimed_elsewhere(StepFunctions(sfn), leases, state(arn, "manual"), now=NOW) is None
    lease = held(leases)
    assert (lease["executionArn"], lease["executionName"], lease["trigger"]) == (arn, f"{PCX}-by-hand", "manual")
    assert int(lease["acquiredAt"]) == NOW, "the lease is taken at the time the caller gives"


def test_an_execution_finding_another_live_holder_is_a_duplicate_that_changes_nothing(aws):
    sfn, leases, machine = aws
    first = once.start_once(StepFunctions(sfn), leases, machine, PCX, TRIGGER, now=NOW)
    arn = sfn.start_execution(stateMachineArn=machine, name=f"{PCX}-by-hand", input="{}")["executionArn"]
    inspection = once.claimed_elsewhere(StepFunctions(sfn), leases, state(arn), now=NOW + 5)
    assert inspection.decision == DUPLICATE
    assert inspection.reason == (f"Another execution ({execution_name(PCX, 'event-1')}) is already handling {PCX}, "
                                 "so this one changes nothing.")
    assert held(leases)["executionArn"] == first.execution_arn


@pytest.mark.parametrize("arn", [None, "", "not-an-execution-arn"])
def test_outside_step_functions_there_is_nothing_to_claim(aws, arn):
    sfn, leases, _ = aws
    assert once.claimed_elsewhere(StepFunctions(sfn), leases, state(arn), now=NOW) is None
    assert held(leases) is None


def test_without_a_lease_table_there_is_nothing_to_claim(aws):
    sfn, _, machine = aws
    arn = f"{machine.replace(':stateMachine:', ':execution:')}:x"
    assert once.claimed_elsewhere(StepFunctions(sfn), None, state(arn)) is None


class _Sfn:
    def status(self, execution_arn):
        return "FAILED"


class _Contended:
    """Every write loses to another starter replacing the same dead holder first."""

    def __init__(self):
        self.writes = 0

    def acquire(self, lease, now, replacing=None):
        self.writes += 1
        return Lease(PCX, f"{PCX}-dead-{self.writes}", "arn:x", f"t{self.writes}", NOW - 5, NOW + 60)


def test_an_execution_contended_beyond_the_attempts_yields_and_changes_nothing():
    arn = f"arn:aws:states:{REGION}:123456789012:execution:peering:{PCX}-mine"
    inspection = once.claimed_elsewhere(_Sfn(), _Contended(), state(arn), now=NOW)
    assert inspection.decision == DUPLICATE
    assert inspection.reason == (f"The lease of {PCX} changed hands {once.ATTEMPTS} times while it was being taken, "
                                 "so this execution changes nothing.")


# -- the less travelled paths ---------------------------------------------------------------------------------


def test_a_redelivered_trigger_with_another_input_while_its_execution_runs_starts_nothing(aws):
    """Step Functions refuses a running name with a different input (ExecutionAlreadyExists); the execution
    keeps the lease and is named (moto/stepfunctions/models.py:186-202 answers as AWS does)."""
    sfn, leases, machine = aws
    first = once.start_once(StepFunctions(sfn), leases, machine, PCX, TRIGGER, now=NOW)
    again = once.start_once(StepFunctions(sfn), leases, machine, PCX, {**TRIGGER, "eventTime": "2026-01-01T00:00:09Z"},
                            now=NOW + 5)
    name = execution_name(PCX, "event-1")
    assert again.model_dump() == {"peering_id": PCX, "started": False, "execution_arn": first.execution_arn,
                                  "reason": f"Execution {name} is already handling {PCX}."}
    assert held(leases)["executionName"] == name


def test_an_execution_that_exists_by_name_but_is_no_longer_described_reads_as_gone(aws):
    """Closed executions are kept for a while only: StartExecution may refuse a name that DescribeExecution no
    longer knows (AWS's answers, stubbed)."""
    from botocore.stub import Stubber

    _, leases, machine = aws
    sfn = boto3.client("stepfunctions", region_name=REGION)
    name = execution_name(PCX, "event-1")
    with Stubber(sfn) as stub:
        stub.add_client_error("start_execution", "ExecutionAlreadyExists")
        stub.add_client_error("describe_execution", "ExecutionDoesNotExist")
        result = once.start_once(StepFunctions(sfn), leases, machine, PCX, TRIGGER, now=NOW)
    assert not result.started and result.reason == f"Execution {name} already ran for this trigger (gone)."
    assert held(leases) is None


def test_a_trigger_without_fields_starts_the_manual_execution_with_empty_fields(aws):
    sfn, leases, machine = aws
    result = once.start_once(StepFunctions(sfn), leases, machine, PCX, {}, now=NOW)
    described = sfn.describe_execution(executionArn=result.execution_arn)
    assert described["name"] == f"{PCX}-manual"
    assert json.loads(described["input"])["trigger"] == {"eventName": "", "eventId": "", "eventTime": ""}
    assert held(leases)["trigger"] == ""


def test_without_a_time_given_the_lease_is_taken_now(aws):
    import time

    sfn, leases, machine = aws
    before = int(time.time())
    once.start_once(StepFunctions(sfn), leases, machine, PCX, TRIGGER)
    assert before <= int(held(leases)["acquiredAt"]) <= int(time.time())
    leases.release(PCX, execution_name=execution_name(PCX, "event-1"))
    arn = sfn.start_execution(stateMachineArn=machine, name=f"{PCX}-by-hand", input="{}")["executionArn"]
    assert once.claimed_elsewhere(StepFunctions(sfn), leases, WorkflowState(peering_id=PCX, execution_arn=arn)) is None
    lease = held(leases)
    assert before <= int(lease["acquiredAt"]) <= int(time.time()) and lease["trigger"] == ""


def test_a_holder_the_table_does_not_name_is_written_over_again(aws):
    """An endpoint that does not return the failed item (ALL_OLD) leaves the holder unknown: claim writes
    again, as a fresh take (not a compare-and-swap on a token it never saw)."""
    from botocore.stub import ANY, Stubber

    sfn, _, _ = aws
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    lease = once.new_lease(PCX, f"arn:aws:states:{REGION}:123456789012:execution:peering:{PCX}-x", NOW, "")
    with Stubber(dynamodb) as stub:
        stub.add_client_error("put_item", "ConditionalCheckFailedException")
        stub.add_response("put_item", {}, {"TableName": "leases", "Item": ANY, "ConditionExpression": ANY,
                                           "ExpressionAttributeValues": ANY,
                                           "ReturnValuesOnConditionCheckFailure": "ALL_OLD"})
        assert once.claim(StepFunctions(sfn), LeaseTable(dynamodb, "leases"), lease, NOW) is None


class _ReleaseFails(LeaseTable):
    def release(self, peering_id, *, execution_name=None, token=None):
        raise AwsCallFailed("Releasing the lease failed with InternalError.")


def test_a_failed_start_raises_its_own_error_even_when_giving_the_lease_back_fails(aws):
    sfn, leases, machine = aws
    failing = _ReleaseFails(leases.client, leases.table_name)
    with pytest.raises(AwsCallFailed, match=r"StartExecution of .* failed with StateMachineDoesNotExist"):
        once.start_once(StepFunctions(sfn), failing, machine.replace(":peering", ":no-such-machine"), PCX, TRIGGER,
                        now=NOW)
