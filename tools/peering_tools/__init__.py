"""Tooling for peering autopilot: the CLI, the local AWS emulator and the test harness.

Never deployed and never imported by ``functions/`` or the layer; it imports the layer's
``peering`` package, not the other way round.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LAYER_DIR = REPO_ROOT / "layers" / "peering"
TEMPLATE = REPO_ROOT / "template.yaml"
