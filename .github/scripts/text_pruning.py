"""Removing what names dropped demos or capabilities from the README and docs pages (rows, list
items, paragraphs, code lines, then sections left empty) and from the Makefile (recipe lines, then
rules left empty, then variables nothing reads)."""

from __future__ import annotations

import re
from collections.abc import Callable

Dead = Callable[[str], bool]
FENCE = re.compile(r"^\s*```")
LIST_ITEM = re.compile(r"^(\s*)(?:[-*]|\d+\.)\s")
HEADING = re.compile(r"^(#+)\s")
COMMAND_SPAN = re.compile(r"`[^`]*(?:EXP=|runs/)[^`]*`")


def markdown_blocks(text: str) -> list[tuple[str, list[str]]]:
    """(kind, lines) for each block: fence, heading, row (of a table), item (of a list), para, blank."""
    blocks: list[tuple[str, list[str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if FENCE.match(line):
            end = next((j for j in range(i + 1, len(lines)) if FENCE.match(lines[j])), len(lines) - 1)
            blocks.append(("fence", lines[i : end + 1]))
            i = end + 1
            continue
        if not line.strip():
            kind = "blank"
        elif HEADING.match(line):
            kind = "heading"
        elif line.lstrip().startswith("|"):
            kind = "row"
        elif LIST_ITEM.match(line):
            kind = "item"
            depth = len(LIST_ITEM.match(line).group(1))
            j = i + 1
            while j < len(lines) and lines[j].strip() and not FENCE.match(lines[j]):
                nested = LIST_ITEM.match(lines[j])
                if nested and len(nested.group(1)) <= depth:
                    break
                if not lines[j].startswith(" ") and not nested:
                    break
                j += 1
            blocks.append((kind, lines[i:j]))
            i = j
            continue
        else:
            kind = "para"
            j = i + 1
            while (
                j < len(lines)
                and lines[j].strip()
                and not (FENCE.match(lines[j]) or HEADING.match(lines[j]) or LIST_ITEM.match(lines[j]))
            ):
                j += 1
            blocks.append((kind, lines[i:j]))
            i = j
            continue
        blocks.append((kind, [line]))
        i += 1
    return blocks


def prune_markdown(text: str, dead: Dead, retarget: Callable[[str], str] = str) -> str:
    """``text`` without the blocks ``dead`` says refer to what went. Command listings go line by
    line, after ``retarget`` (which points example commands at a kept experiment)."""
    kept: list[tuple[str, list[str]]] = []
    for kind, lines in markdown_blocks(text):
        if kind == "fence":
            # A config or code listing goes whole; commands go line by line.
            whole = lines[0].strip("` ") in ("yaml", "python", "json", "toml")
            body = (
                [line for line in lines[1:-1] if not dead(line)]
                if whole
                else _commands(lines[1:-1], dead, retarget)
            )
            if whole and len(body) < len(lines) - 2:
                body = []
            if any(line.strip() and not line.lstrip().startswith("#") for line in body):
                kept.append((kind, [lines[0], *body, lines[-1]]))
            elif kept and kept[-1][0] == "blank" and len(kept) > 1 and kept[-2][1][-1].endswith(":"):
                kept.pop()
                kept.pop()  # the sentence that introduced the code
            continue
        if kind in ("item", "para"):  # so do the commands in its code spans (not a table's figures)
            lines = [COMMAND_SPAN.sub(lambda span: retarget(span.group()), line) for line in lines]
        if kind in ("row", "item", "para") and dead("\n".join(lines)):
            continue
        kept.append((kind, lines))
    kept = _without_bare_tables(kept)
    kept = _without_empty_sections(kept)
    # One blank line where removed blocks leave several; a code block keeps its own blank lines.
    kept = [b for i, b in enumerate(kept) if not (b[0] == "blank" and i and kept[i - 1][0] == "blank")]
    return "\n".join(line for _, lines in kept for line in lines).rstrip("\n") + "\n"


def _commands(lines: list[str], dead: Dead, retarget: Callable[[str], str]) -> list[str]:
    """The lines of a command listing that stay: a command with the comment lines just above it
    goes when the command is dead."""
    kept: list[str] = []
    comments: list[str] = []
    for line in map(retarget, lines):
        if line.lstrip().startswith("#"):
            comments.append(line)
            continue
        if not dead(line):
            kept += [comment for comment in comments if not dead(comment)] + [line]
        comments = []
    return kept + [line for line in comments if not dead(line)]


def _without_bare_tables(blocks: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """Drop a table left with only its header and separator rows."""
    out, i = [], 0
    while i < len(blocks):
        j = i
        while j < len(blocks) and blocks[j][0] == "row":
            j += 1
        if j > i:
            if j - i > 2:
                out += blocks[i:j]
            i = j
        else:
            out.append(blocks[i])
            i += 1
    return out


def _without_empty_sections(blocks: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for kind, lines in reversed(blocks):
        if kind == "heading":
            level = len(HEADING.match(lines[0]).group(1))
            following = next((b for b in out[::-1] if b[0] != "blank"), None)
            if following is None or (
                following[0] == "heading" and len(HEADING.match(following[1][0]).group(1)) <= level
            ):
                continue
        out.append((kind, lines))
    return out[::-1]


def prune_makefile(text: str, dead: Dead) -> tuple[str, set[str]]:
    """The Makefile without recipe lines that are dead, without the rules that leaves empty (also
    from ``.PHONY``), and without the variables nothing reads any more; returns the removed
    targets too."""
    lines = text.splitlines()
    removed: set[str] = set()
    out: list[str] = []
    i = 0
    while i < len(lines):
        rule = re.match(r"^([a-z][\w-]*):(?!=)", lines[i])
        if not rule:
            out.append(lines[i])
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].startswith("\t"):
            j += 1
        commands: list[list[str]] = []  # a command continued with a backslash goes whole
        for line in lines[i + 1 : j]:
            if commands and commands[-1][-1].endswith("\\"):
                commands[-1].append(line)
            else:
                commands.append([line])
        recipe = [line for command in commands if not dead("\n".join(command)) for line in command]
        if lines[i + 1 : j] and not recipe:
            removed.add(rule.group(1))
        else:
            out += [lines[i], *recipe]
        i = j
    out = [line for line in out if not (_assignment(line) and dead(line))]
    # Then the variables that only removed recipes read.
    while unused := [
        line for line in out if (name := _assignment(line)) and f"$({name})" not in "\n".join(out)
    ]:
        out = [line for line in out if line not in unused]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(out) + "\n")
    for target in removed:
        text = re.sub(rf"(^\.PHONY:.*?) {re.escape(target)}(?=\s)", r"\1", text, flags=re.M)
    return text, removed


def _assignment(line: str) -> str | None:
    """The variable a top-level Makefile line assigns (``NAME ?= …``, ``NAME := …``) on one
    line, or None."""
    match = re.match(r"^([A-Z][A-Z0-9_]*)\s*[:?+]?=", line)
    return match.group(1) if match and not line.rstrip().endswith("\\") else None
