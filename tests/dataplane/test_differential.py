"""The path analysis against the kernel: on generated topologies (2-3 VPCs, secondary blocks, several
route tables, blackholes, peerings in every state, security groups by CIDR and by group, network ACLs
with deny rules and ephemeral ranges, listening ports) ``analysis.analyze`` and the kernel (a real TCP
connect, a real ICMP echo) in the data plane agree on every flow. ``make fidelity`` runs the same
comparison on 1,000 topologies."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, seed, settings

from peering_tools.dataplane.fidelity import Tally, Topology, kernel_and_analysis, raise_file_limit, topologies

TOPOLOGIES = 100
tally = Tally()


@seed(20261202)
@settings(max_examples=TOPOLOGIES * 3 // 2, phases=[Phase.generate], database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(topologies())
def check_one(topology: Topology) -> None:
    if tally.topologies >= TOPOLOGIES or tally.seen(topology):
        return  # enough, or drawn before: 100 distinct topologies are checked
    results = kernel_and_analysis(topology)
    tally.add(topology, results)
    disagreements = [r for r in results if not r.agree]
    assert not disagreements, "\n".join(map(str, disagreements))


def test_analysis_and_kernel_agree_on_every_flow_of_100_topologies():
    raise_file_limit()
    check_one()
    print(f"differential: {tally.topologies} distinct topologies, {tally.flows} flows, "
          f"{tally.agree} agree, {tally.open_both} open in both, {tally.flows - tally.agree} disagree")
    assert tally.topologies == len(tally.distinct) >= TOPOLOGIES, f"only {len(tally.distinct)} distinct topologies ran"
    assert tally.flows == tally.agree
    # the strategy must exercise both verdicts and every kind of component, or agreement says little
    assert tally.open_both >= 50, f"only {tally.open_both} flows open in both: the strategy is too closed"
    for protocol in ("tcp", "icmp echo"):
        assert tally.by_protocol[protocol, True, True] > 0 and tally.by_protocol[protocol, False, False] > 0
    for kind in ("route", "peering", "route-back", "sg-ingress", "sg-egress", "destination", "nacl-ingress",
                 "nacl-egress", "nacl-return-egress", "nacl-return-ingress"):
        assert tally.blocked_by[kind] > 0, f"no flow was blocked at {kind}: the strategy does not reach it"
