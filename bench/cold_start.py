"""Cold start of the built artifact: each handler's import, as Lambda loads it, as a ratio to ``import boto3``.

What is measured is what ``sam build`` deploys. The layer is built by the same ``make build-PeeringLayer``
that ``sam build`` runs (``layers/peering/Makefile``: pinned wheels with ``--no-deps``, no AWS SDK, ``.pyc``
precompiled with ``unchecked-hash``), for this machine's architecture (the deployed layer is arm64; only the
two compiled extensions, pydantic-core and wrapt, differ). Then, as in a Lambda container:

* the layer's ``python/`` and each function's code (``functions/<stage>/``, as ``sam build`` copies it: no
  ``.pyc``) are copied to a temporary directory and made read-only (``chmod``), the interpreters run with
  ``PYTHONDONTWRITEBYTECODE=1`` and no ``PYTHONPYCACHEPREFIX``, and the copies are checked to be unchanged
  afterwards: no bytecode written by one run can help the next (root ignores the mode bits, so the check,
  not the mode, is what proves it);
* ``sys.path`` is the function's code, the layer's ``python/``, then "the runtime": the dev venv's boto3,
  botocore, s3transfer, jmespath, python-dateutil, six and urllib3 only (linked from its site-packages,
  precompiled as the runtime's are). The interpreter runs with ``-S``: no site-packages, so nothing of the
  dev venv (its powertools, pydantic, the editable ``peering``) can be imported; it must come from the layer;
* ``LAMBDA_TASK_ROOT`` and the X-Ray variables are set as Lambda sets them (the SDK reads them at import).

Every measurement is a fresh interpreter: the import of ``app`` (or of ``boto3`` for the baseline) timed
with ``time.perf_counter``, then the first ``boto3.client("ec2")``. Runs are interleaved (boto3, handler 1,
handler 2, ...) ``RUNS`` times and the medians are reported; ``-X importtime`` runs of one handler give the
breakdown by package.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import stat
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from peering_tools import LAYER_DIR, REPO_ROOT

from .report import Section, Table, median

RUNS = 7
TIMEOUT = 120.0  # seconds per interpreter / per layer build
FUNCTIONS_DIR = REPO_ROOT / "functions"
BREAKDOWN_HANDLER = "verify"
"""The handler whose import time is broken down by top-level package (it imports the most of the layer)."""
BREAKDOWN_RUNS = 3
BREAKDOWN_ROWS = 10
GOAL = 1.3
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")
"""What the python3.13 runtime brings besides the standard library (and what the layer must not bundle)."""
BOTO3_UNDER_IMPORTTIME = " import boto3"
"""Key of the baseline in a breakdown run: ``import boto3`` alone, also under ``-X importtime``."""
MODELS = " peering.models"
"""Key of ``peering.models``' own import time (the stage models, built by pydantic) in a breakdown run."""
PYDANTIC_PACKAGES = ("pydantic", "pydantic_core", "annotated_types", "typing_inspection")
LAMBDA_ENV = {"LAMBDA_TASK_ROOT": "/var/task", "AWS_LAMBDA_FUNCTION_NAME": "bench",
              "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000", "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR"}
"""What Lambda sets and the X-Ray SDK reads at import. Without LAMBDA_TASK_ROOT the SDK takes its
non-Lambda path (a sampler that builds an X-Ray client) that no deployed function pays."""
VARIANTS = {
    "as deployed": {**LAMBDA_ENV, "POWERTOOLS_TRACE_DISABLED": "false"},
    "tracing off": {**LAMBDA_ENV, "POWERTOOLS_TRACE_DISABLED": "true"},
}
PROBE = """
import json, sys, time
sys.path[:0] = {path!r}
t0 = time.perf_counter()
import {module}
t1 = time.perf_counter()
import boto3
boto3.client("ec2", region_name="us-east-1")
t2 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "client": t2 - t1,
                  "bundled_sdk": [m for m in ("botocore", "boto3", "urllib3") if {layer!r} in
                                  (getattr(sys.modules.get(m), "__file__", "") or "")]}}))
"""


class ImportFailed(RuntimeError):
    pass


def handler_dirs() -> list[Path]:
    return sorted(p.parent for p in FUNCTIONS_DIR.glob("*/app.py"))


def wheel_platform() -> str:
    machine = {"arm64": "aarch64", "amd64": "x86_64"}.get(platform.machine().lower(), platform.machine().lower())
    return f"manylinux2014_{machine}"


def build_layer(into: Path) -> Path:
    """``make build-PeeringLayer`` on a copy of layers/peering, as ``sam build`` runs it; returns ``python/``."""
    source = into / "source"
    shutil.copytree(LAYER_DIR, source, ignore=shutil.ignore_patterns("__pycache__"))
    artifacts = into / "layer"
    done = subprocess.run(["make", "-s", "build-PeeringLayer", f"ARTIFACTS_DIR={artifacts}",
                           f"LAYER_PLATFORM={wheel_platform()}", f"PYTHON={sys.executable}"],
                          cwd=source, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"make build-PeeringLayer failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return artifacts / "python"


def runtime_dir(into: Path) -> Path:
    """The runtime's AWS SDK: links to the dev venv's copies (the only site-packages on sys.path)."""
    import boto3  # noqa: PLC0415 - only to find the dev venv's site-packages

    site = Path(boto3.__file__).resolve().parents[1]
    runtime = into / "runtime"
    runtime.mkdir()
    for name in RUNTIME_PACKAGES:
        (runtime / name).symlink_to(site / name)
    return runtime


def task_dirs(into: Path) -> dict[str, Path]:
    """Each function's code as ``sam build`` copies it (``app.py`` only), like /var/task."""
    dirs = {}
    for handler in handler_dirs():
        target = into / "task" / handler.name
        target.mkdir(parents=True)
        shutil.copy2(handler / "app.py", target / "app.py")
        dirs[handler.name] = target
    return dirs


def read_only(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def writable(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _environment(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "LAMBDA_", "PYTHON"))}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "POWERTOOLS_SERVICE_NAME": "peering-autopilot", "POWERTOOLS_METRICS_NAMESPACE": "PeeringAutopilot",
                "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(extra)
    return env


def run_once(module: str, path: list[Path], layer: Path, env: dict[str, str],
             importtime: bool = False) -> tuple[dict, str]:
    code = PROBE.format(path=[str(p) for p in path], module=module, layer=str(layer))
    flags = ["-S", "-X", "importtime"] if importtime else ["-S"]
    done = subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True, env=env,
                          timeout=TIMEOUT, cwd=tempfile.gettempdir(), check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ImportFailed(f"import {module} failed: {last}")
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


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


def by_package(rows: list[Row]) -> dict[str, float]:
    """Self time summed per top-level package (``botocore.session`` counts for ``botocore``)."""
    totals: dict[str, float] = defaultdict(float)
    for _, name, own, _ in rows:
        totals[name.split(".")[0]] += own
    return totals


def top_level(rows: list[Row], module: str) -> float:
    """Cumulative seconds of the top-level import of ``module``."""
    return next(cumulative for depth, name, _, cumulative in reversed(rows) if depth == 0 and name == module)


def layer_contents(layer: Path) -> tuple[int, int, list[str]]:
    """(.py files, .py files with an unchecked-hash .pyc beside them, top-level entries of python/)."""
    sources = list(layer.rglob("*.py"))
    tag = sys.implementation.cache_tag
    compiled = 0
    for source in sources:
        pyc = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        if pyc.exists() and int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01:  # hash-based, unchecked
            compiled += 1
    tops = sorted(p.name for p in layer.iterdir() if not p.name.endswith(".dist-info") and p.name != "__pycache__")
    return len(sources), compiled, tops


def measure() -> Section:
    handlers = handler_dirs()
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as scratch:
        root = Path(scratch)
        layer = build_layer(root)
        sources, compiled, tops = layer_contents(layer)
        bundled = sorted({t.removesuffix(".py") for t in tops} & {n.removesuffix(".py") for n in RUNTIME_PACKAGES})
        runtime = runtime_dir(root)
        tasks = task_dirs(root)
        envs = {variant: _environment(extra) for variant, extra in VARIANTS.items()}
        read_only(layer.parent)
        read_only(root / "task")
        before = listing(layer.parent) + listing(root / "task")
        try:
            results, failures, packages_runs = _measure(handlers, tasks, layer, runtime, envs)
        finally:
            after = listing(layer.parent) + listing(root / "task")
            writable(root)
        if after != before:
            raise RuntimeError(f"the read-only copies changed during the runs ({len(after) - len(before):+d} files)")
    return _section(handlers, results, failures, packages_runs, (sources, compiled, tops, bundled))


def _measure(handlers: list[Path], tasks: dict[str, Path], layer: Path, runtime: Path, envs: dict[str, dict]):
    results: dict[tuple[str, str], list[dict]] = defaultdict(list)
    failures: dict[str, str] = {}
    plain = envs["tracing off"]
    run_once("boto3", [runtime], layer, plain)  # warm-up: the OS file cache, not bytecode (none can be written)
    for handler in handlers:
        try:
            for env in envs.values():
                found, _ = run_once("app", [tasks[handler.name], layer, runtime], layer, env)
                if found["bundled_sdk"]:
                    raise ImportFailed(f"{', '.join(found['bundled_sdk'])} imported from the layer")
        except ImportFailed as e:
            failures[handler.name] = str(e)
    for _ in range(RUNS):
        results[("boto3", "")].append(run_once("boto3", [runtime], layer, plain)[0])
        for handler in handlers:
            if handler.name in failures:
                continue
            for variant, env in envs.items():
                results[(handler.name, variant)].append(
                    run_once("app", [tasks[handler.name], layer, runtime], layer, env)[0])
    packages_runs = []
    if BREAKDOWN_HANDLER not in failures:
        for _ in range(BREAKDOWN_RUNS):
            _, baseline = run_once("boto3", [runtime], layer, plain, importtime=True)
            _, stderr = run_once("app", [tasks[BREAKDOWN_HANDLER], layer, runtime], layer, envs["as deployed"],
                                 importtime=True)
            rows = parse_importtime(stderr)
            shares = by_package(rows)
            shares[MODELS] = sum(own for _, name, own, _ in rows if name == "peering.models")
            shares[BOTO3_UNDER_IMPORTTIME] = top_level(parse_importtime(baseline), "boto3")
            packages_runs.append(shares)
    return results, failures, packages_runs


def _section(handlers, results, failures, packages_runs, contents) -> Section:
    sources, compiled, tops, bundled = contents
    boto3_import = median([r["import"] for r in results[("boto3", "")]])
    boto3_client = median([r["client"] for r in results[("boto3", "")]])
    boto3_total = boto3_import + boto3_client
    table = Table(f"Handler import from the built layer (read-only, fresh interpreter), median of {RUNS}, as a ratio "
                  f"to `import boto3` ({boto3_import * 1000:.0f} ms) and, with the first `client(\"ec2\")`, to "
                  f"boto3 + that client ({boto3_total * 1000:.0f} ms)",
                  ["handler", "import, as deployed (tracing on)", "ratio", "+ first client", "ratio",
                   "import, tracing off", "ratio"])
    ratios: dict[str, float] = {}
    for handler in handlers:
        name = handler.name
        if name in failures:
            table.rows.append([f"`{name}`", "failed", "-", "-", "-", "-", "-"])
            continue
        on = results[(name, "as deployed")]
        off = results[(name, "tracing off")]
        imp = median([r["import"] for r in on])
        total = median([r["import"] + r["client"] for r in on])
        off_imp = median([r["import"] for r in off])
        ratios[name] = imp / boto3_import
        table.rows.append([f"`{name}`", f"{imp * 1000:.0f} ms", f"{imp / boto3_import:.2f}",
                           f"{total * 1000:.0f} ms", f"{total / boto3_total:.2f}",
                           f"{off_imp * 1000:.0f} ms", f"{off_imp / boto3_import:.2f}"])
    tables = [table]
    notes = [f"`import boto3` alone (the runtime's SDK, precompiled): median {boto3_import * 1000:.0f} ms over {RUNS} "
             f"interpreters (min {min(r['import'] for r in results[('boto3', '')]) * 1000:.0f}, max "
             f"{max(r['import'] for r in results[('boto3', '')]) * 1000:.0f}); its first `client(\"ec2\")` "
             f"{boto3_client * 1000:.0f} ms.",
             f"The layer built by `make build-PeeringLayer` ({wheel_platform()} wheels here): {sources} `.py` files, "
             f"{compiled} with an unchecked-hash `.pyc`; top level of `python/`: {', '.join(f'`{t}`' for t in tops)}. "
             f"AWS SDK packages in it: {', '.join(bundled) if bundled else 'none'}; no handler imported botocore, "
             "boto3 or urllib3 from it.",
             "The read-only copies of the layer and of the functions' code were unchanged after every run (no "
             "`__pycache__` written). A function's own `app.py` ships without `.pyc` (`sam build` copies it): its "
             "compilation is inside these figures."]
    notes += [f"`{name}`: {why}" for name, why in failures.items()]
    if packages_runs:
        breakdown = Table(f"Where the `{BREAKDOWN_HANDLER}` handler's import goes (as deployed, `-X importtime`, "
                          f"median of {BREAKDOWN_RUNS}): self time summed per top-level package",
                          ["package", "median", "of `import boto3`"])
        names = {name for run in packages_runs for name in run} - {BOTO3_UNDER_IMPORTTIME, MODELS}
        shares = {name: median([run.get(name, 0.0) for run in packages_runs]) for name in names}
        base = median([run[BOTO3_UNDER_IMPORTTIME] for run in packages_runs])
        ranked = sorted(shares, key=shares.get, reverse=True)
        for name in ranked[:BREAKDOWN_ROWS]:
            breakdown.rows.append([f"`{name}`", f"{shares[name] * 1000:.0f} ms", f"{shares[name] / base:.2f}"])
        rest = sum(shares[name] for name in ranked[BREAKDOWN_ROWS:])
        breakdown.rows.append([f"{len(ranked) - BREAKDOWN_ROWS} others", f"{rest * 1000:.0f} ms",
                               f"{rest / base:.2f}"])
        breakdown.rows.append(["**total**", f"**{sum(shares.values()) * 1000:.0f} ms**",
                               f"**{sum(shares.values()) / base:.2f}**"])
        breakdown.caption += f"; `import boto3` alone under `-X importtime` in the same runs: {base * 1000:.0f} ms"
        tables.append(breakdown)
        pyd = sum(shares.get(name, 0.0) for name in PYDANTIC_PACKAGES)
        models = median([run[MODELS] for run in packages_runs])
        notes.append(f"pydantic's own modules ({', '.join(PYDANTIC_PACKAGES)}): {pyd * 1000:.0f} ms "
                     f"({pyd / base:.2f}x boto3); and the stage models, `peering.models` ({models * 1000:.0f} ms, "
                     f"{models / base:.2f}x), which pydantic builds into validators as the classes are created: "
                     f"together {(pyd + models) / base:.2f}x. (`-X importtime` itself slows imports; the shares are "
                     "for comparison, the ratios above are timed without it.)")
        notes.append("What would remove that share: stage models without pydantic (Powertools' parser is built on "
                     "it), e.g. msgspec structs or plain dataclasses checked at the edge. pydantic's `defer_build` "
                     "would only move the model building into the first invocation, which is still the cold start.")
    section = Section("2. Cold start: the built layer's import time", tables=tables, notes=notes)
    if ratios:
        low, high = min(ratios, key=ratios.get), max(ratios, key=ratios.get)
        mid = median(list(ratios.values()))
        verdict = "met" if ratios[high] <= GOAL else "missed"
        section.notes.insert(0, f"As deployed, handlers import in {ratios[low]:.2f}x (`{low}`) to {ratios[high]:.2f}x "
                                f"(`{high}`) the time of `import boto3`, median {mid:.2f}x: the goal "
                                f"(at most {GOAL}x) is {verdict}.")
        section.summary = [f"Cold start (built layer, read-only, as deployed): {ratios[low]:.2f}x-{ratios[high]:.2f}x "
                           f"`import boto3` ({boto3_import * 1000:.0f} ms), median {mid:.2f}x; goal {GOAL}x {verdict}"]
    else:
        section.summary = ["Cold start: no handler could be imported"]
    return section
