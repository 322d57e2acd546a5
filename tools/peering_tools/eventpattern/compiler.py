"""Validate and compile an event pattern the way EventBridge does at PutRule and TestEventPattern.

The order of checks and the messages follow aws/event-ruler's ``JsonRuleCompiler`` (the engine behind
EventBridge), read token by token, so the first problem in the text is the one reported, with
Jackson's location, as in this real PutRule answer::

    Event pattern is not valid. Reason: "lenderId" must be an object or an array
     at [Source: (String)"{"source":["test.event-pattern"],"detail":{"lenderId":"LenderA"}}"; line: 1, column: 56]

Answers AWS gave (recorded by LocalStack's parity tests) are reproduced exactly, location included
(tests/emulator/test_eventpattern.py). Not reproduced (said where it matters): Jackson's wording for
the rarer ways text is not JSON (an unclosed object, a bad number or escape), and EventBridge's
service-side limits (pattern length, wildcard "Rule is too complex", $or combinations).
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import operators as ops
from ._jsonstream import JsonStream, Token, jackson_syntax_error, source_location

OR = "$or"
# event-ruler's Constants.RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP: refused as field names inside $or
RESERVED_IN_OR = frozenset({
    "exactly", "equals-ignore-case", "prefix", "suffix", "anything-but", "exists", "wildcard", "numeric", "cidr",
    "=", "<", "<=", ">", ">=", "regex", "not-wildcard", "not-equals-ignore-case", "date-after",
    "date-on-or-after", "date-before", "date-on-or-before", "in-date-range", "ip-address-in-range",
    "ip-address-not-in-range",
})
PREFIX_STYLE = "Event pattern is not valid. Reason: "


class PatternError(ValueError):
    """An invalid event pattern. ``reason`` is what follows AWS's "Event pattern is not valid. Reason: "."""

    def __init__(self, reason: str):
        super().__init__(PREFIX_STYLE + reason)
        self.reason = reason


Branch = dict[str, tuple[ops.Matcher, ...]]  # joined field path -> the matchers any one of which must match


@dataclass(frozen=True)
class CompiledPattern:
    """A valid pattern: it matches an event when one of its branches does (more than one only with $or)."""

    branches: tuple[tuple[tuple[str, tuple[ops.Matcher, ...]], ...], ...]


def compile_pattern(pattern: str | dict[str, Any]) -> CompiledPattern:
    """Compile a pattern given as JSON text (as PutRule receives it) or as a parsed object.

    Raises PatternError with EventBridge's reason for an invalid one."""
    return _compile_text(pattern if isinstance(pattern, str) else json.dumps(pattern))


@functools.lru_cache(maxsize=512)
def _compile_text(text: str) -> CompiledPattern:
    try:
        stream = JsonStream(text)
    except json.JSONDecodeError as e:
        if (known := jackson_syntax_error(text)) is not None:
            reason, pos = known
            raise PatternError(f"{reason}\n at {source_location(text, pos)}") from e
        # EventBridge passes Jackson's parse error on; for other mistakes its wording is not reproduced here.
        raise PatternError(f"Filter is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from e
    return _Compiler(stream).compile()


class _Compiler:
    def __init__(self, stream: JsonStream):
        self.p = stream

    def barf(self, message: str) -> Any:
        raise PatternError(f"{message}\n at {self.p.location()}")

    @contextlib.contextmanager
    def rethrown(self) -> Iterator[None]:
        """event-ruler reads anything-but lists inside ``catch (IOException e) { barf(parser, e.getMessage()); }``,
        so a problem found there is reported with Jackson's location twice (as EventBridge answers)."""
        try:
            yield
        except PatternError as e:
            if "\n at [Source: " in e.reason:
                self.barf(e.reason)
            raise
        except ops.NumberOutOfRange as e:  # an IllegalArgumentException there: its message, located once
            self.barf(str(e))

    def expect_end_object(self, message: str = "Only one key allowed in match expression") -> None:
        if self.p.next_token() is not Token.END_OBJECT:
            self.barf(message)

    def compile(self) -> CompiledPattern:
        rules: list[Branch] = []
        if self.p.next_token() is not Token.START_OBJECT:
            self.barf("Filter is not an object")
        self.parse_object(rules, (), inside_or=False)
        return CompiledPattern(tuple(tuple(rule.items()) for rule in rules))

    # -- structure: objects, $or, arrays of matchers ----------------------------------------------------
    def parse_object(self, rules: list[Branch], path: tuple[str, ...], inside_or: bool) -> None:
        fields_present = False
        while self.p.next_token() is not Token.END_OBJECT:
            fields_present = True
            name = self.p.current_name
            if name == OR:
                self.parse_or(rules, path)
                continue
            if inside_or and name in RESERVED_IN_OR:
                self.barf(f"{name} is Ruler reserved fieldName which cannot be used inside {OR}.")
            token = self.p.next_token()
            if token is Token.START_OBJECT:
                self.parse_object(rules, (*path, name), inside_or)
            elif token is Token.START_ARRAY:
                self.write_rules(rules, ".".join((*path, name)))  # keys join with dots, dotted keys alike
            else:
                self.barf(f'"{name}" must be an object or an array')
        if not fields_present:
            self.barf("Empty objects are not allowed")

    def parse_or(self, rules: list[Branch], path: tuple[str, ...]) -> None:
        current = [dict(rule) for rule in rules]
        rules.clear()
        if self.p.next_token() is not Token.START_ARRAY:
            self.barf(f"It must be an Array followed with {OR}.")
        count = 0
        while (token := self.p.next_token()) is not Token.END_ARRAY:
            count += 1
            if token is not Token.START_OBJECT:
                self.barf(f"Only JSON object is allowed in array of {OR} relationship.")
            branch_rules = [dict(rule) for rule in current] or [{}]
            self.parse_object(branch_rules, path, inside_or=True)
            rules.extend(branch_rules)
        if count < 2:
            self.barf(f"There must have at least 2 Objects in {OR} relationship.")

    def write_rules(self, rules: list[Branch], name: str) -> None:
        values: list[ops.Matcher] = []
        while (token := self.p.next_token()) is not Token.END_ARRAY:
            if token is Token.START_OBJECT:
                values.append(self.match_expression())
            elif token is Token.STRING:
                values.append(ops.exact_string(self.p.text_value()))
            elif token is Token.NUMBER:
                text = self.p.text_value()
                try:
                    number: int | None = ops.comparable(text)
                except ops.NumberOutOfRange:
                    number = None  # still matched by its digits, as an account id is
                values.append(ops.ExactNumber(text, number))
            elif token in (Token.TRUE, Token.FALSE, Token.NULL):
                values.append(ops.ExactLiteral({Token.TRUE: True, Token.FALSE: False}.get(token)))
            else:
                self.barf("Match value must be String, number, true, false, or null")
        if not values:
            self.barf("Empty arrays are not allowed")
        if not rules:
            rules.append({})
        for rule in rules:
            rule[name] = tuple(values)  # a repeated key: the last one counts

    # -- one matcher: {"operator": argument} ------------------------------------------------------------
    def match_expression(self) -> ops.Matcher:
        if self.p.next_token() is not Token.FIELD_NAME:
            self.barf("Match expression name not found")
        operator = self.p.current_name
        handler = {
            "prefix": self.prefix_or_suffix, "suffix": self.prefix_or_suffix, "numeric": self.numeric,
            "anything-but": self.anything_but, "exists": self.exists, "cidr": self.cidr,
            "equals-ignore-case": self.equals_ignore_case, "wildcard": self.wildcard,
        }.get(operator)
        if handler is None:
            self.barf(f"Unrecognized match type {operator}")
        return handler(operator)

    def prefix_or_suffix(self, operator: str) -> ops.Matcher:
        kind = ops.Prefix if operator == "prefix" else ops.Suffix
        token = self.p.next_token()
        if token is Token.START_OBJECT:  # {"prefix": {"equals-ignore-case": "..."}}
            if self.p.next_token() is not Token.FIELD_NAME:
                self.barf(f"{operator.capitalize()} expression name not found")
            inner = self.p.current_name
            if inner != "equals-ignore-case":
                self.barf(f"Unsupported {operator} pattern: {inner}")
            if self.p.next_token() is not Token.STRING:
                self.barf("equals-ignore-case match pattern must be a string")
            matcher = kind(self.p.text_value(), ignore_case=True)
            self.expect_end_object()
            self.expect_end_object()
            return matcher
        if token is not Token.STRING:
            self.barf(f"{operator} match pattern must be a string")
        matcher = kind(self.p.text_value())
        self.expect_end_object()
        return matcher

    def equals_ignore_case(self, operator: str) -> ops.Matcher:
        if self.p.next_token() is not Token.STRING:
            self.barf("equals-ignore-case match pattern must be a string")
        matcher = ops.EqualsIgnoreCase(self.p.text_value())
        self.expect_end_object()
        return matcher

    def wildcard(self, operator: str) -> ops.Matcher:
        if self.p.next_token() is not Token.STRING:
            self.barf("wildcard match pattern must be a string")
        value = self.p.text_value()
        if (error := ops.wildcard_error(value)) is not None:
            self.barf(error)
        self.expect_end_object()
        return ops.Wildcard(value)

    def exists(self, operator: str) -> ops.Matcher:
        token = self.p.next_token()
        if token not in (Token.TRUE, Token.FALSE):
            self.barf("exists match pattern must be either true or false.")
        self.expect_end_object()
        return ops.Exists(token is Token.TRUE)

    def cidr(self, operator: str) -> ops.Matcher:
        if self.p.next_token() is not Token.STRING:
            self.barf("prefix match pattern must be a string")  # sic: event-ruler's message for cidr too
        try:
            matcher = ops.cidr(self.p.text_value())
        except ValueError as e:  # event-ruler lets CIDR's IllegalArgumentException out without a location
            raise PatternError(str(e)) from e
        self.expect_end_object()
        return matcher

    def numeric(self, operator: str) -> ops.Matcher:
        if self.p.next_token() is not Token.START_ARRAY:
            self.barf("Value of numeric must be an array.")
        matcher = self.numeric_range()
        self.expect_end_object("Too many elements in numeric expression")
        return matcher

    def _number(self, text: str | None = None) -> int:
        try:
            return ops.comparable(self.p.text_value() if text is None else text)
        except ops.NumberOutOfRange as e:
            return self.barf(str(e))

    def numeric_range(self) -> ops.Matcher:
        if self.p.next_token() is not Token.STRING:
            self.barf(f"Invalid member in numeric match: {self.p.text_value()}")
        operator = self.p.text_value()
        token = self.p.next_token()
        if operator not in ("=", ">=", ">", "<=", "<"):
            self.barf(f"Unrecognized numeric range operator: {operator}")
        if token is not Token.NUMBER:
            self.barf(f"Value of {'equals' if operator == '=' else operator} must be numeric")
        text = self.p.text_value()
        if operator in ("=", "<=", "<"):
            if self.p.next_token() is not Token.END_ARRAY:
                self.barf("Too many elements in numeric expression")
            value = self._number(text)
            if operator == "=":
                return ops.NumericRange(value, False, value, False)
            return ops.NumericRange(None, False, value, operator == "<")
        token = self.p.next_token()
        if token is Token.END_ARRAY:
            return ops.NumericRange(self._number(text), operator == ">", None, False)
        if token is not Token.STRING:
            self.barf(f"Bad value in numeric range: {self.p.text_value()}")
        top_operator = self.p.text_value()
        if top_operator not in ("<", "<="):
            self.barf(f"Bad numeric range operator: {top_operator}")
        if self.p.next_token() is not Token.NUMBER:
            self.barf(f"Value of {top_operator} must be numeric")
        top_text = self.p.text_value()
        if self.p.next_token() is not Token.END_ARRAY:
            self.barf("Too many terms in numeric range expression")
        bottom, top = self._number(text), self._number(top_text)
        if not bottom < top:
            self.barf("Bottom must be less than top")
        return ops.NumericRange(bottom, operator == ">", top, top_operator == "<")

    # -- anything-but -----------------------------------------------------------------------------------
    def anything_but(self, operator: str) -> ops.Matcher:
        inner = None
        token = self.p.next_token()
        if token is Token.START_OBJECT:  # {"anything-but": {"prefix"|"suffix"|"equals-ignore-case"|"wildcard": ...}}
            if self.p.next_token() is not Token.FIELD_NAME:
                self.barf("Anything-But expression name not found")
            inner = self.p.current_name
            if inner not in ("equals-ignore-case", "prefix", "suffix", "wildcard"):
                self.barf(f"Unsupported anything-but pattern: {inner}")
            token = self.p.next_token()
        if token not in (Token.START_ARRAY, Token.STRING, Token.NUMBER):
            self.barf("Value of anything-but must be an array or single string/number value.")
        matcher = self.anything_but_values(token) if inner is None else self.anything_but_of(inner, token)
        self.expect_end_object("Too many elements in numeric expression")  # sic: event-ruler's message
        if inner is not None:
            self.expect_end_object("Too many elements in numeric expression")
        return matcher

    def anything_but_values(self, token: Token) -> ops.Matcher:
        strings: set[str] = set()
        numbers: set[int] = set()
        if token is not Token.START_ARRAY:
            if token is Token.STRING:
                strings.add(self.p.text_value())
            else:
                numbers.add(self._number())
            return ops.AnythingBut(frozenset(strings), frozenset(numbers))
        with self.rethrown():
            while (token := self.p.next_token()) is not Token.END_ARRAY:
                if token is Token.STRING:
                    strings.add(self.p.text_value())
                elif token is Token.NUMBER:
                    numbers.add(ops.comparable(self.p.text_value()))
                else:
                    self.barf("Inside anything but list, start|null|boolean is not supported.")
        if bool(strings) == bool(numbers):
            self.barf("Inside anything but list, either all values are number or string, mixed type is not supported")
        return ops.AnythingBut(frozenset(strings), frozenset(numbers))

    def anything_but_of(self, inner: str, token: Token) -> ops.Matcher:
        texts: list[str] = []
        if token is Token.START_ARRAY:
            with self.rethrown():
                while (token := self.p.next_token()) is not Token.END_ARRAY:
                    texts.append(self._anything_but_text(inner, token))
        else:
            texts.append(self._anything_but_text(inner, token))
        if inner == "wildcard":
            for text in texts:
                if (error := ops.wildcard_error(text)) is not None:
                    self.barf(error)
        make = {
            "prefix": ops.Prefix, "suffix": ops.Suffix, "equals-ignore-case": ops.EqualsIgnoreCase,
            "wildcard": ops.Wildcard,
        }[inner]
        return ops.AnythingButOf(tuple(make(text) for text in texts))

    def _anything_but_text(self, inner: str, token: Token) -> str:
        if token is not Token.STRING:
            if inner == "equals-ignore-case":
                self.barf("Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.")
            if inner == "wildcard":
                self.barf("wildcard match pattern must be a string")
            self.barf("prefix/suffix match pattern must be a string")
        text = self.p.text_value()
        if inner in ("prefix", "suffix") and not text:
            self.barf("Null prefix/suffix not allowed")
        return text
