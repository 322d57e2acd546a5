"""Small snapshots for the data-plane tests: the tutorial's two VPCs, peered (or not)."""

from __future__ import annotations

import dataclasses

from peering.analysis import (
    AclEntry,
    Interface,
    NetworkAcl,
    Peering,
    Route,
    RouteTable,
    SecurityGroup,
    SgRule,
    Snapshot,
    Subnet,
)

ALLOW_ALL = (AclEntry(100, False, "-1", True, "0.0.0.0/0"), AclEntry(100, True, "-1", True, "0.0.0.0/0"))
OUT_ALL = (SgRule("-1", cidrs=("0.0.0.0/0",)),)
IP_A, IP_B = "10.6.1.4", "10.7.1.4"


def tutorial(peering_state: str = "active", routes: bool = True, acl_b: tuple[AclEntry, ...] = ALLOW_ALL,
             ingress_b: tuple[SgRule, ...] | None = None, accepter_region: str = "us-east-1") -> Snapshot:
    """VPC A 10.6.0.0/16 and VPC B 10.7.0.0/16, an instance each; only B's group opens tcp/22 (and ICMP)
    from A, as in the tutorial."""
    pcx = [Route("10.7.0.0/16", "pcx-1")] if routes else []
    back = [Route("10.6.0.0/16", "pcx-1")] if routes else []
    return Snapshot(
        subnets={"subnet-a": Subnet("subnet-a", "vpc-a", "10.6.1.0/24"),
                 "subnet-b": Subnet("subnet-b", "vpc-b", "10.7.1.0/24")},
        route_tables=(
            RouteTable("rtb-a", "vpc-a", True, (), (Route("10.6.0.0/16", "local"),
                                                         Route("0.0.0.0/0", "igw-a"), *pcx)),
            RouteTable("rtb-b", "vpc-b", True, (), (Route("10.7.0.0/16", "local"), *back)),
        ),
        security_groups={
            "sg-a": SecurityGroup("sg-a", "vpc-a", "instance-A", (SgRule("tcp", 22, 22, ("0.0.0.0/0",)),), OUT_ALL),
            "sg-b": SecurityGroup("sg-b", "vpc-b", "instance-B", ingress_b if ingress_b is not None else (
                SgRule("tcp", 22, 22, ("10.6.0.0/16",)), SgRule("icmp", -1, -1, ("10.6.0.0/16",))), OUT_ALL),
        },
        network_acls=(NetworkAcl("acl-a", "vpc-a", True, (), ALLOW_ALL), NetworkAcl("acl-b", "vpc-b", True, (), acl_b)),
        interfaces=(Interface("eni-a", "subnet-a", "vpc-a", (IP_A,), ("sg-a",), "i-a", "running"),
                    Interface("eni-b", "subnet-b", "vpc-b", (IP_B,), ("sg-b",), "i-b", "running")),
        peerings={"pcx-1": Peering.between("pcx-1", peering_state, "vpc-a", "vpc-b", "us-east-1", accepter_region)},
        vpc_cidrs={"vpc-a": ("10.6.0.0/16",), "vpc-b": ("10.7.0.0/16",)},
    )


def with_interface(snapshot: Snapshot, interface: Interface) -> Snapshot:
    return dataclasses.replace(snapshot, interfaces=(*snapshot.interfaces, interface))
