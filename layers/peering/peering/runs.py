"""Which workflow execution owns a peering: pure decisions over executions and the peering's lease.

Execution names are ``<pcx-id>-<hash>`` (``peering.events.execution_name``), so the peering an
execution works on is read from its name. Which one may work on it is the lease's holder
(``peering.once``, ``peering.aws.lease``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .records import EXECUTION_NAME

DUPLICATE = "duplicate"
"""The Inspect decision of an execution that found another one already handling its peering."""
LEASE_SECONDS = 24 * 3600
"""How long a lease lasts unless released: longer than an execution can run (the state machine's
``TimeoutSeconds`` is 23 h; a test checks the two), so a lease never expires under a live execution."""
START_GRACE_SECONDS = 600
"""A lease whose execution does not exist (yet) is left alone this long after it was taken: longer than a
starter can take between the lease and StartExecution (the sweeper's Lambda timeout, 300 s). After that the
starter is known dead (a crash between lease and start) and the lease is taken over."""
LIVE = frozenset({"RUNNING", "PENDING_REDRIVE"})


@dataclass(frozen=True)
class Lease:
    """The lease table's item for one peering: which execution may work on it, until when."""

    peering_id: str
    execution_name: str
    execution_arn: str
    token: str
    """Unique per write: a takeover replaces exactly the lease it found (compare-and-swap)."""
    acquired_at: int
    expires_at: int
    """Epoch seconds; the table's TTL attribute."""
    trigger: str = ""


def holder_keeps(holder: Lease, status: str | None, now: int) -> str | None:
    """Why ``holder`` still owns its peering, or None when its lease may be taken over.

    ``status`` is its execution's status (None: no such execution). A lease is dead when it expired, when
    its execution has ended without releasing it (the report failed, it was stopped or timed out), or when
    its execution still does not exist ``START_GRACE_SECONDS`` after the lease was taken.
    """
    if holder.expires_at < now:
        return None
    if status in LIVE:
        return f"Execution {holder.execution_name} is already handling {holder.peering_id}."
    if status is None and now < holder.acquired_at + START_GRACE_SECONDS:
        return f"Execution {holder.execution_name} is being started for {holder.peering_id}."
    return None


@dataclass(frozen=True)
class Run:
    """One execution of the workflow as ``ListExecutions`` returns it."""

    arn: str
    name: str
    status: str
    start: datetime

    @property
    def peering_id(self) -> str | None:
        return peering_of(self.name)

    @property
    def order(self) -> tuple[datetime, str]:
        """Earliest start first; the ARN breaks ties, so every observer agrees on one order."""
        return (self.start, self.arn)


def peering_of(execution_name: str) -> str | None:
    """The peering an execution works on, from its name; None for executions not named by us."""
    match = EXECUTION_NAME.match(execution_name)
    return match.group(1) if match else None


def state_machine_of(execution_arn: str) -> str:
    """``arn:…:execution:<machine>:<name>`` → ``arn:…:stateMachine:<machine>``."""
    head, sep, rest = execution_arn.partition(":execution:")
    if not sep or ":" not in rest:
        raise ValueError(f"{execution_arn} is not a Step Functions execution ARN.")
    return f"{head}:stateMachine:{rest.rsplit(':', 1)[0]}"


def execution_arn(state_machine_arn: str, name: str) -> str:
    """``arn:…:stateMachine:<machine>`` and a name → the ARN that execution has (or will have)."""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


def runs_of(peering_id: str, runs: list[Run]) -> list[Run]:
    return [run for run in runs if run.peering_id == peering_id]
