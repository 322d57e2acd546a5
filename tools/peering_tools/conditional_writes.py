"""Make moto's conditional writes atomic, as AWS's are: DynamoDB item writes and named StartExecution.

On AWS a conditional write (PutItem, UpdateItem, DeleteItem with a ConditionExpression) is checked and
applied atomically per item. moto 5.2.5 reads the current item, evaluates the condition and writes in plain
Python with no lock (``moto/dynamodb/models/table.py:617-696``, ``Table.put_item``), so two threads can both
pass the same condition. Likewise StartExecution with a name either starts the one execution of that name
or answers for it; moto looks for an execution of that name, deep-copies the state machine, then appends the
new execution (``moto/stepfunctions/parser/models.py:161-233``), so two concurrent starts of one name can
both create it. The lease (``peering.once``) relies on AWS's behaviour, so the tests and the emulator
serialise these methods with one lock. The seams (moto is pinned; ``tests/unit/test_lease.py`` has the
canary and shows the DynamoDB race both without and with the lock) are ``SEAMS``.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.ec2.models.route_tables import RouteBackend
from moto.stepfunctions.models import StepFunctionBackend
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

SEAMS: tuple[tuple[type, str], ...] = (
    (DynamoDBBackend, "put_item"),
    (DynamoDBBackend, "update_item"),
    (DynamoDBBackend, "delete_item"),
    (StepFunctionBackend, "start_execution"),
    (StepFunctionsParserBackend, "start_execution"),
    # EC2 applies each CreateRoute/DeleteRoute to a table atomically; moto validates a new route by iterating the
    # table's routes while another thread may insert into them (moto/ec2/models/route_tables.py:493-495, 529):
    # "dictionary changed size during iteration" when one table gets several routes at once (10 per table in the
    # bench's 10,000-routes-per-side run)
    (RouteBackend, "create_route"),
    (RouteBackend, "delete_route"),
)
_originals = {(owner, name): owner.__dict__[name] for owner, name in SEAMS}
_lock = threading.RLock()


def _atomic(method: Any) -> Any:
    @functools.wraps(method)
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            return method(self, *args, **kwargs)

    locked.__peering_atomic__ = True  # type: ignore[attr-defined]
    return locked


def installed() -> bool:
    return all(getattr(owner.__dict__[name], "__peering_atomic__", False) for owner, name in SEAMS)


def install() -> None:
    """Serialise the seams (idempotent)."""
    with _lock:
        for (owner, name), original in _originals.items():
            if not getattr(owner.__dict__[name], "__peering_atomic__", False):
                setattr(owner, name, _atomic(original))


def uninstall() -> None:
    with _lock:
        for (owner, name), original in _originals.items():
            setattr(owner, name, original)
