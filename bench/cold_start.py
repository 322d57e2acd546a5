"""Cold start: the import time of each handler module as a ratio to ``import boto3`` alone.

Every measurement is a fresh interpreter (``python -X importtime -c ...``); the figure is the
cumulative import time of the top-level module (``app`` or ``boto3``) as ``-X importtime`` reports
it, the median of ``RUNS`` runs. Runs are interleaved (boto3, handler 1, handler 2, ..., then again)
so that a slow moment of the machine spreads over all modules instead of one.

Two variants of each handler:

* **as deployed**: ``LAMBDA_TASK_ROOT`` set, so Powertools' ``Tracer`` is live (the template sets
  ``Tracing: Active``) and imports the X-Ray SDK and patches botocore at import, as in Lambda;
  ``AWS_XRAY_DAEMON_ADDRESS`` points at 127.0.0.1 (nothing is sent at import anyway).
* **tracing off**: the same with ``POWERTOOLS_TRACE_DISABLED=true``: what the Tracer costs.

Bytecode: the interpreters share a temporary ``PYTHONPYCACHEPREFIX`` filled by one discarded
warm-up run per module, so every measured run reads cached bytecode (and the repository gets no
``__pycache__`` from the bench). Note that Lambda's ``/var/task`` and ``/opt`` are read-only: a
package shipped without ``.pyc`` files is compiled on every cold start, which these figures exclude.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from peering_tools import LAYER_DIR, REPO_ROOT

from .report import Section, Table, median

RUNS = 7
TIMEOUT = 60.0  # seconds per interpreter
FUNCTIONS_DIR = REPO_ROOT / "functions"
BREAKDOWN_HANDLER = "verify"
"""The handler whose import time is broken down by top-level package (it imports the most of the layer)."""
BREAKDOWN_ROWS = 8
LAMBDA_ENV = {"LAMBDA_TASK_ROOT": "/var/task", "AWS_LAMBDA_FUNCTION_NAME": "bench",
              "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000", "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR"}
"""What Lambda sets and the X-Ray SDK reads at import. Without LAMBDA_TASK_ROOT the SDK takes its
non-Lambda path (a sampler that builds an X-Ray client: ~90 ms that no deployed function pays)."""
VARIANTS = {
    "as deployed": {**LAMBDA_ENV, "POWERTOOLS_TRACE_DISABLED": "false"},
    "tracing off": {**LAMBDA_ENV, "POWERTOOLS_TRACE_DISABLED": "true"},
}


class ImportFailed(RuntimeError):
    pass


def handler_dirs() -> list[Path]:
    return sorted(p.parent for p in FUNCTIONS_DIR.glob("*/app.py"))


def _environment(extra: dict[str, str], pycache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "LAMBDA_", "PYTHON"))}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "POWERTOOLS_SERVICE_NAME": "peering-autopilot", "PYTHONPYCACHEPREFIX": pycache})
    env.update(extra)
    return env


Row = tuple[int, str, float, float]
"""(depth, module, self seconds, cumulative seconds) of one ``import time:`` line."""


def parse_importtime(stderr: str) -> list[Row]:
    """Every ``import time:`` line, in the order printed (a module's imports come before it)."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        rows.append((depth, name.strip(), int(own) / 1e6, int(cumulative) / 1e6))
    return rows


def import_once(module: str, path: Path | None, env: dict[str, str]) -> list[Row]:
    code = f"import {module}" if path is None else \
        f"import sys; sys.path[:0] = [{str(LAYER_DIR)!r}, {str(path)!r}]; import {module}"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                          env=env, timeout=TIMEOUT, cwd=tempfile.gettempdir(), check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ImportFailed(f"import {module} from {path or 'site-packages'} failed: {last}")
    return parse_importtime(done.stderr)


def top_level(rows: list[Row], module: str) -> float:
    """Cumulative seconds of the top-level import of ``module``."""
    return next(cumulative for depth, name, _, cumulative in reversed(rows) if depth == 0 and name == module)


def by_package(rows: list[Row]) -> dict[str, float]:
    """Self time summed per top-level package (``botocore.session`` counts for ``botocore``)."""
    totals: dict[str, float] = defaultdict(float)
    for _, name, own, _ in rows:
        totals[name.split(".")[0]] += own
    return totals


def measure() -> Section:
    handlers = handler_dirs()
    baseline: list[float] = []
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    packages_runs: list[dict[str, float]] = []
    failures: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as pycache:
        envs = {variant: _environment(extra, pycache) for variant, extra in VARIANTS.items()}
        import_once("boto3", None, envs["tracing off"])  # warm-up: fill the bytecode cache
        for handler in handlers:
            for env in envs.values():
                try:
                    import_once("app", handler, env)
                except ImportFailed as e:
                    failures[handler.name] = str(e)
        for _ in range(RUNS):
            baseline.append(top_level(import_once("boto3", None, envs["tracing off"]), "boto3"))
            for handler in handlers:
                if handler.name in failures:
                    continue
                for variant, env in envs.items():
                    rows = import_once("app", handler, env)
                    times[(handler.name, variant)].append(top_level(rows, "app"))
                    if variant == "as deployed" and handler.name == BREAKDOWN_HANDLER:
                        packages_runs.append(by_package(rows))
    boto3_s = median(baseline)
    table = Table(f"Handler import time, median of {RUNS} fresh interpreters, as a ratio to `import boto3` "
                  f"({boto3_s * 1000:.0f} ms)", ["handler", "as deployed (tracing on)", "ratio", "tracing off",
                                                  "ratio"])
    ratios: dict[str, float] = {}
    for handler in handlers:
        if handler.name in failures:
            table.rows.append([f"`{handler.name}`", "import failed", "-", "-", "-"])
            continue
        deployed, plain = median(times[(handler.name, "as deployed")]), median(times[(handler.name, "tracing off")])
        ratios[handler.name] = deployed / boto3_s
        table.rows.append([f"`{handler.name}`", f"{deployed * 1000:.0f} ms", f"{deployed / boto3_s:.2f}",
                           f"{plain * 1000:.0f} ms", f"{plain / boto3_s:.2f}"])
    breakdown = Table(f"Where the `{BREAKDOWN_HANDLER}` handler's import time goes (as deployed): self time "
                      "summed per top-level package, median over the runs", ["package", "median", "of boto3 alone"])
    names = {name for run in packages_runs for name in run}
    shares = {name: median([run.get(name, 0.0) for run in packages_runs]) for name in names}
    ranked = sorted(shares, key=shares.get, reverse=True)
    for name in ranked[:BREAKDOWN_ROWS]:
        breakdown.rows.append([f"`{name}`", f"{shares[name] * 1000:.0f} ms", f"{shares[name] / boto3_s:.2f}"])
    rest = sum(shares[name] for name in ranked[BREAKDOWN_ROWS:])
    if rest:
        breakdown.rows.append([f"{len(ranked) - BREAKDOWN_ROWS} others", f"{rest * 1000:.0f} ms",
                               f"{rest / boto3_s:.2f}"])
    section = Section("2. Cold start: handler import time", tables=[table, breakdown])
    section.notes = [f"`import boto3` alone: median {boto3_s * 1000:.0f} ms over {RUNS} interpreters "
                     f"(min {min(baseline) * 1000:.0f}, max {max(baseline) * 1000:.0f})."]
    section.notes += [f"`{name}`: {why}" for name, why in failures.items()]
    if ratios:
        low, high = min(ratios, key=ratios.get), max(ratios, key=ratios.get)
        section.notes.append(f"As deployed, handlers import in {ratios[low]:.2f}x (`{low}`) to {ratios[high]:.2f}x "
                             f"(`{high}`) the time of boto3 alone.")
        section.summary = [f"Cold start (import, as deployed): {ratios[low]:.2f}x-{ratios[high]:.2f}x `import boto3` "
                           f"({boto3_s * 1000:.0f} ms); median over handlers "
                           f"{median(list(ratios.values())):.2f}x"]
    else:
        section.summary = ["Cold start: no handler could be imported"]
    return section
