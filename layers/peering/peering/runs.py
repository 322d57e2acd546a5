"""Which workflow execution owns a peering: pure decisions over executions as Step Functions lists them.

Execution names are ``<pcx-id>-<hash>`` (``peering.events.execution_name``), so the peering an
execution works on is read from its name; nothing else has to be stored anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

EXECUTION_NAME = re.compile(r"^(pcx-[0-9a-zA-Z]{1,32})-")
DUPLICATE = "duplicate"
"""The Inspect decision of an execution that found another one already handling its peering."""


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


def runs_of(peering_id: str, runs: list[Run]) -> list[Run]:
    return [run for run in runs if run.peering_id == peering_id]


def owner_other_than(own_arn: str, peering_id: str, running: list[Run]) -> Run | None:
    """The running execution that owns ``peering_id`` when it is not ``own_arn``, else None.

    The owner is the earliest-started running execution of the peering (ties broken by ARN), so two
    executions that list each other agree on which one proceeds. An execution that does not yet see
    itself in the (eventually consistent) listing counts itself as the latest: it yields to any other
    running execution of the peering. Yielding is the safe error - nothing is changed, and the
    sweeper starts the peering again later - whereas two owners could roll back each other's routes.
    """
    mine = [run for run in runs_of(peering_id, running) if run.status == "RUNNING"]
    own = next((run for run in mine if run.arn == own_arn), None)
    others = [run for run in mine if run.arn != own_arn]
    if own is not None:
        others = [run for run in others if run.order < own.order]
    return min(others, key=lambda run: run.order) if others else None
