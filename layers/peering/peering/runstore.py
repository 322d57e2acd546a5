"""A run's store: what must not travel in the state document, kept in the stack's RunBucket.

Step Functions passes at most 256 KiB between states, and a route plan grows with route tables x CIDR
blocks (moto 5.2.5 enforces the same limit: moto/stepfunctions/parser/quotas.py:5-14). So PlanRoutes
leaves a ``StoredPlan`` in the state document (ids, counts, a digest) and the run keeps, under
``runs/<execution name>/`` in the bucket (a lifecycle rule expires it):

* ``plan.json`` - the whole ``RoutePlan``; Rollback reads it to remove exactly what this run created;
* ``chunks.json`` - ``[ChunkRef]``, the items of the ApplyRoutes Map (a Distributed Map's ItemReader);
* ``chunks/<side>-<n>.json`` - one chunk: a ``SidePlan`` with at most ``CHUNK_SIZE`` routes to create;
* ``applied/<side>-<n>.json`` - that chunk's ``AppliedSide`` (routes created, routes already there);
* ``failed/<side>-<n>.json`` - why that chunk failed, in one sentence (the Map Run's own failure names no item);
* ``network.json`` - the subnets and instances PrepareProbe read, reused by Verify;
* ``rollback.json`` - the routes Rollback removed and left alone.

Pure: keys, chunking, the digest and the size guard. The S3 calls are ``peering.aws.store``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from .errors import LimitExceeded
from .models import ChunkRef, RoutePlan, SideCounts, SidePlan, StoredPlan
from .records import SIDES

CHUNK_SIZE = 250
"""Routes one ApplyRoutes invocation creates at most: ~250 / 8 workers CreateRoute round trips, well inside the
function's timeout even when EC2 throttles and botocore backs off."""
STATE_LIMIT = 256 * 1024
"""Step Functions: "Maximum input or output size for a task, state, or execution: 256 KiB of data as a UTF-8
encoded string" (Developer Guide, Step Functions service quotas)."""
SNS_LIMIT = 256 * 1024
"""SNS: a message (Publish's ``Message``) is at most 256 KiB (SNS API reference, Publish)."""
CHUNK_RESULT_BYTES = 200
"""An upper bound on one ``ChunkApplied`` as JSON (side, index and two counts): the Map's result array holds one
per chunk before its ResultSelector counts them."""
FLOW_BYTES = 4096
"""A bound chosen for what one flow adds to the state document after PlanRoutes (its target in the probe round
and its run, its probe result, its path verdict with hops in the verification and again in the report). Not
measured per flow yet: the bench's runs (2 flows) have their largest state at about 11 KiB in all."""
LATER_BYTES = 16 * 1024
"""A bound chosen for what the stages after PlanRoutes add besides the flows (DNS, the probe round's settings,
the report's fields and reason sentences)."""


def prefix_for(execution_arn: str | None, peering_id: str) -> str:
    """``runs/<execution name>/`` (an execution's name is unique per state machine); a stage invoked outside an
    execution keeps its files under the peering's id."""
    name = execution_arn.rsplit(":", 1)[-1] if execution_arn and ":execution:" in execution_arn else peering_id
    return f"runs/{name}/"


def canonical(document: Any) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def digest(plan: RoutePlan) -> str:
    return hashlib.sha256(canonical(plan.wire())).hexdigest()


def plan_key(prefix: str) -> str:
    return f"{prefix}plan.json"


def network_key(prefix: str) -> str:
    return f"{prefix}network.json"


def rollback_key(prefix: str) -> str:
    return f"{prefix}rollback.json"


def failed_key(prefix: str, side: str, index: int) -> str:
    return f"{prefix}failed/{side}-{index:05d}.json"


def chunk_key(prefix: str, side: str, index: int) -> str:
    return f"{prefix}chunks/{side}-{index:05d}.json"


def applied_key(prefix: str, side: str, index: int) -> str:
    return f"{prefix}applied/{side}-{index:05d}.json"


def chunked(side_plan: SidePlan, size: int | None = None) -> Iterator[SidePlan]:
    """The side's routes to create in slices of at most ``size`` (default ``CHUNK_SIZE``; nothing else: present,
    skipped and shadowed routes stay in plan.json)."""
    size = size or CHUNK_SIZE
    for start in range(0, len(side_plan.create), size):
        yield side_plan.model_copy(update={"create": side_plan.create[start:start + size], "present": [],
                                           "skipped_tables": [], "shadowed": []})


def counts(side_plan: SidePlan) -> SideCounts:
    return SideCounts(side=side_plan.side, vpc_id=side_plan.vpc_id, account_id=side_plan.account_id,
                      region=side_plan.region, create=len(side_plan.create), present=len(side_plan.present),
                      skipped_tables=len(side_plan.skipped_tables), shadowed=len(side_plan.shadowed))


def layout(plan: RoutePlan, bucket: str, prefix: str, size: int | None = None
           ) -> tuple[StoredPlan, dict[str, SidePlan], list[ChunkRef]]:
    """The reference the state document carries, the chunk objects by key, and the chunk list, the two sides'
    chunks interleaved (the Map works on both sides at once, as the Parallel state it replaces did)."""
    size = size or CHUNK_SIZE
    objects: dict[str, SidePlan] = {}
    per_side: list[list[ChunkRef]] = []
    for role in SIDES:
        refs = []
        for index, chunk in enumerate(chunked(plan.side(role), size)):
            key = chunk_key(prefix, role, index)
            objects[key] = chunk
            refs.append(ChunkRef(side=role, index=index, key=key))
        per_side.append(refs)
    requester, accepter = per_side
    manifest = [ref for pair in _interleave(requester, accepter) for ref in pair]
    stored = StoredPlan(peering_id=plan.peering_id, bucket=bucket, prefix=prefix, digest=digest(plan),
                        chunks=len(manifest), chunk_size=size, manifest=f"{prefix}chunks.json",
                        requester=counts(plan.requester), accepter=counts(plan.accepter))
    return stored, objects, manifest


def _interleave(a: list[ChunkRef], b: list[ChunkRef]) -> Iterator[list[ChunkRef]]:
    for i in range(max(len(a), len(b))):
        yield [x[i] for x in (a, b) if i < len(x)]


STORED_PLAN_BYTES = 2048
"""An upper bound on a ``StoredPlan`` as JSON (ids, a digest, counts): what PlanRoutes adds, whatever the plan."""


def guard(document_bytes: int, flows: int, stored: StoredPlan | None = None) -> None:
    """Refuse a run that could pass a limit later, before it changes anything: Inspect calls it before it tags or
    accepts (``stored`` None: the plan's reference counted at its bound), PlanRoutes again with the plan's own
    reference and chunk count, before any route is created.

    ``document_bytes`` is the state document as the stage will leave it (without the plan); ``flows`` the most
    flows the run can verify (both directions of every target it may probe). What comes after PlanRoutes is
    bounded by ``LATER_BYTES`` and ``FLOW_BYTES`` per flow; the ApplyRoutes Map's result array by
    ``CHUNK_RESULT_BYTES`` per chunk.
    """
    plan_bytes = len(canonical(stored.wire())) if stored is not None else STORED_PLAN_BYTES
    projected = document_bytes + plan_bytes + len('"plan":,') + LATER_BYTES + flows * FLOW_BYTES
    if projected >= STATE_LIMIT:
        raise LimitExceeded(
            f"The run's state document could reach {projected // 1024} KiB ({flows} flows to verify), over Step "
            f"Functions' {STATE_LIMIT // 1024} KiB limit, so nothing was changed; lower MaxProbeTargets or the "
            "probe-targets tag.")
    if stored is not None and stored.chunks * CHUNK_RESULT_BYTES >= STATE_LIMIT:
        routes = stored.requester.create + stored.accepter.create
        raise LimitExceeded(
            f"The plan's {routes} routes make {stored.chunks} chunks of {stored.chunk_size}, more than one "
            f"ApplyRoutes Map can collect under Step Functions' {STATE_LIMIT // 1024} KiB limit, so no route was "
            "changed.")
