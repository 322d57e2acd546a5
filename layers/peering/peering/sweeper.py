"""The sweeper: a schedule that makes sure a lost or late event never loses a request or a cleanup.

Each sweep, in the stack's own account and region:

1. lists the peerings pending acceptance that carry the trigger tag set to true, and starts the
   workflow for each one that has no RUNNING execution and no SUCCEEDED one that did real work (a
   duplicate no-op run, decision ``duplicate``, does not count), through ``once.start_once``: only
   when it takes the peering's lease; a FAILED run is retried by the next sweep, as a fresh tag would;
2. finds routes in the region's route tables whose target is a peering described as gone (deleted,
   rejected, expired or failed; a peering EC2 no longer describes is never taken for gone) and removes
   the stack's own blackholes on both sides with ``cleanup.Cleanup`` - for a delete whose event was
   lost, or one made from the other account.

With ``AllowedTaggers`` set, the sweep starts nothing: it cannot tell who set a tag, and only the
intake (which reads the CloudTrail event's identity) may start a run then.

Tags on a peering exist only where they were set, so the sweep covers requests made in this account
and region; a peering deleted in another account is found through the routes left here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from .aws import inventory
from .cleanup import Cleanup, CleanupResult, gone
from .deps import Deps
from .errors import InvalidInput
from .models import Wire
from .once import StartResult, start_once
from .records import PEERING_ID_PREFIX, Peering, RouteTable
from .runs import DUPLICATE, Run, runs_of

SWEEP_EVENT = "Sweep"


class SweepResult(Wire):
    started: list[StartResult] = Field(default_factory=list)
    skipped: list[StartResult] = Field(default_factory=list)
    cleaned: list[CleanupResult] = Field(default_factory=list)
    reason: str


# -- pure ------------------------------------------------------------------------------------------
def is_duplicate_output(output: Any) -> bool:
    """Whether a SUCCEEDED execution's output is the no-op of a duplicate run (see ``once``)."""
    inspection = output.get("inspection") if isinstance(output, dict) else None
    return isinstance(inspection, dict) and inspection.get("decision") == DUPLICATE


def start_decision(peering_id: str, runs: list[Run], duplicate: Callable[[Run], bool]) -> str | None:
    """Why the sweep must not start ``peering_id`` (None: start it). ``runs`` are the peering's executions;
    ``duplicate(run)`` tells whether a SUCCEEDED run was a no-op (asked newest first, lazily)."""
    mine = sorted(runs_of(peering_id, runs), key=lambda run: run.order, reverse=True)
    running = next((run for run in mine if run.status == "RUNNING"), None)
    if running is not None:
        return f"Execution {running.name} is already handling {peering_id}."
    done = next((run for run in mine if run.status == "SUCCEEDED" and not duplicate(run)), None)
    if done is not None:
        return f"Execution {done.name} already handled {peering_id}."
    return None


def dangling(tables: list[RouteTable], described: dict[str, Peering]) -> list[str]:
    """Peerings that routes point at although EC2 describes them as gone, in id order (one that is not
    described is never counted: that may be an eventual-consistency miss)."""
    return sorted(pcx for pcx in peering_targets(tables) if pcx in described and gone(described[pcx].state))


def peering_targets(tables: list[RouteTable]) -> list[str]:
    """The peerings the tables' routes point at, in id order."""
    return sorted({r.target for t in tables for r in t.routes if r.target and r.target.startswith(PEERING_ID_PREFIX)})


# -- orchestration ---------------------------------------------------------------------------------
def sweep(deps: Deps, event: Any = None) -> SweepResult:
    """One sweep; ``event`` is the scheduled event, whose id names
    the executions it starts, so a retried invocation of the same sweep starts nothing twice."""
    machine = deps.settings.state_machine_arn
    if not machine:
        raise InvalidInput("The sweeper has no STATE_MACHINE_ARN setting; redeploy the stack.")
    event = event if isinstance(event, dict) else {}
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    trigger = {"eventName": SWEEP_EVENT, "eventId": str(event.get("id") or f"sweep-{now}"),
               "eventTime": str(event.get("time") or now)}
    ec2 = deps.ec2()
    sfn = deps.sfn()

    started: list[StartResult] = []
    skipped: list[StartResult] = []
    pending = [] if deps.settings.allowed_taggers else inventory.tagged_pending_peerings(
        ec2, deps.settings.trigger_tag_key)
    if pending:
        runs = sfn.runs(machine)
        outputs: dict[str, bool] = {}

        def duplicate(run: Run) -> bool:
            if run.arn not in outputs:
                outputs[run.arn] = is_duplicate_output(sfn.output(run.arn))
            return outputs[run.arn]

        for peering in sorted(pending, key=lambda p: p.peering_id):
            why_not = start_decision(peering.peering_id, runs, duplicate)
            if why_not is not None:
                skipped.append(StartResult(peering_id=peering.peering_id, started=False, reason=why_not))
                continue
            result = start_once(sfn, deps.leases(), machine, peering.peering_id, trigger)
            (started if result.started else skipped).append(result)

    tables = inventory.route_tables(ec2)
    described = inventory.peerings_by_id(ec2, peering_targets(tables))
    cleanup = Cleanup(deps)
    cleaned = [cleanup.clean(pcx, described[pcx], raise_on_problem=False) for pcx in dangling(tables, described)]

    deps.metric("SweepStarted", len(started))
    starts = ("AllowedTaggers is set, so the sweep starts no request" if deps.settings.allowed_taggers else
              f"{len(pending)} tagged request(s) pending: {len(started)} started, {len(skipped)} already handled")
    reason = f"{starts}; {len(cleaned)} gone peering(s) cleaned up."
    return SweepResult(started=started, skipped=skipped, cleaned=cleaned, reason=reason)
