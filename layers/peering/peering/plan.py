"""Pure planning: decide whether a peering may proceed and which routes it needs. No boto3 here.

Everything takes plain models read by the adapters and returns values or one-sentence reasons, so
every rule is tested without mocks.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from .config import CONSENT_TAG, SKIP_TAG, VERIFY_DIRECTION_TAG, Settings
from .errors import RouteConflict, RouteQuotaExceeded
from .models import PlannedRoute, RoutePlan, ShadowedRoute, SidePlan
from .records import ACTIONABLE_STATES, SIDES, Peering, Route, RouteTable, Side, VpcSide

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DIRECTIONS: dict[str, tuple[Side, ...]] = {
    "requester-to-accepter": ("requester",),
    "accepter-to-requester": ("accepter",),
    "both": ("requester", "accepter"),
}
"""Values of the verify-direction tag and the sides whose flows (as sources) they ask for."""
DEFAULT_DIRECTION = "requester-to-accepter"


def direction_problem(tags: dict[str, str]) -> str | None:
    """The one-sentence refusal for an unusable verify-direction tag, or None."""
    if VERIFY_DIRECTION_TAG not in tags:
        return None
    value = tags[VERIFY_DIRECTION_TAG]
    if value.strip().lower() in DIRECTIONS:
        return None
    return (f"The tag {VERIFY_DIRECTION_TAG}={value!r} is not one of {', '.join(DIRECTIONS)}, so the peering was "
            "left alone.")


def asked_sources(tags: dict[str, str]) -> tuple[Side, ...] | None:
    """The sides the verify-direction tag asks flows from; None when the tag is absent.

    An invalid value never gets here (Inspect refuses it); it reads as the default to stay total.
    """
    if VERIFY_DIRECTION_TAG not in tags:
        return None
    return DIRECTIONS.get(tags[VERIFY_DIRECTION_TAG].strip().lower(), DIRECTIONS[DEFAULT_DIRECTION])


def tag_is_true(value: str | None) -> bool:
    """The trigger tag's value counts as set when it is ``true`` in any case, ignoring surrounding spaces."""
    return value is not None and value.strip().lower() == "true"


def network(cidr: str) -> Network:
    return ipaddress.ip_network(cidr.strip(), strict=False)


def overlaps(left: Iterable[str], right: Iterable[str]) -> list[tuple[str, str]]:
    """Every pair (l, r) of CIDR blocks of the same IP version that share at least one address."""
    right_nets = [(r, network(r)) for r in right]
    found = []
    for cidr in left:
        net = network(cidr)
        for other, other_net in right_nets:
            if net.version == other_net.version and net.overlaps(other_net):
                found.append((cidr, other))
    return found


def outside(cidrs: Iterable[str], allowed: Sequence[str]) -> list[str]:
    """The CIDR blocks that do not fall wholly inside any allowed range (of the same IP version)."""
    allowed_nets = [network(a) for a in allowed]
    result = []
    for cidr in cidrs:
        net = network(cidr)
        if not any(net.version == a.version and net.subnet_of(a) for a in allowed_nets):
            result.append(cidr)
    return result


def consent_entries(value: str | None) -> list[str]:
    """The entries of a ``peering-automation/accept-from`` tag: account ids, VPC ids or ``*``, separated by
    commas or spaces ([] when the tag is absent or empty)."""
    return [item for item in (value or "").replace(",", " ").split() if item]


def consents(side: VpcSide, peer: VpcSide) -> bool:
    """Whether ``side``'s VPC accepts a peering with ``peer``'s VPC: its tag names ``*``, the peer's account
    or the peer's VPC."""
    entries = side.accept_from or []
    return "*" in entries or peer.account_id in entries or peer.vpc_id in entries


def pre_read_refusal(peering: Peering, settings: Settings) -> str | None:
    """The reason to refuse from the peering record alone, before either VPC is read (or None).

    Rules, in order: opt-in tag, state, requester account, accepter account, the verify-direction tag.
    Nothing of a VPC whose account is not allowed is ever read.
    """
    key = settings.trigger_tag_key
    if key not in peering.tags:
        return f"{peering.peering_id} does not carry the tag {key}=true, so it was left alone."
    if not tag_is_true(peering.tags[key]):
        return (
            f"{peering.peering_id} has {key}={peering.tags[key]!r} rather than 'true', "
            "so it was left alone."
        )
    if peering.state not in ACTIONABLE_STATES:
        return f"{peering.peering_id} is {peering.state}, so there is nothing to accept or route."
    requester = peering.requester
    if requester.account_id not in settings.requester_allow_list:
        return (
            f"Requester account {requester.account_id} is not in AllowedRequesterAccounts "
            f"({', '.join(settings.requester_allow_list)})."
        )
    accepter = peering.accepter
    if accepter.account_id not in settings.accepter_allow_list:
        return (
            f"Accepter account {accepter.account_id} is not in AllowedAccepterAccounts "
            f"({', '.join(settings.accepter_allow_list)})."
        )
    problem = direction_problem(peering.tags)
    if problem is not None:
        return problem
    return None


def refusal(peering: Peering, settings: Settings) -> str | None:
    """The one-sentence reason the peering must not be touched, or None when it may proceed.

    ``peering`` carries both VPCs as read live (CIDR blocks and consent tags). Rules, in order: those of
    ``pre_read_refusal``, then consent of both VPCs (ConsentMode ``tag``), peer CIDR ranges, overlap.
    """
    early = pre_read_refusal(peering, settings)
    if early is not None:
        return early
    if settings.consent_mode == "tag":
        for side in SIDES:
            mine, peer = peering.side(side), peering.peer_of(side)
            if not consents(mine, peer):
                listed = ", ".join(mine.accept_from or []) or "nothing (the tag is missing)"
                return (
                    f"{side.capitalize()} VPC {mine.vpc_id} (account {mine.account_id}) does not consent to "
                    f"{peer.vpc_id} of account {peer.account_id}: its {CONSENT_TAG} tag lists {listed}; "
                    "nothing was changed."
                )
    for side in (peering.requester, peering.accepter):
        bad = outside(side.all_cidrs, settings.allowed_peer_cidrs)
        if bad:
            return (
                f"{side.role.capitalize()} VPC {side.vpc_id} has {', '.join(bad)}, outside "
                f"AllowedPeerCidrs ({', '.join(settings.allowed_peer_cidrs)})."
            )
    clash = overlaps(peering.requester.all_cidrs, peering.accepter.all_cidrs)
    if clash:
        left, right = clash[0]
        return (
            f"Requester VPC {peering.requester.vpc_id} ({left}) overlaps accepter VPC "
            f"{peering.accepter.vpc_id} ({right}); overlapping VPCs cannot be routed."
        )
    return None


def targets_outside(hosts: Iterable[str], peering: Peering) -> list[str]:
    """Probe target addresses that fall in neither VPC of the peering (the probe may aim nowhere else)."""
    nets = [network(c) for c in (*peering.requester.all_cidrs, *peering.accepter.all_cidrs)]
    found = []
    for host in hosts:
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            found.append(host)
            continue
        if not any(address.version == n.version and address in n for n in nets):
            found.append(host)
    return found


def _is_skipped(table: RouteTable) -> bool:
    return tag_is_true(table.tags.get(SKIP_TAG))


def _same_destination(a: str, b: str) -> bool:
    try:
        return network(a) == network(b)
    except ValueError:
        return False


EGRESS_TARGET_PREFIXES = ("igw-", "eigw-", "nat-")
"""Default routes to these carry Internet egress, never a private range another path inspects."""


def shadows(destination: str, route: Route, peering_id: str) -> bool:
    """Whether a route to ``destination`` through the peering would overlap ``route`` (more or less specific,
    not the same destination) and take traffic from another target: every non-local route counts except a
    default route (/0) to an Internet, egress-only Internet or NAT gateway."""
    if route.target in (None, "local", peering_id) or route.origin == "CreateRouteTable":
        return False
    try:
        wanted, existing = network(destination), network(route.destination)
    except ValueError:
        return False
    if wanted.version != existing.version or wanted == existing or not wanted.overlaps(existing):
        return False
    return not (existing.prefixlen == 0 and route.target.startswith(EGRESS_TARGET_PREFIXES))


def plan_side(
    peering_id: str, side: VpcSide, peer: VpcSide, tables: Sequence[RouteTable], quota: int, allow_shadowing: bool,
) -> SidePlan:
    """Routes for one side: every non-skipped table of ``side`` x every CIDR of ``peer``.

    Raises RouteConflict (same destination, another target; or an overlap with another route unless
    ``allow_shadowing``) or RouteQuotaExceeded, naming the table, before anything is changed.
    """
    create: list[PlannedRoute] = []
    present: list[PlannedRoute] = []
    skipped: list[str] = []
    shadowed: list[ShadowedRoute] = []
    for table in sorted(tables, key=lambda t: t.route_table_id):
        if table.vpc_id != side.vpc_id:
            continue
        if _is_skipped(table):
            skipped.append(table.route_table_id)
            continue
        new_here = 0
        for destination in peer.all_cidrs:
            wanted = PlannedRoute(route_table_id=table.route_table_id, destination=destination)
            existing = next((r for r in table.routes if _same_destination(r.destination, destination)), None)
            if existing is None:
                overlap = [r for r in table.routes if shadows(destination, r, peering_id)]
                if overlap and not allow_shadowing:
                    other = overlap[0]
                    raise RouteConflict(
                        f"Route table {table.route_table_id} ({side.role} VPC {side.vpc_id}) sends "
                        f"{other.destination} to {other.target}, which overlaps the planned route {destination} "
                        f"to {peering_id}; no route was changed (AllowShadowing=true permits it)."
                    )
                shadowed += [ShadowedRoute(route_table_id=table.route_table_id, destination=destination,
                                           existing_destination=r.destination, existing_target=r.target or "")
                             for r in overlap]
                create.append(wanted)
                new_here += 1
            elif existing.target == peering_id:
                present.append(wanted)
            else:
                raise RouteConflict(
                    f"Route table {table.route_table_id} ({side.role} VPC {side.vpc_id}) already sends "
                    f"{destination} to {existing.target or 'an unknown target'}"
                    f"{' (blackhole)' if existing.state == 'blackhole' else ''}, not to {peering_id}; "
                    "no route was changed."
                )
        if new_here and len(table.routes) + new_here > quota:
            raise RouteQuotaExceeded(
                f"Route table {table.route_table_id} ({side.role} VPC {side.vpc_id}) has "
                f"{len(table.routes)} routes and needs {new_here} more, past its quota of {quota}; "
                "no route was changed."
            )
    return SidePlan(
        side=side.role,
        vpc_id=side.vpc_id,
        account_id=side.account_id,
        region=side.region,
        create=create,
        present=present,
        skipped_tables=skipped,
        shadowed=shadowed,
    )


def plan_routes(
    peering: Peering, tables: dict[str, Sequence[RouteTable]], quota: int, allow_shadowing: bool = False
) -> RoutePlan:
    """Both sides' plans. ``tables`` maps 'requester'/'accepter' to that side's route tables."""
    sides = {
        role: plan_side(peering.peering_id, peering.side(role), peering.peer_of(role), tables[role], quota,
                        allow_shadowing)
        for role in SIDES
    }
    return RoutePlan(peering_id=peering.peering_id, **sides)
