"""A pull parser over JSON text that reports where it stands as Jackson does.

EventBridge compiles a pattern with aws/event-ruler, which reads it token by token with Jackson and,
on the first bad token, fails with Jackson's location: ``<reason>\\n at [Source: (String)"<pattern>";
line: L, column: C]``. The pattern compiler here reads the same way, so its messages name the same
place: after a field name Jackson has already read the start of its value; a string value is read
only up to its opening quote until its text is asked for.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from typing import Any

MAX_SOURCE_SNIPPET = 500  # Jackson's JsonLocation.MAX_CONTENT_SNIPPET

_LEXEME = re.compile(r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<punct>[{}\[\],:])
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
  | (?P<literal>true|false|null)
""", re.VERBOSE)


class Token(enum.Enum):
    START_OBJECT = "{"
    END_OBJECT = "}"
    START_ARRAY = "["
    END_ARRAY = "]"
    FIELD_NAME = "name"
    STRING = "string"
    NUMBER = "number"
    TRUE = "true"
    FALSE = "false"
    NULL = "null"

    @property
    def is_scalar(self) -> bool:
        return self in (Token.STRING, Token.NUMBER, Token.TRUE, Token.FALSE, Token.NULL)


@dataclass(frozen=True)
class _Lexeme:
    kind: str
    start: int
    end: int
    text: str


_BRACKETS = {"{": Token.START_OBJECT, "}": Token.END_OBJECT, "[": Token.START_ARRAY, "]": Token.END_ARRAY}
_LITERALS = {"true": Token.TRUE, "false": Token.FALSE, "null": Token.NULL}


def _not_json(name: str) -> Any:
    """Python's json reads NaN and Infinity; JSON (and Jackson) does not."""
    raise json.JSONDecodeError(f"{name} is not a JSON value", name, 0)


def _lex(text: str) -> list[_Lexeme]:
    out, pos = [], 0
    while pos < len(text):
        found = _LEXEME.match(text, pos)
        if found is None:  # unreachable for text json.loads accepted
            raise ValueError(f"unexpected character at {pos}")
        if found.lastgroup != "ws":
            out.append(_Lexeme(found.lastgroup or "", found.start(), found.end(), found.group()))
        pos = found.end()
    return out


class JsonStream:
    """Tokens of one JSON document, with Jackson's notion of the current location.

    Raises ``json.JSONDecodeError`` at construction when the text is not JSON.
    """

    def __init__(self, text: str):
        json.loads(text, parse_constant=_not_json)
        self.text = text
        lexemes = _lex(text)
        self._names = {lx.start for lx, after in zip(lexemes, lexemes[1:], strict=False)
                       if lx.kind == "string" and after.text == ":"}  # field names: the strings before a colon
        self._lexemes = [lx for lx in lexemes if lx.text not in (",", ":")]
        self._i = 0
        self._pos = 0  # Jackson's input pointer
        self._string_end: int | None = None  # set while a string token is read only up to its opening quote
        self._pending: tuple[Token, _Lexeme] | None = None  # the value Jackson read ahead after a field name
        self.token: Token | None = None
        self._lexeme: _Lexeme | None = None

    def next_token(self) -> Token | None:
        if self._pending is not None:
            self.token, self._lexeme = self._pending
            self._pending = None
            return self.token
        if self._string_end is not None:  # Jackson skips the rest of an unread string
            self._pos, self._string_end = self._string_end, None
        if self._i >= len(self._lexemes):
            self.token = self._lexeme = None
            return None
        lexeme = self._lexemes[self._i]
        self._i += 1
        if lexeme.kind == "string" and lexeme.start in self._names:
            value = self._lexemes[self._i]
            self._i += 1
            self._pending = (self._value_token(value), value)
            self._advance_into(value)
            self.token, self._lexeme = Token.FIELD_NAME, lexeme
            return self.token
        self.token, self._lexeme = self._value_token(lexeme), lexeme
        self._advance_into(lexeme)
        return self.token

    @staticmethod
    def _value_token(lexeme: _Lexeme) -> Token:
        if lexeme.kind == "punct":
            return _BRACKETS[lexeme.text]
        if lexeme.kind == "string":
            return Token.STRING
        if lexeme.kind == "number":
            return Token.NUMBER
        return _LITERALS[lexeme.text]

    def _advance_into(self, lexeme: _Lexeme) -> None:
        if lexeme.kind == "string":
            self._pos, self._string_end = lexeme.start + 1, lexeme.end
        else:
            self._pos = lexeme.end

    @property
    def current_name(self) -> str:
        """The field name of the current FIELD_NAME token."""
        assert self._lexeme is not None
        return json.loads(self._lexeme.text)

    def text_value(self) -> str:
        """The current token's text (a string's content, a number's digits), reading a string to its end."""
        assert self._lexeme is not None
        if self.token is Token.STRING:
            if self._string_end is not None and self._pending is None:
                self._pos, self._string_end = self._string_end, None
            return json.loads(self._lexeme.text)
        if self.token is Token.FIELD_NAME:
            return self.current_name
        return self._lexeme.text

    def location(self) -> str:
        return source_location(self.text, self._pos)


def source_location(text: str, pos: int) -> str:
    """Jackson's ``[Source: (String)"..."; line: L, column: C]`` for the input pointer at ``pos``."""
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    if len(text) > MAX_SOURCE_SNIPPET:
        source = f'{text[:MAX_SOURCE_SNIPPET]}"[truncated {len(text) - MAX_SOURCE_SNIPPET} chars]'
    else:
        source = f'{text}"'
    return f'[Source: (String)"{source}; line: {line}, column: {column}]'


class _SyntaxError(Exception):
    def __init__(self, message: str, pos: int):
        super().__init__(message)
        self.message, self.pos = message, pos


_JSON_VALUES = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"')


def jackson_syntax_error(text: str) -> tuple[str, int] | None:
    """Jackson's message and input position for the commonest ways a pattern is not JSON (a bare word,
    single quotes, a missing comma, colon or value), or None where its wording is not reproduced here."""

    def unexpected(i: int, expecting: str) -> _SyntaxError:  # located at the character itself, as Jackson does
        return _SyntaxError(f"Unexpected character ('{text[i]}' (code {ord(text[i])})): {expecting}", i)

    def ws(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        if i >= len(text):
            raise EOFError
        return i

    def value(i: int) -> int:
        i = ws(i)
        char = text[i]
        if char == "{":
            return members(i + 1)
        if char == "[":
            return elements(i + 1)
        if char == '"':
            found = _STRING.match(text, i)
            if found is None:
                raise EOFError
            return found.end()
        if char == "-" or char.isdigit():
            found = _NUMBER.match(text, i)
            if found is None or (found.end() < len(text) and (text[found.end()].isalnum() or text[found.end()] == ".")):
                raise EOFError  # Jackson's number messages are not reproduced
            return found.end()
        if char.isalpha() or char in "_$":
            end = i
            while end < len(text) and (text[end].isalnum() or text[end] in "_$"):
                end += 1
            if text[i:end] in ("true", "false", "null"):
                return end
            raise _SyntaxError(f"Unrecognized token '{text[i:end]}': was expecting {_JSON_VALUES}", end)
        if char in "]},:":
            raise unexpected(i, "expected a value")
        raise unexpected(i, f"expected a valid value {_JSON_VALUES}")

    def members(i: int) -> int:
        i = ws(i)
        if text[i] == "}":
            return i + 1
        while True:
            if text[i] != '"':
                raise unexpected(i, "was expecting double-quote to start field name")
            found = _STRING.match(text, i)
            if found is None:
                raise EOFError
            i = ws(found.end())
            if text[i] != ":":
                raise unexpected(i, "was expecting a colon to separate field name and value")
            i = ws(value(i + 1))
            if text[i] == "}":
                return i + 1
            if text[i] != ",":
                raise unexpected(i, "was expecting comma to separate Object entries")
            i = ws(i + 1)

    def elements(i: int) -> int:
        i = ws(i)
        if text[i] == "]":
            return i + 1
        while True:
            i = ws(value(i))
            if text[i] == "]":
                return i + 1
            if text[i] != ",":
                raise unexpected(i, "was expecting comma to separate Array entries")
            i += 1

    try:
        value(0)
    except _SyntaxError as e:
        return e.message, e.pos
    except (EOFError, IndexError):
        return None
    return None
