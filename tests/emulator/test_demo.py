"""`peering local demo` (what `make demo` runs), as a subprocess: the seed scenario before and after."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.emulator

TIMEOUT = 180


def test_demo_routes_the_seed_peering_and_shows_before_and_after():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run([sys.executable, "-m", "peering_tools.cli", "local", "demo"], capture_output=True,
                            text=True, timeout=TIMEOUT, env=env)
    out = result.stdout

    assert result.returncode == 0, f"stdout:\n{out}\nstderr:\n{result.stderr}"
    before, _, after = out.partition("== After")
    assert after, out
    pcx = re.search(r"pcx-[0-9a-f]+", out.partition("== The peering")[2]).group(0)
    # before: A has its default route and no route to B; B has only its local route; unreachable, with why
    assert re.search(r"^\s+0\.0\.0\.0/0\s+-> igw-", before, re.M)
    assert not re.search(r"-> pcx-", before)
    assert re.search(r"unreachable: route table rtb-\w+ of subnet-\w+ \(peeringVPC-A\) has no route to 10\.7\.0\.0/16",
                     before)
    # after: each side routes the other's CIDR to the peering; A keeps its default route
    assert re.search(rf"^\s+10\.7\.0\.0/16\s+-> {pcx}$", after, re.M)
    assert re.search(rf"^\s+10\.6\.0\.0/16\s+-> {pcx}$", after, re.M)
    assert re.search(r"^\s+0\.0\.0\.0/0\s+-> igw-", after, re.M)
    assert "reachable: " in after and "unreachable" not in after
    assert f"{pcx} peering-automation/status = verified" in after
    shown = after.partition("== The execution")[2]
    assert re.search(rf"^\s+peering: {pcx}$", shown, re.M) and "status: verified" in shown
    assert re.search(r"^\s+\+\S+\s+ApplyRoutes\s", shown, re.M), "the timeline lists the stages"
    assert re.search(r"^workflow succeeded after \d+\.\d s$", out, re.M)
    assert "Traceback" not in result.stderr


def test_demo_output_is_clean_stages_once_one_aligned_timeline_no_dead_hint():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run([sys.executable, "-m", "peering_tools.cli", "local", "demo"], capture_output=True,
                            text=True, timeout=TIMEOUT, env=env)
    out = result.stdout
    assert result.returncode == 0, f"stdout:\n{out}\nstderr:\n{result.stderr}"

    assert "unpublished metrics" not in result.stderr + out  # aws-sam-translator's warning at exit
    assert "\t" not in out
    # the stages once: in the timeline, not also as progress lines or a trail
    for stage in ("Inspect", "Accept", "PlanRoutes", "ApplyRoutes", "ConfigureDns", "Probe", "Verify", "Report"):
        assert len(re.findall(rf"^\s+\+\S+\s+{stage}\s", out, re.M)) == 1, (stage, out)
    assert "stage: " not in out and " > " not in out
    assert out.partition("timeline:")[0].count("Inspect") == 0  # nothing before the timeline names a stage
    # one timeline, its columns aligned: every row's RESULT cell starts where the header's does
    timeline = out.partition("timeline:\n")[2].partition("\n  \n")[0].splitlines()
    header, rows = timeline[0], timeline[1:]
    assert header.split() == ["AT", "STATE", "DURATION", "RESULT", "DETAIL"], header
    assert len(rows) >= 8
    column = header.index("RESULT")
    assert all(row[column:].startswith("ok") for row in rows), timeline
    assert out.count("timeline:") == 1
    # the emulator has stopped when the demo ends: no hint to run commands against it
    assert "--endpoint-url" not in out and "127.0.0.1:PORT" not in out


def test_aligned_pads_each_tab_separated_block_to_its_own_columns_and_keeps_other_lines():
    from peering_tools.local import aligned

    lines = ["title", "A\tBB\tC", "AAA\tB\tC", "", "x\ty"]
    assert aligned(lines) == ["title", "A    BB  C", "AAA  B   C", "", "x  y"]
