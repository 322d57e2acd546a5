"""Benchmarks for peering autopilot (``make bench``, ``python -m bench``); never part of ``make test``.

Each section measures one figure of issue 6 in a single run and returns a :class:`bench.report.Section`;
``bench.__main__`` runs them all, writes ``bench/results.md`` and prints a short summary.

* ``api_calls``  EC2/STS calls per seed peering, by operation, against a derived lower bound.
* ``cold_start`` import time of every handler module as a ratio to ``import boto3``.
* ``scaling``    two VPCs with 10, 100 and 500 route tables each: wall time and API calls.
* ``analysis``   ``peering.analysis.analyze`` over 1,000 route tables x 1,000 security-group rules.
* ``demo``       ``peering local demo`` end to end, as a subprocess.

Everything AWS runs in moto in-process (``mock_aws``) with the real template, the real ASL and the
handlers executed in-process (as ``tests/conftest.py`` does); the demo talks to its emulator on
127.0.0.1 only. Nothing here opens any other socket.
"""
