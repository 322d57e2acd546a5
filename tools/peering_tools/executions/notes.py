"""What each stage's result says, in a few words (the timeline's DETAIL column).

Dispatched on the result's model type (``peering.stages`` names one per stage), so a stage whose
result model has no note here fails ``tests/cli/test_executions_model.py``; the attributes read are
the models' own, so a renamed field fails there too.
"""

from __future__ import annotations

from functools import singledispatch

from peering.models import (
    Acceptance,
    Activation,
    AppliedRoutes,
    ChunkApplied,
    DnsResult,
    Inspection,
    ProbeRequest,
    ProbeRound,
    RollbackResult,
    StoredPlan,
    Summary,
    Verification,
    Wire,
)


def one_line(text: str, limit: int = 400) -> str:
    """Whitespace collapsed, never longer than ``limit`` characters."""
    sentence = " ".join(text.split())
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


@singledispatch
def note(result: Wire) -> str:
    raise TypeError(f"No timeline note for {type(result).__name__}; add one to peering_tools.executions.notes.")


@note.register
def _(r: Inspection) -> str:
    return f"{r.decision}: {one_line(r.reason)}"


@note.register
def _(r: Acceptance) -> str:
    return f"{'accepted now' if r.accepted_now else 'already accepted'}; peering {r.peering_state}"


@note.register
def _(r: Activation) -> str:
    return f"{r.state} (peering {r.peering_state}, poll {r.attempt})"


@note.register
def _(r: StoredPlan) -> str:
    sides = (r.requester, r.accepter)
    return (f"{sum(s.create for s in sides)} route(s) to create in {r.chunks} chunk(s), "
            f"{sum(s.present for s in sides)} already in place")


@note.register
def _(r: ChunkApplied) -> str:
    return f"{r.side} chunk {r.index}: {r.created} created, {r.already_present} already present"


def applied(routes: AppliedRoutes) -> str:
    """The Map state that applies both sides' chunks (their items run as child executions)."""
    return f"{routes.chunks} chunk(s) applied"


@note.register
def _(r: DnsResult) -> str:
    return one_line(r.reason)


@note.register
def _(r: ProbeRound) -> str:
    if not r.applicable:
        return f"not applicable: {one_line(r.reason)}"
    if not r.results:
        return f"{len(r.targets)} target(s) planned: {one_line(r.reason)}"
    answered = sum(1 for x in r.results if x.reachable)
    errors = sorted({x.error for x in r.results if x.error})
    tail = f" ({', '.join(errors)})" if errors else ""
    return f"attempt {r.attempt}: {answered}/{len(r.results)} target(s) answered{tail}"


@note.register
def _(r: ProbeRequest) -> str:  # the Probe task returns its request with the attempt's results
    return note(r.probe)


@note.register
def _(r: Verification) -> str:
    return one_line(r.reason)


@note.register
def _(r: RollbackResult) -> str:
    return f"removed {r.removed} route(s), left {r.left_alone} alone"


@note.register
def _(r: Summary) -> str:
    return f"status {r.status}"
