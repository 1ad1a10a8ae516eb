"""jsonargparse's reports of a bad config or flag, read down to the one thing that is wrong.

A bad value inside a DataModule or net comes back nested: the outer key, a union of the types the
key could take ("Does not validate against any of the Union subtypes"), the class it was meant
for, the inner key, and pydantic's report of the range. ``parser_message`` follows that nesting to
the innermost problem and says it in one line with the whole key, the value and what is valid.
"""

from __future__ import annotations

import difflib
import inspect
import re
from dataclasses import dataclass, field
from typing import Any

from lightlab.errors import one_line
from lightlab.ranges import declared_range, describe

_UNION = "Does not validate against any of the Union subtypes"
_NONE = "Expected a <class 'NoneType'>"
_KEY = re.compile(r'\s*Parser key "([^"]+)":[ \t]*\n*')
_CLASS = re.compile(r"Problem with given class_path '([^']+)':\s*")
_UNKNOWN = re.compile(r"Option '([^']+)' is not accepted")
_PYDANTIC = re.compile(r"(?:\d+ )?validation errors? for ")
_RANGE_TYPES = ("greater_than", "less_than", "finite_number", "literal_error", "multiple_of")


@dataclass
class Problem:
    """The innermost problem of a parser report: the key it is under, the class that declares
    that key (when a class path was given), the text, and the value given."""

    keys: list[str] = field(default_factory=list)
    owner: str | None = None
    text: str = ""
    value: str | None = None
    nested: bool = False  # found inside a union or a class's arguments

    @property
    def key(self) -> str:
        return ".".join(self.keys)


def _union_errors(text: str) -> list[str]:
    """The ``- ...`` items of a union report's ``Errors:`` list, each dedented."""
    block = re.split(r"(?:^|\n)\s*Errors:\n", text, maxsplit=1)[-1]
    block = re.split(r"\n\s*Given value type:", block, maxsplit=1)[0]
    lines = block.splitlines()
    base = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    items: list[list[str]] = []
    for line in lines:
        if line[base:].startswith("- "):
            items.append([line[base + 2 :]])
        elif items:
            items[-1].append(line[base + 2 :])
    return ["\n".join(item).strip() for item in items]


def _specificity(item: str) -> int:
    """How much a union item says: a value that failed a type says most, "not this type" least."""
    if item.startswith(_NONE) or item.startswith("Expected a "):
        return 0
    return 1 if _UNKNOWN.search(item) else 2


def innermost(message: str) -> Problem:
    """Follow keys, unions and class paths in ``message`` down to the problem they wrap."""
    problem = Problem(text=message.strip())
    while True:
        text = problem.text
        if match := _KEY.match(text):
            problem.keys.append(match.group(1))
            problem.text = text[match.end() :]
        elif match := _CLASS.match(text.lstrip()):
            problem.owner = match.group(1)
            problem.keys.append("init_args")
            problem.nested = True
            problem.text = text.lstrip()[match.end() :]
        elif text.lstrip().startswith(_UNION) or text.lstrip().startswith("- "):
            given = re.search(r"\n\s*Given value: (.*)$", text)
            union = text.lstrip().startswith(_UNION)
            items = _union_errors(text if union else "Errors:\n" + text)
            items.sort(key=_specificity, reverse=True)
            if not items or _specificity(items[0]) == 0:
                break
            problem.text = items[0]
            problem.nested = True
            if given and problem.value is None and "NestedArg(" not in given.group(1):
                problem.value = given.group(1).strip()
        else:
            break
    got = re.search(r"\. Got value: (.*)$", problem.text, re.DOTALL)
    if got:
        problem.value = got.group(1).strip()
        problem.text = problem.text[: got.start()]
    return problem


def _owner_class(path: str | None) -> type | None:
    if not path:
        return None
    module, _, name = path.rpartition(".")
    try:
        return getattr(__import__(module, fromlist=[name]), name)
    except (ImportError, AttributeError, ValueError):
        return None


def _declared(problem: Problem) -> Any | None:
    """The range the class behind the problem declares for its key, if any."""
    owner = _owner_class(problem.owner)
    leaf = problem.keys[-1].rsplit(".", 1)[-1] if problem.keys else ""
    return declared_range(owner, leaf) if owner is not None and leaf else None


def _pydantic_message(problem: Problem) -> str:
    kinds = re.findall(r"\[type=(\w+)", problem.text)
    value = problem.value if problem.value is not None else _input_value(problem.text)
    declared = _declared(problem)
    if any(kind.startswith(_RANGE_TYPES) for kind in kinds):
        if declared is not None:
            return f"{problem.key}: {value} is out of range (expected {describe(declared)})"
        bounds = _pydantic_bounds(problem.text, value)
        return f"{problem.key}: {value} is out of range (expected {bounds})"
    expected = describe(declared) if declared is not None else _pydantic_reason(problem.text)
    return f"{problem.key}: {value!r} is not valid (expected {expected})"


def _input_value(text: str) -> str:
    match = re.search(r"input_value=('?)(.*?)\1, input_type", text)
    return match.group(2) if match else "the value given"


def _pydantic_bounds(text: str, value: str) -> str:
    # jsonargparse's union report deletes " <value> " from its items, so a bound equal to the value
    # given ("greater than 0" for 0) reaches here as "greater than [type=...".
    text = re.sub(r"(than(?: or equal to)?) \[", rf"\1 {value} [", text)
    bounds = re.findall(r"Input should be ((?:greater|less) than(?: or equal to)? \S+|a finite number)", text)
    return (
        " and ".join(dict.fromkeys(f"a value {b}" if "than" in b else b for b in bounds)) or "another value"
    )


def _pydantic_reason(text: str) -> str:
    reason = re.search(r"Input should be (.+?)(?:,| \[type=)", text)
    return reason.group(1) if reason else one_line(text)


def _unknown_option_message(problem: Problem, name: str) -> str:
    owner = _owner_class(problem.owner)
    prefix = problem.key
    if owner is None:
        return f"--{prefix + '.' if prefix else ''}{name} is not an option here"
    keyword = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    names = [n for n, p in inspect.signature(owner).parameters.items() if p.kind not in keyword]
    close = difflib.get_close_matches(name, names, n=2, cutoff=0.5)
    flag = f"--{prefix}.{name}"
    hint = f"did you mean {' or '.join(f'--{prefix}.{c}' for c in close)}?" if close else ""
    listed = f"{owner.__name__} takes: {', '.join(names)}"
    return f"{flag}: {owner.__name__} has no option {name!r}; {hint or listed}"


def _initials(name: str) -> str:
    return "".join(part[:1] for part in name.split("_"))


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def _alike(flag: str, known: str) -> bool:
    """Close spellings, or one leaf abbreviating the other (``learning_rate`` and ``lr``)."""
    leaf, known_leaf = flag.rsplit(".", 1)[-1], known.rsplit(".", 1)[-1]
    if _ratio(flag, known) >= 0.75:
        return True
    if flag.rpartition(".")[0] != known.rpartition(".")[0]:
        return False
    close_leaf = _ratio(leaf, known_leaf) >= 0.75
    return close_leaf or known_leaf == _initials(leaf) or leaf == _initials(known_leaf)


def suggest_flags(message: str, known: list[str]) -> str:
    """``; did you mean --model.lr?`` for the flags an "unrecognized arguments" report names, or ""."""
    flags = [word.split("=", 1)[0] for word in message.split() if word.startswith("--")]
    close = []
    for flag in flags:
        alike = [k for k in known if _alike(flag, k)]
        if alike:
            close.append(max(alike, key=lambda k, flag=flag: _ratio(flag, k)))
    return f"; did you mean {' or '.join(dict.fromkeys(close))}?" if close else ""


def _type_name(expected: str) -> str:
    """``<class 'int'>`` as ``int``, ``typing.Literal['a', 'b']`` as ``one of 'a', 'b'``."""
    expected = expected.strip()
    if expected == "<class 'NoneType'>":
        return "null"
    if expected.startswith("<class '"):
        return expected[len("<class '") : -2]
    if expected.startswith("typing.Literal["):
        return "one of " + expected[len("typing.Literal[") : -1]
    return expected


def bad_value_message(message: str) -> str | None:
    """jsonargparse's report of a value that fits none of a key's types, as ``key: 'value' is not
    valid (expected int or null)``; None for other messages."""
    key = re.search(r'Parser key "([^"]+)"', message)
    given = re.search(r"(?:^\s*Given|\. Got) value: (.*)$", message, re.MULTILINE)
    # A union lists one "- Expected a <type>" line per member; a plain type says "Expected a <type>."
    expected = re.findall(r"^\s*- Expected an? (.+)$", message, re.MULTILINE) or re.findall(
        r"Expected an? (.+?)\. Got value", message
    )
    if not (key and given and expected):
        return None
    kinds = " or ".join(dict.fromkeys(_type_name(e) for e in expected))
    return f"{key.group(1)}: {given.group(1).strip()!r} is not valid (expected {kinds})"


def problem_message(message: str, owners: dict[str, type] | None = None) -> tuple[str, bool]:
    """``message`` as one line, and whether it came from inside a union or a class's arguments (a
    value of one of them, or the class's own error). ``owners`` names the class behind a top-level
    section (``model`` for the task) whose arguments the report does not name a class for."""
    problem = innermost(message)
    inner = problem.nested
    if problem.owner and _owner_class(problem.owner) is None and problem.keys[-1:] == ["init_args"]:
        where = ".".join(problem.keys[:-1])
        return f"{where}: cannot import {problem.owner} ({one_line(problem.text)})", inner
    if _PYDANTIC.search(problem.text):
        section, _, leaf = problem.key.partition(".")
        if problem.owner is None and section in (owners or {}) and "." not in leaf:
            problem.owner = f"{owners[section].__module__}.{owners[section].__qualname__}"
        return _pydantic_message(problem), inner
    if unknown := _UNKNOWN.search(problem.text):
        return _unknown_option_message(problem, unknown.group(1)), inner
    rebuilt = f'Parser key "{problem.key}":\n{problem.text}' if problem.keys else problem.text
    if problem.value is not None:
        listed = re.search(r"^\s*- Expected", problem.text, re.MULTILINE)
        rebuilt += f"{chr(10) + 'Given' if listed else '. Got'} value: {problem.value}"
    typed = bad_value_message(rebuilt)
    if typed:
        declared = _declared(problem)
        if declared is not None:
            return f"{problem.key}: {problem.value!r} is not valid (expected {describe(declared)})", inner
        return typed, inner
    return (one_line(problem.text) if inner else one_line(message, limit=10**6)), inner


def parser_message(message: str, limit: int = 400, owners: dict[str, type] | None = None) -> str:
    """A parser's multi-line report as one line naming the innermost problem, without
    jsonargparse's echo of the whole value."""
    text = problem_message(message, owners)[0]
    return one_line(text.split(" Given value type:", 1)[0], limit)
