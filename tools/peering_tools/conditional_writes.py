"""Make moto's DynamoDB item writes atomic, as DynamoDB's are.

On AWS a conditional write (PutItem, UpdateItem, DeleteItem with a ConditionExpression) is checked and
applied atomically per item. moto 5.2.5 reads the current item, evaluates the condition and writes in plain
Python with no lock (``moto/dynamodb/models/table.py:617-696``, ``Table.put_item``), so two threads can both
pass the same condition. The lease (``peering.once``) relies on AWS's behaviour, so the tests and the
emulator serialise the backend's item writes with one lock. The seam is ``moto.dynamodb.models.DynamoDBBackend``'s
``put_item``, ``update_item`` and ``delete_item`` (moto is pinned; ``tests/unit/test_lease.py`` has the canary
and shows the race both without and with the lock).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

METHODS = ("put_item", "update_item", "delete_item")
SEAMS = tuple((DynamoDBBackend, name) for name in METHODS)
_originals = {name: getattr(DynamoDBBackend, name) for name in METHODS}
_lock = threading.RLock()


def _atomic(method: Any) -> Any:
    @functools.wraps(method)
    def locked(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            return method(self, *args, **kwargs)

    locked.__peering_atomic__ = True  # type: ignore[attr-defined]
    return locked


def install() -> None:
    """Serialise moto's DynamoDB item writes (idempotent)."""
    with _lock:
        for name in METHODS:
            if not getattr(getattr(DynamoDBBackend, name), "__peering_atomic__", False):
                setattr(DynamoDBBackend, name, _atomic(_originals[name]))


def uninstall() -> None:
    with _lock:
        for name, original in _originals.items():
            setattr(DynamoDBBackend, name, original)


def installed() -> bool:
    return all(getattr(getattr(DynamoDBBackend, name), "__peering_atomic__", False) for name in METHODS)
