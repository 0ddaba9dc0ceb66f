"""Request JSON as RFC 8259 has it, nested no deeper than a limit.

Python's json module takes NaN and Infinity, and reads 1e999 as infinity
(which the graph would store and later send back as bare literals strict
parsers reject), lone surrogates
(which no UTF-8 store can hold) and nesting until the interpreter's recursion
limit. Here each of those is a JSONError whose message says what is wrong.
The checks run on the text at C speed (regular expressions, itertools): a
walk over the decoded value in Python costs several times the decoding.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class JSONError(ValueError):
    """Text that is not acceptable JSON; the message says why."""


def _refuse_constant(name: str) -> None:
    raise JSONError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JSONError(f"{text} is too large for a number")
    return number


def loads(data: bytes | str, max_depth: int, what: str) -> Any:
    """The value of `data` (UTF-8 when bytes); `what` names it in the errors."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except UnicodeDecodeError:
        raise JSONError(f"{what} is not UTF-8") from None
    except RecursionError:
        raise JSONError(f"{what} nests deeper than {max_depth} levels") from None
    except JSONError as error:
        raise JSONError(f"{what}: {error}") from None
    except ValueError:
        raise JSONError(f"{what} is not valid JSON") from None
    if text.count("[") + text.count("{") > max_depth and _depth(text) > max_depth:
        raise JSONError(f"{what} nests deeper than {max_depth} levels")
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        raise JSONError(f"{what} holds a lone surrogate (a \\u escape of half a pair)")
    return value


def _depth(text: str) -> int:
    """How deep the arrays and objects of valid JSON text nest: the brackets left once
    strings are cut out, summed as +1 for an opening and -1 for a closing one."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _has_lone_surrogate(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
