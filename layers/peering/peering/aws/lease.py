"""DynamoDB adapter: the lease table that lets exactly one execution work on a peering (see ``peering.once``).

One item per peering, keyed by its id, written only with conditional writes (atomic per item on
DynamoDB). ``expiresAt`` is the table's TTL attribute: DynamoDB deletes an expired item on a best-effort
basis, "typically within two days of expiration", and until then it "will still show up in reads, queries,
and scans" (DynamoDB API reference, UpdateTimeToLive; developer guide, "Working with expired items"), so
every write here treats an expired lease as free instead of waiting for it to go. A failed condition
returns the item that failed it (``ReturnValuesOnConditionCheckFailure=ALL_OLD``, PutItem API reference):
the holder is learnt in the same call, with no read that could be stale.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..runs import Lease
from .errors import error_code, failure

KEY = "peeringId"
TTL_ATTRIBUTE = "expiresAt"
"""The table's TimeToLiveSpecification.AttributeName (template.yaml; a test checks the two agree)."""
TAKE = (f"attribute_not_exists({KEY}) OR {TTL_ATTRIBUTE} < :now OR executionName = :name")
"""Free, expired (TTL deletion is lazy) or already this execution's: then the lease can be written."""


def _failed(action: str, error: ClientError) -> Exception:
    return failure(error, action, "DynamoDB")


def _item(lease: Lease) -> dict[str, Any]:
    return {KEY: {"S": lease.peering_id}, "executionName": {"S": lease.execution_name},
            "executionArn": {"S": lease.execution_arn}, "leaseToken": {"S": lease.token},
            "acquiredAt": {"N": str(lease.acquired_at)}, TTL_ATTRIBUTE: {"N": str(lease.expires_at)},
            "trigger": {"S": lease.trigger}}


def _lease(item: dict[str, Any]) -> Lease:
    text = lambda name: item.get(name, {}).get("S", "")  # noqa: E731
    number = lambda name: int(float(item.get(name, {}).get("N", "0")))  # noqa: E731
    return Lease(peering_id=text(KEY), execution_name=text("executionName"), execution_arn=text("executionArn"),
                 token=text("leaseToken"), acquired_at=number("acquiredAt"), expires_at=number(TTL_ATTRIBUTE),
                 trigger=text("trigger"))


class LeaseTable:
    """The lease table, through one DynamoDB client (PutItem and DeleteItem only: see template.yaml)."""

    def __init__(self, client: Any, table_name: str):
        self.client = client
        self.table_name = table_name

    def acquire(self, lease: Lease, now: int, replacing: Lease | None = None) -> Lease | None:
        """Write ``lease`` when the peering's lease is free, expired, already this execution's, or still
        exactly ``replacing`` (a holder found dead: compare-and-swap on its token). Returns None when
        written, else the lease that holds the peering (read atomically with the failed condition)."""
        condition, values = TAKE, {":now": {"N": str(now)}, ":name": {"S": lease.execution_name}}
        if replacing is not None:
            condition += " OR leaseToken = :old"
            values[":old"] = {"S": replacing.token}
        kwargs: dict[str, Any] = {"TableName": self.table_name, "Item": _item(lease), "ConditionExpression": condition,
                                  "ExpressionAttributeValues": values,
                                  "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
        try:
            self.client.put_item(**kwargs)
        except ClientError as e:
            if error_code(e) == "ConditionalCheckFailedException":
                held = e.response.get("Item")
                if held:
                    return _lease(held)
                # AWS returns the holder with ALL_OLD; an endpoint that does not leaves it unknown (retried)
                return Lease(peering_id=lease.peering_id, execution_name="", execution_arn="", token="",
                             acquired_at=now, expires_at=now)
            raise _failed(f"Taking the lease of {lease.peering_id}", e) from e
        return None

    def release(self, peering_id: str, *, execution_name: str | None = None, token: str | None = None) -> bool:
        """Delete the peering's lease if it is still held by ``execution_name`` (or was written with ``token``).
        False when it was not (already released, expired and taken over, or never this execution's)."""
        if (execution_name is None) == (token is None):
            raise ValueError("release needs exactly one of execution_name or token")
        condition, value = (("executionName = :who", execution_name) if execution_name is not None
                            else ("leaseToken = :who", token))
        kwargs: dict[str, Any] = {"TableName": self.table_name, "Key": {KEY: {"S": peering_id}},
                                  "ConditionExpression": condition, "ExpressionAttributeValues": {":who": {"S": value}}}
        try:
            self.client.delete_item(**kwargs)
        except ClientError as e:
            if error_code(e) == "ConditionalCheckFailedException":
                return False
            raise _failed(f"Releasing the lease of {peering_id}", e) from e
        return True
