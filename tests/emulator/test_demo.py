"""`peering local demo` (what `make demo` runs), as a subprocess: the seed scenario before and after."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from peering_tools.dataplane.netns import unavailable

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
    assert re.search(r"peering executions show arn:aws:states:\S+:execution:\S+ --endpoint-url http://127", shown)
    assert "workflow [succeeded" in out
    assert "Traceback" not in result.stderr
    # the emulated data plane (network namespaces, where this machine can make them): a real ping and the
    # probe's own connect fail before the peering and answer after it
    if unavailable() is None:
        assert "data plane: netns" in out
        assert re.search(r"emulated data plane: ping -c 1 10\.7\.\S+ .*: no answer", before)
        assert re.search(r"emulated data plane: the probe's TCP connect .*:22: timeout$", before, re.M)
        assert re.search(r"emulated data plane: ping -c 1 10\.7\.\S+ .*: answered", after)
        assert re.search(r"emulated data plane: the probe's TCP connect .*:22: connected in [\d.]+ ms$", after, re.M)
    else:
        assert "emulated data plane: none (data plane: analysis, not netns (" in out
