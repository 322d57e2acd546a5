"""Before/after comparison of every route table: what a run may and may not leave behind."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import all_route_tables

REQUESTER_ROUTE = "10.7.0.0/16"  # the seed's route in A's tables
ACCEPTER_ROUTE = "10.6.0.0/16"  # the seed's route in B's tables


def routes_by_table(snapshot: list[dict]) -> dict[str, set[str]]:
    return {t["id"]: set(t["routes"]) for t in snapshot}


def new_routes(before: list[dict], after: list[dict]) -> set[tuple[str, str, str | None]]:
    """(table, destination, target) of every route in ``after`` that was not in ``before``."""
    old = routes_by_table(before)
    found = set()
    for table, routes in routes_by_table(after).items():
        for raw in routes - old.get(table, set()):
            route = json.loads(raw)
            destination = route.get("DestinationCidrBlock") or route.get("DestinationIpv6CidrBlock")
            target = next((v for k, v in route.items() if k.endswith("Id") and k != "DestinationPrefixListId"), None)
            found.add((table, destination, target))
    return found


def assert_no_preexisting_route_changed(before: list[dict], after: list[dict]) -> None:
    now = routes_by_table(after)
    for table, routes in routes_by_table(before).items():
        assert table in now, f"route table {table} disappeared"
        missing = routes - now[table]
        assert not missing, f"pre-existing routes of {table} changed or vanished: {sorted(missing)}"


def assert_routes_after(before: list[dict], ec2: Any, pcx: str, *, kept: set[tuple[str, str]],
                        others: set[tuple[str, str, str]] = frozenset()) -> None:
    """Pre-existing routes intact; the routes now pointing at ``pcx`` that were not there before are
    exactly ``kept``; any other new route is one a concurrent actor made (``others``)."""
    after = all_route_tables(ec2)
    assert_no_preexisting_route_changed(before, after)
    added = new_routes(before, after)
    assert {(t, d) for t, d, target in added if target == pcx} == kept
    assert {r for r in added if r[2] != pcx} == set(others)
