"""Canaries for the moto seams ``peering_tools.emulated_events`` patches (moto is pinned exactly).

If one fails after a moto upgrade, the seam moved or moto changed what it does there: re-check
emulated_events before trusting PutRule validation or TestEventPattern in the emulator.
"""

from __future__ import annotations

import inspect

from moto.events.models import Archive, EventPattern, EventPatternParser, Rule
from moto.events.responses import EventsHandler

from peering_tools import emulated_events


def params(func) -> list[str]:
    return list(inspect.signature(func).parameters)


def test_pattern_parse_seam_is_what_every_rule_and_archive_pattern_goes_through():
    cls, name = emulated_events.PARSE_SEAM
    assert (cls, name) == (EventPatternParser, "parse")
    assert params(emulated_events._original_parse) == ["self"], "moto moved EventPatternParser.parse"
    assert "self.pattern" in inspect.getsource(EventPatternParser.__init__), "EventPatternParser lost .pattern"
    load = inspect.getsource(EventPattern.load)
    assert "EventPatternParser(raw_pattern)" in load and ".parse()" in load, "EventPattern.load no longer parses"
    assert "EventPattern.load(event_pattern)" in inspect.getsource(Rule.__init__), "PutRule's Rule no longer loads"
    assert "EventPattern.load(event_pattern)" in inspect.getsource(Archive), "archives no longer load patterns"


def test_moto_itself_still_accepts_patterns_eventbridge_refuses():
    """Why the seam exists: if moto starts validating operators, compare its messages with AWS's."""
    assert emulated_events._original_parse(EventPatternParser('{"a": [{"nope": 1}]}')) == {"a": [{"nope": 1}]}


def test_test_event_pattern_seam_is_still_unimplemented_in_moto_and_dispatched_by_name():
    cls, name = emulated_events.TEST_EVENT_PATTERN_SEAM
    assert (cls, name) == (EventsHandler, "test_event_pattern")
    assert params(emulated_events._original_test_event_pattern) == ["self"]
    assert emulated_events._original_test_event_pattern(object()) is None, (
        "moto now answers TestEventPattern itself: check its semantics against eventpattern before keeping the seam")
    from moto.core.responses import BaseResponse

    source = inspect.getsource(BaseResponse.call_action)
    assert "camelcase_to_underscores(self._get_action())" in source and "getattr(self, action)" in source, (
        "moto.core.responses.BaseResponse.call_action no longer dispatches by the action's method name")


def test_moto_exceptions_the_seams_raise_keep_their_shape():
    from moto.events.exceptions import InvalidEventPatternException, ValidationException

    refused = InvalidEventPatternException(reason="x")
    assert refused.error_type == "InvalidEventPatternException"
    assert refused.message == "Event pattern is not valid. Reason: x"
    assert ValidationException("y").error_type == "ValidationException"


def test_install_and_uninstall_swap_exactly_the_two_seams():
    emulated_events.install()
    try:
        assert EventPatternParser.parse is emulated_events._validating_parse
        assert EventsHandler.test_event_pattern is emulated_events._test_event_pattern
    finally:
        emulated_events.uninstall()
    assert EventPatternParser.parse is emulated_events._original_parse
    assert EventsHandler.test_event_pattern is emulated_events._original_test_event_pattern


def test_moto_delivery_to_other_targets_only_asks_the_rules_pattern_which_an_empty_one_always_passes():
    """emulator._delivering_send_to_targets hands SQS/logs/bus targets to moto with an empty pattern, so
    that moto delivers exactly what eventpattern matched."""
    assert "if not self.event_pattern.matches_event(original_event):" in inspect.getsource(Rule.send_to_targets)
    assert EventPattern(None, {}).matches_event({"source": "anything", "detail": {"a": [1]}})
