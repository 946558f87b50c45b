"""Checks for values from users, connections and the network, with no HTTP in them.

Each raises :class:`~airflow_ovhcloud.exceptions.OVHCloudAIInvalidInputError` naming the value
and what is wrong, so a bad input fails the task at once instead of surfacing as a raw Python
error or burning Airflow retries.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterator, Mapping, Sequence, Set
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from airflow_ovhcloud.exceptions import OVHCloudAIInvalidArgumentError, OVHCloudAIInvalidInputError

# ------------------------------------------------------------ argument types and ranges
# Numbers, strings and lists a user hands to a hook, an operator or a decorator. Each check names
# the argument, says what it must be and shows (a short repr of) what it got.


def shown(value: Any, limit: int = 80) -> str:
    """A short ``repr`` of a user's value for a message; never raises, whatever the value."""
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__, an int too long to print...
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def invalid(name: str, expected: str, value: Any) -> OVHCloudAIInvalidInputError:
    """The error for argument ``name`` that is not ``expected``: ``tools must be a list, got 3 (int).``"""
    return OVHCloudAIInvalidInputError(f"{name} must be {expected}, got {shown(value)} ({type(value).__name__}).")


def _number(value: Any, integer: bool) -> int | float | None:
    """``value`` as an int (or, unless ``integer``, a finite float); ``None`` when it is neither."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, numbers.Integral):
            return int(value)
        if integer or not isinstance(value, numbers.Real):
            return None
        number = float(value)
    except (ArithmeticError, TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def check_number(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    integer: bool = False,
    allow_none: bool = False,
) -> Any:
    """A finite number (an integer with ``integer=True``) within the bounds; a bool is not a number.

    Returns it as a plain ``int`` or ``float`` (numpy scalars included), or ``None`` when allowed.
    """
    if value is None and allow_none:
        return None
    number = _number(value, integer)
    if number is None or (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        kind = "an integer" if integer else "a finite number"
        if minimum is not None and maximum is not None:
            kind += f" from {minimum} to {maximum}"
        elif minimum is not None:
            kind += f" ≥ {minimum}"
        elif maximum is not None:
            kind += f" ≤ {maximum}"
        raise invalid(name, kind + (" or None" if allow_none else ""), value)
    return number


def check_int(name: str, value: Any, *, minimum: int = 0, maximum: int | None = None, allow_none: bool = False) -> Any:
    """An integer ``≥ minimum`` (0 by default): :func:`check_number` with ``integer=True``."""
    return check_number(name, value, minimum=minimum, maximum=maximum, integer=True, allow_none=allow_none)


def check_str(name: str, value: Any, *, allow_none: bool = False, allow_empty: bool = False) -> Any:
    """A string (non-blank unless ``allow_empty``), or ``None`` when allowed."""
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        expected = "a string" if allow_empty else "a non-empty string"
        raise invalid(name, expected + (" or None" if allow_none else ""), value)
    return value


def check_str_list(
    name: str,
    value: Any,
    *,
    allow_str: bool = False,
    allow_set: bool = False,
    allow_none: bool = False,
    non_empty_items: bool = False,
) -> Any:
    """A list (or tuple) of strings, returned as a list; ``None`` when allowed.

    ``allow_str`` takes one string as a list of one; otherwise a string is refused, never iterated
    character by character. ``allow_set`` also takes a set, where order means nothing (states).
    """
    if value is None and allow_none:
        return None
    if isinstance(value, str):
        if allow_str:
            value = [value]
        else:
            raise OVHCloudAIInvalidInputError(
                f"{name} must be a list of strings, got the single string {shown(value)}: write [{shown(value)}]."
            )
    containers: tuple[type, ...] = (Sequence, Set) if allow_set else (Sequence,)
    if isinstance(value, (bytes, bytearray, Mapping)) or not isinstance(value, containers):
        raise invalid(name, "a list of strings" + (" or a string" if allow_str else ""), value)
    collection: Any = value
    items = (
        sorted(collection)
        if isinstance(collection, Set) and all(isinstance(v, str) for v in collection)
        else list(collection)
    )
    for index, item in enumerate(items):
        if not isinstance(item, str) or (non_empty_items and not item.strip()):
            raise invalid(f"{name}[{index}]", "a non-empty string" if non_empty_items else "a string", item)
    return items


def check_dict_list(name: str, value: Any, *, allow_none: bool = False) -> Any:
    """A list (or tuple) of dicts, returned as a list; ``None`` when allowed."""
    if value is None and allow_none:
        return None
    if isinstance(value, (str, bytes, bytearray, Mapping)) or not isinstance(value, Sequence):
        raise invalid(name, "a list of dicts", value)
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise invalid(f"{name}[{index}]", "a dict", item)
    return list(value)


def check_mapping(name: str, value: Any, *, allow_none: bool = False) -> Any:
    """A dict (any mapping), or ``None`` when allowed."""
    if value is None and allow_none:
        return None
    if not isinstance(value, Mapping):
        raise invalid(name, "a dict", value)
    return value


@contextmanager
def argument_errors() -> Iterator[None]:
    """Raise the checks' errors as :class:`OVHCloudAIInvalidArgumentError`: for operator constructors.

    That error is also a ``TypeError``, what Python (and 0.2) raise for a bad argument when the DAG
    is parsed.
    """
    try:
        yield
    except OVHCloudAIInvalidArgumentError:
        raise
    except OVHCloudAIInvalidInputError as exc:
        raise OVHCloudAIInvalidArgumentError(str(exc)) from None


def check_bool(name: str, value: Any, *, allow_none: bool = False) -> Any:
    """``True`` or ``False`` (not a truthy string such as ``"false"``), or ``None`` when allowed."""
    if value is None and allow_none:
        return None
    if not isinstance(value, bool):
        raise invalid(name, "True or False", value)
    return value


# ------------------------------------------------------------------------------ URL path ids

#: The shape of every id the services put in a path (job UUIDs, batch and file ids): it can never
#: be ``.``/``..`` or carry ``/``, ``?``, ``#``, ``%`` or whitespace, so it cannot change the path,
#: the query or the fragment of the request it goes into.
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:~-]{0,254}")


def path_segment(value: Any, what: str) -> str:
    """``value`` as one URL path segment, or an error: an id can never redirect a request."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value.strip()):
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        raise OVHCloudAIInvalidInputError(
            f"Invalid {what} {shown}: an id is letters, digits, '-', '_', '.', ':' or '~', starting with a "
            "letter or digit (no '/', '?', '#', '%' or spaces)."
        )
    return quote(value.strip(), safe="")
