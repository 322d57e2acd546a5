"""The value matchers of an event pattern, each deciding on one leaf value of the event.

A leaf value is what JSON gives: ``str``, ``int``/``float``, ``bool`` or ``None``. The semantics are
those of aws/event-ruler, the engine EventBridge runs (``ByteMachine.doTransitionOn`` matches the
value's JSON text, so a string matcher never matches a number or ``null``, and an anything-but with
prefix/suffix/wildcard/equals-ignore-case *does* match them: their text is not a string's).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

FIVE_BILLION = Decimal("5E9")
_SCALE = Decimal("1E6")  # numbers compare to six decimal places (event-ruler's ComparableNumber)


class NumberOutOfRange(ValueError):
    """A pattern number outside what numeric matching supports (event-ruler's message)."""


def comparable(number: str | float | int) -> int:
    """A number as event-ruler compares it: within ±5e9, truncated to six decimal places."""
    try:
        value = Decimal(str(number))
    except InvalidOperation as e:
        raise NumberOutOfRange(f"Invalid number {number}") from e
    if not value.is_finite() or not -FIVE_BILLION <= value <= FIVE_BILLION:
        raise NumberOutOfRange("Value must be between -5.0E9 and 5.0E9, inclusive")
    return int((value * _SCALE).to_integral_value(rounding=ROUND_DOWN))


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def event_comparable(value: Any) -> int | None:
    """The comparable form of an event's number, or None when it is no number numeric matching can use."""
    if not is_number(value):
        return None
    try:
        return comparable(repr(value))
    except NumberOutOfRange:
        return None


def _number_text(value: Any) -> str:
    return str(value) if isinstance(value, int) else repr(value)


class Matcher:
    def matches(self, value: Any) -> bool:  # pragma: no cover - every matcher overrides it
        raise NotImplementedError


@dataclass(frozen=True)
class ExactString(Matcher):
    value: str

    def matches(self, value: Any) -> bool:
        return isinstance(value, str) and value == self.value


@dataclass(frozen=True)
class ExactAddress(Matcher):
    """A pattern string that is an IP address literal matches the same address however it is written
    (event-ruler turns it into a one-address CIDR range: JsonRuleCompiler.writeRules, CIDR.ipToRangeIfPossible)."""

    value: str
    address: ipaddress.IPv4Address | ipaddress.IPv6Address

    def matches(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if value == self.value:
            return True
        try:
            return ipaddress.ip_address(value) == self.address
        except ValueError:
            return False


def exact_string(text: str) -> Matcher:
    if _IPV4.fullmatch(text) or _IPV6.fullmatch(text):
        try:
            return ExactAddress(text, ipaddress.ip_address(text))
        except ValueError:
            pass
    return ExactString(text)


@dataclass(frozen=True)
class ExactNumber(Matcher):
    """A number in the pattern: equal by value (when comparable) or by its digits (e.g. an account id)."""

    text: str
    number: int | None

    def matches(self, value: Any) -> bool:
        if not is_number(value):
            return False
        ours = event_comparable(value)
        return (ours is not None and ours == self.number) or _number_text(value) == self.text


@dataclass(frozen=True)
class ExactLiteral(Matcher):
    value: bool | None

    def matches(self, value: Any) -> bool:
        return value is self.value


@dataclass(frozen=True)
class Prefix(Matcher):
    prefix: str
    ignore_case: bool = False

    def matches(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        return value.lower().startswith(self.prefix.lower()) if self.ignore_case else value.startswith(self.prefix)


@dataclass(frozen=True)
class Suffix(Matcher):
    suffix: str
    ignore_case: bool = False

    def matches(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        return value.lower().endswith(self.suffix.lower()) if self.ignore_case else value.endswith(self.suffix)


@dataclass(frozen=True)
class EqualsIgnoreCase(Matcher):
    value: str

    def matches(self, value: Any) -> bool:
        return isinstance(value, str) and value.lower() == self.value.lower()


@functools.lru_cache(maxsize=512)
def wildcard_regex(pattern: str) -> re.Pattern[str]:
    """``*`` is any run of characters (also none); ``\\*`` a literal asterisk, ``\\\\`` a backslash.

    The pattern has been validated (see ``wildcard_error``)."""
    parts, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            parts.append(".*")
        elif char == "\\":
            i += 1
            parts.append(re.escape(pattern[i]))
        else:
            parts.append(re.escape(char))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


def wildcard_error(pattern: str) -> str | None:
    """event-ruler's WildcardParser message for a bad wildcard value, or None.

    Positions count UTF-8 bytes of the value as the engine sees it: in quotes, so one more than the
    index into the pattern's own text."""
    data = f'"{pattern}"'.encode()
    i = 0
    while i < len(data):
        if data[i] == ord("*"):
            if i + 1 < len(data) and data[i + 1] == ord("*"):
                return f"Consecutive wildcard characters at pos {i}"
        elif data[i] == ord("\\"):
            if i + 1 < len(data) and data[i + 1] in (ord("*"), ord("\\")):
                i += 2
                continue
            return f"Invalid escape character at pos {i}"
        i += 1
    return None


@dataclass(frozen=True)
class Wildcard(Matcher):
    pattern: str

    def matches(self, value: Any) -> bool:
        return isinstance(value, str) and wildcard_regex(self.pattern).fullmatch(value) is not None


@dataclass(frozen=True)
class AnythingBut(Matcher):
    """Anything but these strings, or anything but these numbers: other types always pass."""

    strings: frozenset[str] = frozenset()
    numbers: frozenset[int] = frozenset()

    def matches(self, value: Any) -> bool:
        if isinstance(value, str):
            return value not in self.strings
        ours = event_comparable(value)
        return ours is None or ours not in self.numbers


@dataclass(frozen=True)
class AnythingButOf(Matcher):
    """anything-but wrapping prefix/suffix/equals-ignore-case/wildcard: passes unless a string matches one."""

    inner: tuple[Matcher, ...]

    def matches(self, value: Any) -> bool:
        return not any(m.matches(value) for m in self.inner)


@dataclass(frozen=True)
class NumericRange(Matcher):
    bottom: int | None
    open_bottom: bool
    top: int | None
    open_top: bool

    def matches(self, value: Any) -> bool:
        ours = event_comparable(value)
        if ours is None:
            return False
        if self.bottom is not None and (ours <= self.bottom if self.open_bottom else ours < self.bottom):
            return False
        return not (self.top is not None and (ours >= self.top if self.open_top else ours > self.top))


@dataclass(frozen=True)
class Cidr(Matcher):
    """event-ruler's CIDR range: from the address as written up to it with every host bit set."""

    version: int
    bottom: int
    top: int

    def matches(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return address.version == self.version and self.bottom <= int(address) <= self.top


@dataclass(frozen=True)
class Exists(Matcher):
    present: bool

    def matches(self, value: Any) -> bool:
        return self.present  # any value at the path (null included) makes the field present


_IPV4 = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_IPV6 = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")


def cidr(text: str) -> Cidr:
    """Parse ``cidr``'s value as event-ruler's CIDR.cidr does; ValueError carries its message."""
    parts = text.split("/")
    while len(parts) > 1 and parts[-1] == "":  # Java's split drops trailing empty strings
        parts.pop()
    if len(parts) != 2:
        raise ValueError("Malformed CIDR, one '/' required")
    if not re.fullmatch(r"[+-]?[0-9]+", parts[1]):
        raise ValueError("Malformed CIDR, mask bits must be an integer")
    bits = int(parts[1])
    if bits < 0:
        raise ValueError("Malformed CIDR, mask bits must not be negative")
    ip = parts[0]
    if not (_IPV4.fullmatch(ip) or _IPV6.fullmatch(ip)):
        raise ValueError(f"Nonstandard IP address: {ip}")
    try:
        address = ipaddress.ip_address(ip)
    except ValueError as e:
        raise ValueError(f"Invalid IP address: {ip}") from e
    width = address.max_prefixlen
    if bits > width - 1:
        raise ValueError(f"IPv{address.version} mask bits must be < {width}")
    host = (1 << (width - bits)) - 1
    return Cidr(address.version, int(address), int(address) | host)
