"""The state machine's definition: ``statemachine/peering.asl.yaml`` (the source, each shared Retry/Catch written
once as a YAML anchor) rendered to ``statemachine/peering.asl.json`` (what SAM deploys and the tests and the
emulator load).

    python -m peering_tools.asl           write the JSON
    python -m peering_tools.asl --check   exit 1 (one sentence) when the JSON is not the YAML's rendering
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

from . import REPO_ROOT

SOURCE = REPO_ROOT / "statemachine" / "peering.asl.yaml"
DEFINITION = REPO_ROOT / "statemachine" / "peering.asl.json"


def render(source: Path = SOURCE) -> str:
    """The JSON text of the YAML source (aliases expanded), as it is kept in the repository."""
    return json.dumps(yaml.safe_load(source.read_text()), indent=2, ensure_ascii=False) + "\n"


def is_current(source: Path = SOURCE, definition: Path = DEFINITION) -> bool:
    return definition.exists() and definition.read_text() == render(source)


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        if is_current():
            return 0
        print(f"{DEFINITION.name} is not the rendering of {SOURCE.name}; run python -m peering_tools.asl.",
              file=sys.stderr)
        return 1
    if argv:
        print("usage: python -m peering_tools.asl [--check]", file=sys.stderr)
        return 2
    DEFINITION.write_text(render())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
