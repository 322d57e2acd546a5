"""Pure planning: refusals, overlaps, route plans, conflicts and quotas - no AWS involved."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peering import plan
from peering.config import Settings
from peering.errors import RouteConflict, RouteQuotaExceeded
from peering.records import Peering, Route, RouteTable, VpcSide

PCX = "pcx-0123456789abcdef0"
KEY = "peering-automation/auto-accept"


def side(role, vpc, cidrs, ipv6=(), account="111111111111", consent=("*",)):
    return VpcSide(role=role, vpc_id=vpc, account_id=account, region="us-east-1", cidrs=list(cidrs),
                   ipv6_cidrs=list(ipv6), accept_from=None if consent is None else list(consent))


def peering(state="pending-acceptance", tags=None, requester=None, accepter=None):
    return Peering(
        peering_id=PCX, state=state,
        requester=requester or side("requester", "vpc-a", ["10.6.0.0/16"]),
        accepter=accepter or side("accepter", "vpc-b", ["10.7.0.0/16"]),
        tags={KEY: "true"} if tags is None else tags,
    )


SETTINGS = Settings(stack_account_id="111111111111")


@pytest.mark.parametrize("value, expected", [
    ("true", True), ("TRUE", True), (" True\t", True), ("false", False), ("", False), ("yes", False),
    (None, False), ("true!", False), ("t r u e", False),
])
def test_tag_is_true_accepts_only_true_in_any_case_trimmed(value, expected):
    assert plan.tag_is_true(value) is expected


def test_overlaps_finds_pairs_of_the_same_ip_version_only():
    assert plan.overlaps(["10.6.0.0/16", "2001:db8::/56"], ["10.6.128.0/17", "2001:db8::/64"]) == [
        ("10.6.0.0/16", "10.6.128.0/17"), ("2001:db8::/56", "2001:db8::/64")]
    assert plan.overlaps(["10.6.0.0/16"], ["10.7.0.0/16", "2001:db8::/56"]) == []


def test_outside_reports_blocks_not_wholly_inside_an_allowed_range():
    assert plan.outside(["10.6.0.0/16", "10.200.0.0/16", "192.168.0.0/24"], ["10.0.0.0/9"]) == [
        "10.200.0.0/16", "192.168.0.0/24"]
    # sharing addresses with an allowed range is not being inside it
    assert plan.outside(["10.0.0.0/8", "10.96.0.0/11", "10.64.0.0/10"], ["10.0.0.0/9"]) == ["10.0.0.0/8"]
    assert plan.outside(["fd00::/7", "fd00:1::/48"], ["fd00::/8"]) == ["fd00::/7"]


@pytest.mark.parametrize("allowed, requester, accepter, refused", [
    ("10.6.0.0/16,10.7.0.0/16", ["10.6.0.0/16"], ["10.7.0.0/16"], None),  # exactly the allowed ranges
    ("10.6.0.0/17,10.7.0.0/16", ["10.6.0.0/16"], ["10.7.0.0/16"], "Requester VPC vpc-a has 10.6.0.0/16"),
    ("10.6.0.0/16,10.7.128.0/17", ["10.6.0.0/16"], ["10.7.0.0/16"], "Accepter VPC vpc-b has 10.7.0.0/16"),
    ("10.0.0.0/8", ["10.6.0.0/16"], ["172.16.0.0/16"], "Accepter VPC vpc-b has 172.16.0.0/16"),
    ("10.0.0.0/8,fd00::/8", ["10.6.0.0/16", "fd00:1::/48"], ["10.7.0.0/16"], None),
    ("10.0.0.0/8,fd00::/8", ["10.6.0.0/16"], ["10.7.0.0/16", "2600:1f18::/56"], "Accepter VPC vpc-b has 2600"),
    ("fd00::/8", ["10.6.0.0/16"], ["10.7.0.0/16"], "Requester VPC vpc-a has 10.6.0.0/16"),  # no IPv4 range allowed
])
def test_allowed_peer_cidrs_admits_only_blocks_inside_an_allowed_range(allowed, requester, accepter, refused):
    """Independent examples (not the rule restated): a VPC block that merely overlaps an allowed range, as
    10.6.0.0/16 overlaps 10.6.0.0/17, is outside AllowedPeerCidrs."""
    settings = Settings.from_env({"STACK_ACCOUNT_ID": "111111111111", "ALLOWED_PEER_CIDRS": allowed})
    r = side("requester", "vpc-a", [c for c in requester if "." in c], [c for c in requester if ":" in c])
    a = side("accepter", "vpc-b", [c for c in accepter if "." in c], [c for c in accepter if ":" in c])

    reason = plan.refusal(peering(requester=r, accepter=a), settings)

    if refused is None:
        assert reason is None
    else:
        assert reason is not None and reason.startswith(refused) and "outside AllowedPeerCidrs" in reason


def test_seed_peering_is_not_refused():
    assert plan.refusal(peering(), SETTINGS) is None


@pytest.mark.parametrize("case, kwargs, settings, fragment", [
    ("untagged", {"tags": {}}, SETTINGS, "does not carry the tag"),
    ("tag false", {"tags": {KEY: "false"}}, SETTINGS, "rather than 'true'"),
    ("rejected state", {"state": "rejected"}, SETTINGS, "is rejected"),
    ("expired state", {"state": "expired"}, SETTINGS, "is expired"),
    ("foreign requester", {"requester": side("requester", "vpc-a", ["10.6.0.0/16"], account="999999999999")},
     SETTINGS, "Requester account 999999999999 is not in AllowedRequesterAccounts"),
    ("foreign accepter", {"accepter": side("accepter", "vpc-b", ["10.7.0.0/16"], account="888888888888")},
     SETTINGS, "Accepter account 888888888888 is not in AllowedAccepterAccounts (111111111111)"),
    ("cidr outside allowed", {}, Settings(stack_account_id="111111111111", allowed_peer_cidrs=("10.6.0.0/16",)),
     "Accepter VPC vpc-b has 10.7.0.0/16, outside AllowedPeerCidrs"),
    ("public cidr outside the default private ranges",
     {"accepter": side("accepter", "vpc-b", ["10.7.0.0/16", "203.0.113.0/24"])}, SETTINGS,
     "Accepter VPC vpc-b has 203.0.113.0/24, outside AllowedPeerCidrs (10.0.0.0/8"),
    ("ipv6 outside fd00::/8 by default", {"accepter": side("accepter", "vpc-b", ["10.7.0.0/16"], ["2600:1f18::/56"])},
     SETTINGS, "2600:1f18::/56, outside AllowedPeerCidrs"),
    ("accepter does not consent", {"accepter": side("accepter", "vpc-b", ["10.7.0.0/16"], consent=[])}, SETTINGS,
     "Accepter VPC vpc-b (account 111111111111) does not consent to vpc-a of account 111111111111: its "
     "peering-automation/accept-from tag lists nothing (the tag is missing)"),
    ("requester consents to another vpc only",
     {"requester": side("requester", "vpc-a", ["10.6.0.0/16"], consent=["vpc-c", "222222222222"])}, SETTINGS,
     "Requester VPC vpc-a (account 111111111111) does not consent to vpc-b of account 111111111111: its "
     "peering-automation/accept-from tag lists vpc-c, 222222222222"),
    ("overlap", {"accepter": side("accepter", "vpc-b", ["10.6.128.0/17"])}, SETTINGS, "overlaps accepter VPC"),
    ("secondary overlap", {"accepter": side("accepter", "vpc-b", ["10.7.0.0/16", "10.6.5.0/24"])}, SETTINGS,
     "10.6.5.0/24"),
    ("ipv6 overlap", {"requester": side("requester", "vpc-a", ["10.6.0.0/16"], ["2600:1f18::/56"]),
                      "accepter": side("accepter", "vpc-b", ["10.7.0.0/16"], ["2600:1f18::/64"])}, SETTINGS,
     "2600:1f18::/56"),
])
def test_refusal_names_the_rule_in_one_sentence(case, kwargs, settings, fragment):
    reason = plan.refusal(peering(**kwargs), settings)
    assert reason is not None and fragment in reason
    assert reason.endswith(".") and "\n" not in reason


@pytest.mark.parametrize("requester_consent, accepter_consent", [
    (["*"], ["*"]), (["vpc-b"], ["vpc-a"]), (["111111111111"], ["vpc-a", "vpc-z"]),
])
def test_consent_by_vpc_id_account_or_star_on_both_sides_proceeds(requester_consent, accepter_consent):
    p = peering(requester=side("requester", "vpc-a", ["10.6.0.0/16"], consent=requester_consent),
                accepter=side("accepter", "vpc-b", ["10.7.0.0/16"], consent=accepter_consent))
    assert plan.refusal(p, SETTINGS) is None


def test_consent_mode_account_needs_no_tag_but_still_the_account_lists():
    settings = Settings(stack_account_id="111111111111", consent_mode="account")
    untagged = peering(requester=side("requester", "vpc-a", ["10.6.0.0/16"], consent=[]),
                       accepter=side("accepter", "vpc-b", ["10.7.0.0/16"], consent=[]))
    assert plan.refusal(untagged, settings) is None
    foreign = peering(accepter=side("accepter", "vpc-b", ["10.7.0.0/16"], account="999999999999", consent=[]))
    assert "not in AllowedAccepterAccounts" in plan.refusal(foreign, settings)


def test_a_star_does_not_widen_the_account_lists():
    foreign = peering(accepter=side("accepter", "vpc-b", ["10.7.0.0/16"], account="999999999999"))
    assert "not in AllowedAccepterAccounts" in plan.refusal(foreign, SETTINGS)


def test_pre_read_refusal_decides_accounts_without_vpc_facts_and_leaves_consent_to_the_full_rule():
    unread = peering(accepter=side("accepter", "vpc-b", [], consent=None))
    assert plan.pre_read_refusal(unread, SETTINGS) is None
    foreign = peering(requester=side("requester", "vpc-a", [], account="999999999999", consent=None))
    assert "Requester account 999999999999" in plan.pre_read_refusal(foreign, SETTINGS)


@pytest.mark.parametrize("value, entries", [
    (None, []), ("", []), ("*", ["*"]), ("vpc-a, 111111111111", ["vpc-a", "111111111111"]),
    (" vpc-a  vpc-b ", ["vpc-a", "vpc-b"]),
])
def test_consent_entries_split_on_commas_and_spaces(value, entries):
    assert plan.consent_entries(value) == entries


def test_probe_targets_outside_both_vpcs_are_named():
    assert plan.targets_outside(["10.7.1.4", "10.6.0.9", "192.168.1.1", "8.8.8.8", "nonsense"], peering()) == [
        "192.168.1.1", "8.8.8.8", "nonsense"]


def test_allowed_requester_accounts_replace_the_stack_account():
    settings = Settings(stack_account_id="111111111111", allowed_requester_accounts=("222222222222",))
    assert "not in AllowedRequesterAccounts" in plan.refusal(peering(), settings)


def table(rtb, vpc, routes=(), tags=None):
    return RouteTable(route_table_id=rtb, vpc_id=vpc, tags=tags or {}, routes=[
        Route(destination=d, target=t, origin="CreateRouteTable" if t == "local" else "CreateRoute")
        for d, t in routes])


def test_plan_routes_every_table_of_each_side_to_every_peer_cidr_including_secondary_and_ipv6():
    p = peering(requester=side("requester", "vpc-a", ["10.6.0.0/16"], ["2600:1f18:a::/56"]),
                accepter=side("accepter", "vpc-b", ["10.7.0.0/16", "100.64.0.0/24"], ["2600:1f18:b::/56"]))
    tables = {
        "requester": [table("rtb-a1", "vpc-a", [("10.6.0.0/16", "local")]), table("rtb-a2", "vpc-a")],
        "accepter": [table("rtb-b1", "vpc-b")],
    }
    result = plan.plan_routes(p, tables, quota=50)
    assert {(r.route_table_id, r.destination) for r in result.requester.create} == {
        (rtb, dest) for rtb in ("rtb-a1", "rtb-a2") for dest in ("10.7.0.0/16", "100.64.0.0/24", "2600:1f18:b::/56")}
    assert {(r.route_table_id, r.destination) for r in result.accepter.create} == {
        ("rtb-b1", "10.6.0.0/16"), ("rtb-b1", "2600:1f18:a::/56")}


def test_plan_leaves_routes_to_this_peering_alone_and_skips_opted_out_tables():
    tables = {
        "requester": [table("rtb-a1", "vpc-a", [("10.7.0.0/16", PCX)]),
                      table("rtb-a2", "vpc-a", tags={"peering-automation/skip": " TRUE "})],
        "accepter": [table("rtb-b1", "vpc-b")],
    }
    result = plan.plan_routes(peering(), tables, quota=50)
    assert result.requester.create == []
    assert [(r.route_table_id, r.destination) for r in result.requester.present] == [("rtb-a1", "10.7.0.0/16")]
    assert result.requester.skipped_tables == ["rtb-a2"]


def test_conflicting_route_names_table_destination_and_existing_target():
    tables = {"requester": [table("rtb-a1", "vpc-a", [("10.7.0.0/16", "igw-123")])], "accepter": []}
    with pytest.raises(RouteConflict) as caught:
        plan.plan_routes(peering(), tables, quota=50)
    message = str(caught.value)
    assert "rtb-a1" in message and "10.7.0.0/16" in message and "igw-123" in message
    assert "no route was changed" in message


@pytest.mark.parametrize("existing, target", [
    ("10.7.1.0/24", "tgw-1"),  # more specific: the TGW keeps 10.7.1.0/24, the peering would take the rest
    ("10.0.0.0/8", "tgw-1"),  # less specific: an inspection path for all of 10/8 would lose 10.7/16
    ("10.7.0.0/17", "vpce-0fw"),  # a firewall endpoint
    ("0.0.0.0/0", "tgw-1"),  # a default route through a TGW is an inspection path too
    ("10.0.0.0/8", "nat-1"),
])
def test_a_planned_route_overlapping_another_targets_route_fails_naming_both(existing, target):
    tables = {"requester": [table("rtb-a1", "vpc-a", [(existing, target)])], "accepter": []}
    with pytest.raises(RouteConflict) as caught:
        plan.plan_routes(peering(), tables, quota=50)
    message = str(caught.value)
    assert f"sends {existing} to {target}, which overlaps the planned route 10.7.0.0/16 to {PCX}" in message
    assert "no route was changed" in message and "AllowShadowing=true" in message


def test_allow_shadowing_plans_the_overlap_and_lists_both_routes():
    tables = {"requester": [table("rtb-a1", "vpc-a", [("10.7.1.0/24", "tgw-1")])], "accepter": []}
    result = plan.plan_routes(peering(), tables, quota=50, allow_shadowing=True)
    assert [r.destination for r in result.requester.create] == ["10.7.0.0/16"]
    assert [(s.route_table_id, s.destination, s.existing_destination, s.existing_target)
            for s in result.requester.shadowed] == [("rtb-a1", "10.7.0.0/16", "10.7.1.0/24", "tgw-1")]


@pytest.mark.parametrize("existing, target", [
    ("0.0.0.0/0", "igw-1"), ("0.0.0.0/0", "nat-1"), ("10.6.0.0/16", "local"), ("10.8.0.0/16", "tgw-1"),
    ("2600::/8", "tgw-1"),
])
def test_internet_defaults_local_and_disjoint_routes_are_not_shadowed(existing, target):
    tables = {"requester": [table("rtb-a1", "vpc-a", [(existing, target)])], "accepter": []}
    result = plan.plan_routes(peering(), tables, quota=50)
    assert [r.destination for r in result.requester.create] == ["10.7.0.0/16"] and result.requester.shadowed == []


def test_quota_counts_existing_plus_new_routes_per_table():
    full = table("rtb-a1", "vpc-a", [(f"172.16.{i}.0/24", "tgw-1") for i in range(50)])
    with pytest.raises(RouteQuotaExceeded, match="rtb-a1.*50 routes and needs 1 more, past its quota of 50"):
        plan.plan_routes(peering(), {"requester": [full], "accepter": []}, quota=50)
    almost = table("rtb-a1", "vpc-a", [(f"172.16.{i}.0/24", "tgw-1") for i in range(49)])
    assert len(plan.plan_routes(peering(), {"requester": [almost], "accepter": []}, quota=50).requester.create) == 1


def test_tables_of_other_vpcs_are_never_planned():
    tables = {"requester": [table("rtb-x", "vpc-other")], "accepter": []}
    assert plan.plan_routes(peering(), tables, quota=50).requester.create == []


# -- property: nothing proceeds without both consents, allowed accounts and allowed ranges ------------------

ACCOUNT_IDS = st.sampled_from(["111111111111", "222222222222", "333333333333"])
VPC_IDS = st.sampled_from(["vpc-a", "vpc-b", "vpc-c"])
ENTRIES = st.lists(st.one_of(ACCOUNT_IDS, VPC_IDS, st.just("*")), max_size=3)
CIDRS = {"10.6.0.0/16": True, "10.7.0.0/16": True, "172.16.0.0/16": True, "192.168.5.0/24": True,
         "100.64.1.0/24": True, "203.0.113.0/24": False, "8.0.0.0/8": False, "fd00:1::/48": True,
         "2600:1f18::/56": False}
"""Blocks and whether each lies inside the default AllowedPeerCidrs (RFC 1918, RFC 6598, fd00::/8), written
down by hand; the blocks are pairwise disjoint, so two VPCs overlap exactly when they share a block."""


def _sides(draw_requester, draw_accepter):
    return (side("requester", draw_requester[0], [c for c in draw_requester[2] if "." in c],
                 [c for c in draw_requester[2] if ":" in c], account=draw_requester[1], consent=draw_requester[3]),
            side("accepter", draw_accepter[0], [c for c in draw_accepter[2] if "." in c],
                 [c for c in draw_accepter[2] if ":" in c], account=draw_accepter[1], consent=draw_accepter[3]))


SIDE = st.tuples(VPC_IDS, ACCOUNT_IDS, st.lists(st.sampled_from(sorted(CIDRS)), min_size=1, max_size=2, unique=True),
                 ENTRIES)


@given(requester=SIDE, accepter=SIDE, allowed_accepters=st.lists(ACCOUNT_IDS, max_size=2),
       mode=st.sampled_from(["tag", "account"]))
def test_a_peering_proceeds_only_with_both_consents_allowed_accounts_and_private_ranges(
        requester, accepter, allowed_accepters, mode):
    """The spec both ways, each rule checked on the inputs against the hand-written table above (never with
    ``plan``'s own helpers): refusal() lets a peering proceed exactly when every rule of the security model
    holds for it, and a refusal is one sentence."""
    r, a = _sides(requester, accepter)
    settings = Settings(stack_account_id="111111111111", allowed_accepter_accounts=tuple(allowed_accepters),
                        consent_mode=mode)
    reason = plan.refusal(peering(requester=r, accepter=a), settings)
    holds = {
        "accounts allowed": r.account_id == "111111111111" and a.account_id in (allowed_accepters or ["111111111111"]),
        "both consent": mode == "account" or bool({"*", a.account_id, a.vpc_id} & set(r.accept_from)
                                                  and {"*", r.account_id, r.vpc_id} & set(a.accept_from)),
        "private ranges": all(CIDRS[c] for c in (*r.all_cidrs, *a.all_cidrs)),
        "no overlap": not set(r.all_cidrs) & set(a.all_cidrs),
    }
    if reason is None:
        assert all(holds.values()), holds
    else:
        assert not all(holds.values()), f"refused although every rule held: {reason}"
        assert reason.endswith(".") and "\n" not in reason
