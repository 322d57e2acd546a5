"""peering.runstore: the plan kept outside the state document, in bounded chunks, and the size guard."""

import json

import pytest

from peering import runstore
from peering.errors import LimitExceeded
from peering.models import PlannedRoute, RoutePlan, SidePlan

PREFIX = "runs/pcx-1-abc/"


def plan(tables: int, cidrs: int) -> RoutePlan:
    def side(role: str, vpc: str) -> SidePlan:
        return SidePlan(side=role, vpc_id=vpc, account_id="123456789012", region="us-east-1",
                        create=[PlannedRoute(route_table_id=f"rtb-{role[0]}{t:05d}", destination=f"10.{c}.0.0/16")
                                for t in range(tables) for c in range(cidrs)],
                        present=[PlannedRoute(route_table_id="rtb-main", destination="10.99.0.0/16")])
    return RoutePlan(peering_id="pcx-1", requester=side("requester", "vpc-a"), accepter=side("accepter", "vpc-b"))


def test_every_planned_route_is_in_exactly_one_chunk_of_at_most_the_chunk_size_sides_interleaved():
    routes = plan(tables=101, cidrs=5)
    stored, objects, manifest = runstore.layout(routes, "bucket", PREFIX, size=50)

    chunked = [(c.side, r.route_table_id, r.destination) for c in objects.values() for r in c.create]
    planned = [(s.side, r.route_table_id, r.destination) for s in (routes.requester, routes.accepter) for r in s.create]
    assert sorted(chunked) == sorted(planned) and len(chunked) == len(set(chunked))
    assert all(len(c.create) <= 50 for c in objects.values())
    assert stored.chunks == len(manifest) == len(objects) == 2 * 11  # 505 routes per side: 10 chunks of 50, one of 5
    assert [ref.side for ref in manifest[:4]] == ["requester", "accepter", "requester", "accepter"]
    assert {ref.key for ref in manifest} == set(objects) and all(k.startswith(PREFIX) for k in objects)
    assert all(c.present == [] for c in objects.values()), "what is already in place stays in plan.json"
    assert (stored.requester.create, stored.requester.present, stored.accepter.create) == (505, 1, 505)


def test_the_reference_in_the_state_document_does_not_grow_with_the_plan():
    small, _, _ = runstore.layout(plan(tables=1, cidrs=1), "bucket", PREFIX)
    large, _, _ = runstore.layout(plan(tables=1000, cidrs=10), "bucket", PREFIX)  # 10,000 routes per side
    small_bytes, large_bytes = (len(runstore.canonical(s.wire())) for s in (small, large))
    assert large_bytes - small_bytes < 16, "only the counts' digits grow"
    assert large_bytes < 1024


def test_the_digest_names_the_plan_exactly():
    one = plan(tables=3, cidrs=2)
    other = one.model_copy(update={"requester": one.requester.model_copy(update={"create": one.requester.create[1:]})})
    assert runstore.digest(one) == runstore.digest(plan(tables=3, cidrs=2))
    assert runstore.digest(one) != runstore.digest(other)


def test_the_prefix_is_the_executions_name_or_the_peering_outside_an_execution():
    arn = "arn:aws:states:us-east-1:123456789012:execution:peering-autopilot-PeeringStateMachine:pcx-1-abc"
    assert runstore.prefix_for(arn, "pcx-1") == PREFIX
    assert runstore.prefix_for(None, "pcx-1") == "runs/pcx-1/"


def test_the_guard_passes_an_ordinary_run_and_refuses_in_one_sentence_what_could_pass_the_limit():
    stored, _, _ = runstore.layout(plan(tables=1000, cidrs=10), "bucket", PREFIX)
    runstore.guard(8 * 1024, 10, stored)  # the default MaxProbeTargets (5) both ways
    runstore.guard(8 * 1024, 10)  # Inspect's check: the plan's reference at its bound

    with pytest.raises(LimitExceeded) as big_state:
        runstore.guard(runstore.STATE_LIMIT - runstore.LATER_BYTES, 10, stored)
    message = str(big_state.value)
    assert message.endswith("nothing was changed; lower MaxProbeTargets or the probe-targets tag.")
    assert message.count(". ") == 0, "one sentence"

    many, _, _ = runstore.layout(plan(tables=2000, cidrs=10), "bucket", PREFIX, size=10)  # 4,000 chunks
    with pytest.raises(LimitExceeded, match=r"^The plan's 40000 routes make 4000 chunks of 10, .* no route was chang"):
        runstore.guard(8 * 1024, 10, many)


def test_the_guard_counts_the_document_as_it_leaves_plan_routes():
    stored, _, _ = runstore.layout(plan(tables=1, cidrs=1), "bucket", PREFIX)
    room = runstore.STATE_LIMIT - runstore.LATER_BYTES - len(json.dumps(stored.wire()))
    runstore.guard(room - 64, 0, stored)
    with pytest.raises(LimitExceeded):
        runstore.guard(room + 64, 0, stored)
    assert len(runstore.canonical(stored.wire())) <= runstore.STORED_PLAN_BYTES
