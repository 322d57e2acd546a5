"""The lease adapter (``peering.aws.lease``) against moto and against DynamoDB's recorded error shapes, the
pure holder decision, and the moto seam that makes conditional writes atomic as on AWS."""

from __future__ import annotations

import inspect
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models import table as moto_table

from peering.aws.executions import run_status
from peering.aws.lease import KEY, TTL_ATTRIBUTE, LeaseTable
from peering.errors import AwsCallFailed, Throttled
from peering.runs import LEASE_SECONDS, START_GRACE_SECONDS, Lease, holder_keeps
from peering_tools import conditional_writes

REGION = "us-east-1"
TABLE = "leases"
NOW = 1_800_000_000
ARN = "arn:aws:states:us-east-1:123456789012:execution:m:"


def lease(name: str, token: str = "t", acquired: int = NOW, expires: int | None = None) -> Lease:
    return Lease(peering_id="pcx-1", execution_name=name, execution_arn=ARN + name, token=token, acquired_at=acquired,
                 expires_at=NOW + LEASE_SECONDS if expires is None else expires, trigger="CreateTags")


@pytest.fixture
def table():
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(TableName=TABLE, KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        yield LeaseTable(client, TABLE)


def stored(table: LeaseTable) -> dict | None:
    return table.client.get_item(TableName=TABLE, Key={KEY: {"S": "pcx-1"}}, ConsistentRead=True).get("Item")


# -- the adapter under moto ----------------------------------------------------------------------------------
def test_a_free_lease_is_taken_and_a_held_one_returns_its_holder_in_the_same_call(table):
    assert table.acquire(lease("pcx-1-a", "t1"), NOW) is None
    assert table.acquire(lease("pcx-1-b", "t2"), NOW + 1) == lease("pcx-1-a", "t1")
    item = stored(table)
    assert item["executionName"] == {"S": "pcx-1-a"} and item[TTL_ATTRIBUTE] == {"N": str(NOW + LEASE_SECONDS)}


def test_the_same_execution_takes_its_own_lease_again_and_an_expired_one_is_free(table):
    assert table.acquire(lease("pcx-1-a", "t1", expires=NOW + 10), NOW) is None
    assert table.acquire(lease("pcx-1-a", "t2"), NOW) is None, "a redelivered trigger: the same execution"
    assert table.acquire(lease("pcx-1-b", "t3", expires=NOW + 10), NOW) is not None
    # expired but not yet deleted by TTL (deletion is lazy): the condition treats it as free
    assert table.acquire(lease("pcx-1-b", "t3"), NOW + LEASE_SECONDS + 1) is None
    assert stored(table)["executionName"] == {"S": "pcx-1-b"}


def test_a_dead_holder_is_replaced_only_while_its_lease_is_unchanged(table):
    dead = lease("pcx-1-dead", "t-dead")
    assert table.acquire(dead, NOW) is None
    assert table.acquire(lease("pcx-1-b", "t-b"), NOW, replacing=dead) is None
    # a second starter that saw the same dead holder loses: the lease is no longer the one it found
    assert table.acquire(lease("pcx-1-c", "t-c"), NOW, replacing=dead) == lease("pcx-1-b", "t-b")


def test_release_deletes_only_the_named_holders_or_the_written_token(table):
    table.acquire(lease("pcx-1-a", "t1"), NOW)
    assert table.release("pcx-1", execution_name="pcx-1-other") is False
    assert table.release("pcx-1", token="t-other") is False
    assert stored(table) is not None
    assert table.release("pcx-1", token="t1") is True and stored(table) is None
    table.acquire(lease("pcx-1-a", "t2"), NOW)
    assert table.release("pcx-1", execution_name="pcx-1-a") is True and stored(table) is None
    assert table.release("pcx-1", execution_name="pcx-1-a") is False, "releasing twice is a no-op"
    with pytest.raises(ValueError, match="exactly one"):
        table.release("pcx-1")


# -- AWS's answers, pinned (what moto may not return) -------------------------------------------------------
def stubbed() -> tuple[LeaseTable, Stubber]:
    client = boto3.client("dynamodb", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    return LeaseTable(client, TABLE), Stubber(client)


def test_the_holder_comes_from_the_condition_failure_as_dynamodb_returns_it_with_all_old():
    leases, stub = stubbed()
    held = {KEY: {"S": "pcx-1"}, "executionName": {"S": "pcx-1-a"}, "executionArn": {"S": ARN + "pcx-1-a"},
            "leaseToken": {"S": "t1"}, "acquiredAt": {"N": str(NOW)}, TTL_ATTRIBUTE: {"N": str(NOW + 60)},
            "trigger": {"S": "Sweep"}}
    stub.add_client_error("put_item", "ConditionalCheckFailedException", "The conditional request failed",
                          400, modeled_fields={"Item": held})
    with stub:
        holder = leases.acquire(lease("pcx-1-b"), NOW)
    assert holder == Lease("pcx-1", "pcx-1-a", ARN + "pcx-1-a", "t1", NOW, NOW + 60, "Sweep")


def test_throttling_and_other_errors_become_one_sentence_project_errors():
    leases, stub = stubbed()
    stub.add_client_error("put_item", "ProvisionedThroughputExceededException", "slow down", 400)
    stub.add_client_error("delete_item", "ResourceNotFoundException", "Requested resource not found", 400)
    with stub:
        with pytest.raises(Throttled, match=r"^DynamoDB throttled Taking the lease of pcx-1 "):
            leases.acquire(lease("pcx-1-b"), NOW)
        with pytest.raises(AwsCallFailed, match=r"^Releasing the lease of pcx-1 failed with ResourceNotFoundException: "
                                                r"Requested resource not found\.$"):
            leases.release("pcx-1", execution_name="pcx-1-b")


def test_an_execution_that_does_not_exist_has_no_status():
    client = boto3.client("stepfunctions", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.add_client_error("describe_execution", "ExecutionDoesNotExist", "Execution Does Not Exist", 400)
    stub.add_response("describe_execution", {
        "executionArn": ARN + "a", "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:m",
        "status": "ABORTED", "startDate": datetime(2026, 12, 1, tzinfo=UTC)})
    with stub:
        assert run_status(client, ARN + "a") is None
        assert run_status(client, ARN + "a") == "ABORTED"


# -- the pure decision ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("status", "now", "keeps"), [
    ("RUNNING", NOW + 5, "is already handling pcx-1"),
    ("PENDING_REDRIVE", NOW + 5, "is already handling pcx-1"),
    (None, NOW + 5, "is being started for pcx-1"),  # between its lease and its StartExecution
    (None, NOW + START_GRACE_SECONDS + 1, None),  # its starter crashed between lease and start
    ("SUCCEEDED", NOW + 5, None),  # ended without releasing (its report failed)
    ("FAILED", NOW + 5, None),
    ("ABORTED", NOW + 5, None),
    ("TIMED_OUT", NOW + 5, None),
    ("RUNNING", NOW + LEASE_SECONDS + 1, None),  # expired
])
def test_a_holder_keeps_its_peering_only_while_live_or_being_started(status, now, keeps):
    why = holder_keeps(lease("pcx-1-a"), status, now)
    assert (why is None) == (keeps is None)
    if keeps:
        assert why == f"Execution pcx-1-a {keeps}."


# -- the moto seam: conditional writes atomic, as on DynamoDB -------------------------------------------------
def test_canary_the_seams_are_where_conditional_writes_checks_for_them():
    for owner, name in conditional_writes.SEAMS:
        assert callable(getattr(owner, name)), name
    # the windows the lock closes: Table.put_item evaluates the condition through this module-level name, and
    # StartExecution looks for an execution of the name before it creates one
    assert callable(moto_table.get_filter_expression)
    assert "get_filter_expression" in inspect.unwrap(moto_table.Table.put_item).__code__.co_names
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    start = inspect.unwrap(StepFunctionsParserBackend.start_execution)  # the original, installed or not
    assert "_handle_name_input_idempotency" in start.__code__.co_names


def _race_inside_moto(monkeypatch, writers: int) -> tuple[int, int]:
    """``writers`` conditional puts of the same new key at once, each held inside moto's put_item between reading
    the current item and writing until all are there (or 2 s passed). Returns (writes that succeeded, writers that
    met all the others inside)."""
    met = threading.Barrier(writers)
    together = []
    original = moto_table.get_filter_expression

    def held(*args, **kwargs):
        try:
            met.wait(timeout=2)
            together.append(1)
        except threading.BrokenBarrierError:
            pass
        return original(*args, **kwargs)

    monkeypatch.setattr(moto_table, "get_filter_expression", held)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(TableName=TABLE, KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        leases = LeaseTable(client, TABLE)
        with ThreadPoolExecutor(max_workers=writers) as pool:
            results = list(pool.map(lambda n: leases.acquire(lease(f"pcx-1-{n}", f"t{n}"), NOW), range(writers)))
    return sum(1 for r in results if r is None), len(together)


def test_without_the_seam_moto_lets_every_racing_conditional_write_through(monkeypatch):
    conditional_writes.uninstall()
    try:
        assert _race_inside_moto(monkeypatch, 4) == (4, 4), "moto checks and writes without a lock"
    finally:
        conditional_writes.install()


def test_with_the_seam_exactly_one_racing_conditional_write_succeeds(monkeypatch):
    conditional_writes.install()
    assert conditional_writes.installed()
    written, together = _race_inside_moto(monkeypatch, 4)
    assert (written, together) == (1, 0), "one writer at a time inside the check-and-write"
    assert DynamoDBBackend.put_item.__peering_atomic__


# -- claims that keep losing -----------------------------------------------------------------------------------
class _Sfn:
    """Every holder's execution is FAILED: each one found is dead."""

    def status(self, execution_arn):
        return "FAILED"


class _AlwaysReplacedFirst:
    """Every write loses to another starter that replaced the same dead holder a moment earlier."""

    def __init__(self):
        self.writes = []

    def acquire(self, lease, now, replacing=None):
        self.writes.append(replacing.token if replacing else None)
        return Lease("pcx-1", f"pcx-1-dead-{len(self.writes)}", ARN + "x", f"t{len(self.writes)}", NOW - 5, NOW + 60)


def test_a_claim_that_keeps_losing_compare_and_swap_gives_up_after_a_bounded_number_of_writes():
    from peering import once

    leases = _AlwaysReplacedFirst()
    result = once.start_once(_Sfn(), leases, "arn:aws:states:us-east-1:123456789012:stateMachine:m", "pcx-1",
                             {"eventId": "e1"}, now=NOW)

    assert leases.writes == [None, "t1", "t2"], "each retry replaces exactly the dead holder it last saw"
    assert (result.started, result.execution_arn) == (False, None)
    assert result.reason == f"The lease of pcx-1 changed hands {once.ATTEMPTS} times while it was being taken."
