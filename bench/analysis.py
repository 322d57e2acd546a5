"""Path analysis: ``peering.analysis.analyze`` over 1,000 route tables x 1,000 security-group rules.

The snapshot is built directly (no AWS): VPC A 10.6.0.0/16 and VPC B 10.7.0.0/16 joined by an active
peering, 500 /26 subnets per VPC, each with its own route table (1,000 tables of ``ROUTES_PER_TABLE``
routes: local, the peer VPC through the peering, a default route and transit-gateway noise) and one
running instance; the default network ACLs allow everything. The destination's security group
has 1,000 ingress rules of which only the last admits tcp/22 from VPC A (rules are scanned in
order, so this is the worst case for the admitting path); the source's group allows all egress.

Cases, each timed per ``analyze()`` call:

* host to host, reachable: every hop is walked (routes both ways, peering, groups, four NACL checks);
* host to host, blocked at the last hop that scans the 1,000 rules (tcp/23: nothing admits it);
* subnet to host, reachable (the probe's case: a Lambda's subnet and groups as the source);
* cold: a fresh snapshot (its lookup indexes are built on first use) and an empty CIDR cache, i.e.
  what the Verify function pays once per run.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import time
from collections.abc import Callable

from peering import analysis as pa

from .report import Section, Table, median, us

TABLES = 1000
SG_RULES = 1000
ROUTES_PER_TABLE = 10
PEERING = "pcx-0bench000000000001"
WARM_CALLS = 2000
COLD_CALLS = 30
TIME_CAP = 5.0  # seconds per case at most


def build_snapshot() -> tuple[pa.Snapshot, pa.Endpoint, pa.Endpoint, str]:
    """(snapshot, source host, source subnet endpoint, destination ip)."""
    vpcs = {"vpc-a": "10.6.0.0/16", "vpc-b": "10.7.0.0/16"}
    peer_of = {"vpc-a": "10.7.0.0/16", "vpc-b": "10.6.0.0/16"}
    subnets: dict[str, pa.Subnet] = {}
    tables: list[pa.RouteTable] = []
    interfaces: list[pa.Interface] = []
    per_vpc = TABLES // len(vpcs)
    for vpc, cidr in vpcs.items():
        blocks = list(ipaddress.ip_network(cidr).subnets(new_prefix=26))[:per_vpc]
        for i, block in enumerate(blocks):
            subnet = pa.Subnet(f"subnet-{vpc[-1]}{i:04d}", vpc, str(block))
            subnets[subnet.subnet_id] = subnet
            noise = [pa.Route(f"172.{16 + k}.0.0/16", f"tgw-{k:04d}") for k in range(ROUTES_PER_TABLE - 3)]
            tables.append(pa.RouteTable(
                route_table_id=f"rtb-{vpc[-1]}{i:04d}", vpc_id=vpc, main=(i == 0), subnet_ids=(subnet.subnet_id,),
                routes=(pa.Route(cidr, "local"), pa.Route(peer_of[vpc], PEERING),
                        pa.Route("0.0.0.0/0", f"igw-{vpc}"), *noise)))
            interfaces.append(pa.Interface(
                interface_id=f"eni-{vpc[-1]}{i:04d}", subnet_id=subnet.subnet_id, vpc_id=vpc,
                ips=(str(block.network_address + 10),), security_group_ids=(f"sg-{vpc}",),
                instance_id=f"i-{vpc[-1]}{i:04d}", state="running"))
    closed = tuple(pa.SgRule("tcp", 1000 + k, 1000 + k, cidrs=("10.6.0.0/16",)) for k in range(SG_RULES - 1))
    groups = {
        "sg-vpc-a": pa.SecurityGroup("sg-vpc-a", "vpc-a", "source", egress=(pa.SgRule("-1", cidrs=("0.0.0.0/0",)),)),
        "sg-vpc-b": pa.SecurityGroup("sg-vpc-b", "vpc-b", "destination",
                                     ingress=(*closed, pa.SgRule("tcp", 22, 22, cidrs=("10.6.0.0/16",))),
                                     egress=(pa.SgRule("-1", cidrs=("0.0.0.0/0",)),)),
    }
    allow_all = (pa.AclEntry(100, False, "-1", True, "0.0.0.0/0"), pa.AclEntry(100, True, "-1", True, "0.0.0.0/0"))
    acls = tuple(pa.NetworkAcl(f"acl-{vpc}", vpc, True, (), allow_all) for vpc in vpcs)
    snapshot = pa.Snapshot(
        subnets=subnets, route_tables=tuple(tables), security_groups=groups, network_acls=acls,
        interfaces=tuple(interfaces), peerings={PEERING: pa.Peering.between(PEERING, "active", "vpc-a", "vpc-b",
                                                                         "us-east-1", "us-east-1")},
        vpc_names={"vpc-a": "A", "vpc-b": "B"}, vpc_cidrs={k: (v,) for k, v in vpcs.items()})
    source_ip = interfaces[per_vpc - 1].ips[0]  # the last subnet of A
    destination_ip = interfaces[-1].ips[0]  # the last subnet of B
    source = pa.endpoint_for_ip(snapshot, source_ip)
    assert source is not None
    subnet_source = pa.endpoint_for_subnet(snapshot, source.subnet_id, source.security_group_ids)
    return snapshot, source, subnet_source, destination_ip


def timed(call: Callable[[], object], calls: int) -> list[float]:
    """Seconds per call, for ``calls`` calls or until ``TIME_CAP`` (at least 5 calls)."""
    samples: list[float] = []
    stop = time.perf_counter() + TIME_CAP
    while len(samples) < calls and (len(samples) < 5 or time.perf_counter() < stop):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def measure() -> Section:
    snapshot, host, subnet, destination = build_snapshot()
    expectations = {
        "host -> host tcp/22, reachable (full walk)": (lambda: pa.analyze(snapshot, host, destination, 22, PEERING),
                                                       True),
        "host -> host tcp/23, blocked by the 1,000-rule group": (
            lambda: pa.analyze(snapshot, host, destination, 23, PEERING), False),
        "subnet -> host tcp/22, reachable (the probe's case)": (
            lambda: pa.analyze(snapshot, subnet, destination, 22, PEERING), True),
    }
    table = Table(f"`analyze()` over {TABLES:,} route tables ({ROUTES_PER_TABLE} routes each) x {SG_RULES:,} "
                  "security-group rules", ["case", "median per call", "p90", "calls", "verdict"])
    warm_medians = {}
    for case, (call, reachable) in expectations.items():
        result = call()
        if result.reachable is not reachable:  # a benchmark of the wrong path would be meaningless
            raise AssertionError(f"{case}: expected reachable={reachable}, got {result.reason}")
        samples = sorted(timed(call, WARM_CALLS))
        warm_medians[case] = median(samples)
        table.rows.append([case, us(median(samples)), us(samples[int(len(samples) * 0.9)]), len(samples),
                           f"{len(result.hops)} hops, {'reachable' if result.reachable else 'blocked'}"])

    def cold() -> None:
        pa._net.cache_clear()
        fresh = dataclasses.replace(snapshot)  # same data, no cached indexes
        source = pa.endpoint_for_ip(fresh, host.ip or "")
        assert source is not None
        pa.analyze(fresh, source, destination, 22, PEERING)

    samples = sorted(timed(cold, COLD_CALLS))
    table.rows.append(["cold: fresh snapshot + empty CIDR cache, then host -> host tcp/22", us(median(samples)),
                       us(samples[int(len(samples) * 0.9)]), len(samples), "indexes built on first use"])
    first = next(iter(warm_medians))
    section = Section("4. Path analysis", tables=[table])
    section.notes = [
        "Warm calls reuse the snapshot's lookup indexes (subnet -> route table / network ACL, ip -> interface) "
        "and the CIDR parse cache; table count then barely matters, the 1,000 rules are scanned in order.",
        "Verify analyses one path per probe target (at most MaxProbeTargets = 5) or two without a probe, on one "
        "snapshot: one cold call plus a few warm ones per run.",
    ]
    section.summary = [f"Path analysis (1,000 tables x 1,000 SG rules): {us(warm_medians[first])} per analyze() warm, "
                       f"{us(median(samples))} cold (fresh snapshot)"]
    return section
