"""The seed demo end to end: wall time of ``peering local demo`` as a subprocess, median of ``RUNS``.

The demo starts its emulator on 127.0.0.1 (a free port), deploys the stack, builds the seed network,
requests the tagged peering and follows the workflow to ``verified``. Its Wait states are scaled by
the emulator's time factor (a 5 s wait takes 0.1 s) and it polls the execution every 0.2 s, so the
workflow figure it prints (``workflow [succeeded, X s]``) is reported beside the total.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from .report import Section, Table, median

RUNS = 3
TIMEOUT = 180.0  # seconds per demo run
WORKFLOW_LINE = re.compile(r"workflow \[(?P<status>[a-z_]+), (?P<seconds>[0-9.]+) s\]")


def command() -> list[str]:
    script = Path(sys.executable).with_name("peering")
    return [str(script)] if script.exists() else [sys.executable, "-m", "peering_tools.cli"]


def run_once() -> tuple[float, float | None, str]:
    """(wall seconds, the workflow's seconds as the demo printed them, the demo's last line)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    started = time.perf_counter()
    done = subprocess.run([*command(), "local", "demo"], capture_output=True, text=True, env=env, timeout=TIMEOUT,
                          check=False)
    wall = time.perf_counter() - started
    lines = done.stdout.strip().splitlines() or ["(no output)"]
    if done.returncode != 0:
        raise RuntimeError(f"peering local demo exited {done.returncode}: {lines[-1]}")
    match = WORKFLOW_LINE.search(done.stdout)
    return wall, float(match["seconds"]) if match else None, lines[-1]


def measure() -> Section:
    runs = [run_once() for _ in range(RUNS)]
    walls = [wall for wall, _, _ in runs]
    flows = [flow for _, flow, _ in runs if flow is not None]
    table = Table(f"`peering local demo`, {RUNS} runs", ["run", "wall time", "workflow (as printed)", "last line"])
    for i, (wall, flow, last) in enumerate(runs, 1):
        table.rows.append([i, f"{wall:.2f} s", f"{flow:.1f} s" if flow is not None else "-", last])
    table.rows.append(["**median**", f"**{median(walls):.2f} s**", f"{median(flows):.1f} s" if flows else "-", ""])
    section = Section("5. The seed demo end to end", tables=[table])
    section.notes = [
        "Wall time covers the interpreter's start, the emulator (moto server on 127.0.0.1), deploying the stack "
        "from template.yaml twice (the probe is attached to VPC A by a redeploy), the seed network, the workflow "
        "and the before/after reports.",
    ]
    section.summary = [f"Seed demo end to end: {median(walls):.1f} s median wall ({RUNS} runs)"
                       + (f", of which the workflow {median(flows):.1f} s" if flows else "")]
    return section
