"""``python -m bench`` (``make bench``): run every benchmark once, write bench/results.md, print a summary.

    python -m bench                 all sections
    python -m bench calls scaling   only these (calls, cold, scaling, analysis, demo)

A section that fails is written as NOT MEASURED with its error (and the exit code is 1), the
others still run. Every wait is bounded (workflow runs, subprocesses).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from . import harness
from .report import Section, document, failed_section

RESULTS = Path(__file__).resolve().parent / "results.md"
TITLES = {
    "calls": "1. EC2/STS API calls per seed peering",
    "cold": "2. Cold start: the built layer's import time",
    "scaling": "3. Scaling with route tables",
    "analysis": "4. Path analysis",
    "demo": "5. The seed demo end to end",
}


def _quiet() -> None:
    """Known noise stays out of the output: Powertools' empty-metrics warning from the in-process handlers and
    aws-sam-translator's unpublished-metrics log line (the template is translated per deployment)."""
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)


def _sections(recorder: harness.CallRecorder) -> dict[str, Callable[[], Section]]:
    from . import analysis, api_calls, cold_start, demo, scaling  # noqa: PLC0415 - after the environment is set

    return {
        "calls": lambda: api_calls.measure(recorder),
        "cold": cold_start.measure,
        "scaling": lambda: scaling.measure(recorder),
        "analysis": analysis.measure,
        "demo": demo.measure,
    }


def main(argv: list[str]) -> int:
    harness.isolate_environment()
    _quiet()
    wanted = argv or list(TITLES)
    unknown = [name for name in wanted if name not in TITLES]
    if unknown:
        print(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(TITLES)}", file=sys.stderr)
        return 2
    recorder = harness.CallRecorder()
    runners = _sections(recorder)
    results: list[Section] = []
    started, load_before = time.perf_counter(), os.getloadavg()
    for name in wanted:
        print(f"==> {TITLES[name]}", flush=True)
        t0 = time.perf_counter()
        try:
            # the in-process handlers' stdout (logs, metrics) must not mix with the summary
            with contextlib.redirect_stdout(sys.stderr):
                section = runners[name]()
        except Exception as e:  # a failed figure is reported, not hidden; the other sections still run
            section = failed_section(TITLES[name], e, time.perf_counter() - t0)
        section.seconds = time.perf_counter() - t0
        results.append(section)
        for line in section.summary:
            print(f"    {line}", flush=True)
    total = time.perf_counter() - started
    RESULTS.write_text(document(results, total, load_before, os.getloadavg()))
    print(f"wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS} "
          f"in {total:.0f} s")
    return 1 if any(s.summary and "NOT MEASURED" in s.summary[0] for s in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
