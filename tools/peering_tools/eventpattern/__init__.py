"""EventBridge event patterns for the emulator: validation (PutRule, TestEventPattern) and matching.

No maintained engine validated against EventBridge can be used from Python 3.13 here (PyPI's
``event-ruler`` 0.3.0 wraps Quamina, with wheels up to cp312 only, and aws/event-ruler is Java), so
this package follows aws/event-ruler - the engine EventBridge runs - and the EventBridge user guide
("Event pattern syntax", "Comparison operators for use in event patterns"), table-tested from the
guide's own examples in tests/emulator/test_eventpattern.py.

``compile_pattern`` refuses an invalid pattern with EventBridge's reason (``PatternError``);
``matches`` answers whether an event matches a pattern. Pure: no moto, no boto3.
"""

from .compiler import CompiledPattern, PatternError, compile_pattern
from .matcher import flatten, matches

__all__ = ["CompiledPattern", "PatternError", "compile_pattern", "flatten", "matches"]
