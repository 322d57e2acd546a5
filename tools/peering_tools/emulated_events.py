"""EventBridge's pattern checks in the emulator: PutRule refuses an invalid pattern, TestEventPattern answers.

Two private moto seams (moto pinned; ``tests/emulator/test_moto_seams_events.py`` fails when one moves):

- ``moto.events.models.EventPatternParser.parse``: moto only checks that a pattern's leaves are
  non-empty arrays (``moto/events/models.py:1142-1163``), so a rule with a bad operator is accepted
  and then never fires. Wrapped, every pattern moto parses - PutRule, CreateArchive, UpdateArchive
  (``Rule.__init__``/``Archive`` call ``EventPattern.load``, models.py:85, 610, 652) - is compiled
  by ``peering_tools.eventpattern`` first and refused with ``InvalidEventPatternException`` and
  EventBridge's reason.
- ``moto.events.responses.EventsHandler.test_event_pattern``: moto answers nothing
  (``responses.py:210``; ``EventsBackend.test_event_pattern`` raises NotImplementedError,
  models.py:1532). Replaced, it answers ``{"Result": true|false}`` from ``eventpattern.matches``.
"""

from __future__ import annotations

import json
from typing import Any

from moto.events.exceptions import InvalidEventPatternException, ValidationException
from moto.events.models import EventPatternParser
from moto.events.responses import EventsHandler

from . import eventpattern

PARSE_SEAM = (EventPatternParser, "parse")
TEST_EVENT_PATTERN_SEAM = (EventsHandler, "test_event_pattern")
_original_parse = EventPatternParser.parse
_original_test_event_pattern = EventsHandler.test_event_pattern

# TestEventPattern's event must carry these (the API reference also names `resources`, which
# EventBridge does not in fact require); AWS answers "ValidationException: Parameter Event is not valid."
EVENT_REQUIRED_FIELDS = ("id", "account", "source", "time", "region", "detail-type")


def _compiled(raw_pattern: str | None) -> eventpattern.CompiledPattern | None:
    if not raw_pattern:
        return None
    try:
        return eventpattern.compile_pattern(raw_pattern)
    except eventpattern.PatternError as e:
        raise InvalidEventPatternException(reason=e.reason) from e


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _validating_parse(self: EventPatternParser) -> dict[str, Any]:
    _compiled(self.pattern)
    return _original_parse(self)


def _test_event_pattern(self: EventsHandler) -> tuple[str, dict[str, Any]]:
    compiled = _compiled(self._get_param("EventPattern"))
    try:
        event = json.loads(self._get_param("Event") or "", parse_constant=_not_json)
    except ValueError as e:
        raise ValidationException("Parameter Event is not valid.") from e
    if not isinstance(event, dict) or any(field not in event for field in EVENT_REQUIRED_FIELDS):
        raise ValidationException("Parameter Event is not valid.")
    result = compiled is not None and eventpattern.matches(compiled, event)
    return json.dumps({"Result": result}), self.response_headers


def install() -> None:
    EventPatternParser.parse = _validating_parse  # type: ignore[method-assign]
    EventsHandler.test_event_pattern = _test_event_pattern  # type: ignore[method-assign,assignment]


def uninstall() -> None:
    EventPatternParser.parse = _original_parse  # type: ignore[method-assign]
    EventsHandler.test_event_pattern = _original_test_event_pattern  # type: ignore[method-assign]
