"""Scaling: two VPCs with 10, 100 and 500 route tables each, one full workflow run per size.

The seed network (an instance, a subnet and security group per side) plus ``n - 1`` extra route
tables per VPC (the main table is the n-th). The plan then holds one route per table per peer CIDR,
so a run creates ``2 n`` routes. ``RouteTableQuota`` (routes per table) is raised to its maximum so
that it can never be what stops a size; moto does not enforce AWS's route-tables-per-VPC quota
(200 by default; 500 needs an increase). No probe: the verification is the path analysis both ways,
so the timing is the product's, not the emulated network's.

The 500-table run dominates the bench's time and runs once; the 10- and 100-table runs are cheap
and noisy (fixed costs dominate), so each is run ``REPEATS`` times and the run with the median wall
time is reported. Two two-table runs before them are discarded: the first runs in a process pay
one-off costs (handler imports, moto's lazy set-up) of up to a second in Inspect.
"""

from __future__ import annotations

import math
from typing import Any

from . import harness
from .report import Section, Table

SIZES = (10, 100, 500)
REPEATS = {10: 3, 100: 3, 500: 1}
WARM_UP = (2, 2)
QUOTA = "1000"  # template.yaml's MaxValue for RouteTableQuota
TIMEOUT_PER_TABLE = 0.5  # seconds; generous bound on a run's wait (at least a minute)
STATE_LIMIT = 256 * 1024  # Step Functions' payload limit per state input/output
STAGES = ("Inspect", "PlanRoutes", "ApplyRoutes", "ConfigureDns", "Verify", "Report")


def add_route_tables(ec2: Any, vpc_id: str, count: int) -> None:
    for _ in range(count):
        ec2.create_route_table(VpcId=vpc_id)


def measure_size(recorder: harness.CallRecorder, tables: int) -> tuple[harness.Run, harness.Recording]:
    with harness.emulated_aws(recorder) as ec2:
        net = harness.seed_network(ec2)
        for vpc in (net.vpc_a, net.vpc_b):
            add_route_tables(ec2, vpc, tables - 1)
        stack = harness.Stack(recorder, RouteTableQuota=QUOTA)
        peering_id = harness.seed.request_peering(ec2, net)
        recorder.take()
        run = stack.run(peering_id, net.vpc_a, net.vpc_b, timeout=max(60.0, TIMEOUT_PER_TABLE * tables * 2))
        recording = recorder.take()
        both = [{"Name": "vpc-id", "Values": [net.vpc_a, net.vpc_b]}]
        created = sum(1 for t in ec2.describe_route_tables(Filters=both)["RouteTables"] for r in t["Routes"]
                      if r.get("VpcPeeringConnectionId") == peering_id)
        if created != 2 * tables:
            raise AssertionError(f"{tables} tables per VPC: {created} routes point at the peering, not {2 * tables}")
        return run, recording


def median_run(runs: list[tuple[harness.Run, harness.Recording]]) -> tuple[harness.Run, harness.Recording]:
    """The run with the median wall time (the upper median for an even count)."""
    return sorted(runs, key=lambda r: r[0].seconds)[len(runs) // 2]


def _growth(small: float, large: float, factor: float) -> str:
    """The ratio and the exponent k of time ~ size^k between two sizes."""
    if small <= 0 or large <= 0:
        return "-"
    return f"x{large / small:.1f} (k = {math.log(large / small) / math.log(factor):.2f})"


def measure(recorder: harness.CallRecorder) -> Section:
    for n in WARM_UP:  # one-off costs; not reported
        measure_size(recorder, n)
    results = {n: median_run([measure_size(recorder, n) for _ in range(REPEATS.get(n, 1))]) for n in SIZES}
    main = Table("One workflow run per size (two VPCs, n route tables each, 2n routes created); for sizes run "
                 "more than once, the median run",
                 ["tables per VPC", "runs", "outcome", "wall time", "EC2 calls", "CreateRoute",
                  "peak concurrent CreateRoute", "other EC2 calls", "ApplyRoutes, ms per route and side",
                  "largest state payload"])
    sizes: dict[int, int] = {}
    for n, (run, rec) in results.items():
        ops = rec.by_operation(("ec2",))
        creates = ops.get("ec2:CreateRoute", 0)
        sizes[n], where = run.largest_state()
        main.rows.append([n, REPEATS.get(n, 1), run.outcome, f"{run.seconds:.2f} s", sum(ops.values()), creates,
                          rec.peak_in_flight.get("ec2:CreateRoute", 0), sum(ops.values()) - creates,
                          f"{run.stage_seconds().get('ApplyRoutes', 0.0) * 1000 / n:.1f}",
                          f"{sizes[n] / 1024:.1f} KiB, {where} ({sizes[n] / STATE_LIMIT:.0%} of 256 KiB)"])
    stages = Table("Seconds per stage (from the execution history)", ["tables per VPC", *STAGES])
    for n, (run, _) in results.items():
        spent = run.stage_seconds()
        stages.rows.append([n, *(f"{spent.get(s, 0.0):.2f}" for s in STAGES)])
    times = {n: run.seconds for n, (run, _) in results.items()}
    growth = Table("How wall time grows with size (time ~ size^k)", ["from -> to", "size ratio", "time ratio"])
    pairs = list(dict.fromkeys([*zip(SIZES, SIZES[1:], strict=False), (SIZES[0], SIZES[-1])]))
    for small, large in pairs:
        growth.rows.append([f"{small} -> {large}", f"x{large / small:g}", _growth(times[small], times[large],
                                                                                  large / small)])
    first, last = SIZES[0], SIZES[-1]
    per_decade = (times[last] / times[first]) ** (1 / math.log10(last / first)) if times[first] > 0 else float("nan")
    non_route = {n: rec.total(("ec2",)) - rec.by_operation(("ec2",)).get("ec2:CreateRoute", 0)
                 for n, (_, rec) in results.items()}
    apply_ms = {n: run.stage_seconds().get("ApplyRoutes", 0.0) * 1000 / max(n, 1) for n, (run, _) in results.items()}
    mid = SIZES[-2]
    per_table = (sizes[last] - sizes[mid]) / (last - mid)  # bytes of state per extra table per VPC
    overflow = mid + (STATE_LIMIT - sizes[mid]) / per_table if per_table > 0 else float("inf")
    section = Section("3. Scaling with route tables", tables=[main, stages, growth])
    section.notes = [
        f"Time grows x{per_decade:.1f} per 10x route tables "
        f"({first} -> {last}: {_growth(times[first], times[last], last / first)}).",
        "API calls other than CreateRoute stay constant "
        f"({', '.join(str(v) for v in non_route.values())} for {', '.join(map(str, SIZES))} tables): the reads are "
        "paginated Describe* calls filtered by VPC, so the call count grows only with the routes to create.",
        "Peak concurrent CreateRoute is the most calls in flight at once: 2 means one per side (the Parallel state's "
        "two branches), i.e. each side creates its routes one after another.",
        "The largest state payload is the biggest input/output passed between states; Step Functions fails an "
        "execution whose state passes 256 KiB (moto does not check). It grows by "
        f"{per_table / 1024:.2f} KiB per route table per VPC, so by linear extrapolation a peering of about "
        f"{overflow:.0f} tables per VPC ({2 * overflow:.0f} routes) would exceed the limit on AWS.",
        f"Times are moto's: ApplyRoutes spends {apply_ms[last]:.1f} ms per route and side here at {last} tables "
        "(in-process, no network); a real EC2 call is a network round trip, so on AWS route creation's share of "
        "the time, and the gain from creating routes concurrently, is larger.",
    ]
    section.summary = [
        "Scaling (tables/VPC: wall, EC2 calls): " + "; ".join(
            f"{n}: {run.seconds:.1f} s, {rec.total(('ec2',))}" for n, (run, rec) in results.items())
        + f"; x{per_decade:.1f} time per 10x tables; state payload {sizes[last] / 1024:.0f} KiB at {last} "
        f"(256 KiB limit reached near {overflow:.0f} tables/VPC)",
    ]
    return section
