"""Removing from Python sources what refers to dropped demos, keeping everything else verbatim.

What is dropped is described by ``Dropped``: modules, experiment names and identifiers. A source
loses, in this order of preference, the smallest unit that refers to one: an entry of a list,
tuple, set or dict display (a row of a parametrize table, an experiment of a dict), a function
parameter naming a dropped fixture, a name of an import, a paragraph of a fixture's or helper's
body, and otherwise the whole top-level statement (a test, a fixture, an assignment), whose
names are then dropped in turn.
Edits cut spans out of the text, so comments and formatting elsewhere stay as they were.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field


@dataclass
class Dropped:
    """What no longer exists in the new project."""

    modules: set[str] = field(default_factory=set)  # dotted: "pkg.data.text"
    experiments: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)  # identifiers dropped everywhere (fixtures, classes)
    exports: dict[str, set[str]] = field(default_factory=dict)  # module -> its dropped top-level names

    def dead_module(self, dotted: str) -> bool:
        return any(dotted == m or dotted.startswith(m + ".") for m in self.modules)

    def dead_string(self, value: str) -> bool:
        if value in self.experiments or value in self.names:
            return True
        if any(re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", value) for name in self.experiments):
            return True
        if self.dead_module(value) or any(m.replace(".", "/") + "." in value for m in self.modules):
            return True
        package, _, last = value.rpartition(".")
        return bool(package) and last in self.exports.get(package, set())


def _docstring_nodes(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


class _Scan:
    """Finds dead references in one parsed file; ``local`` holds this file's dropped names."""

    def __init__(self, dropped: Dropped, local: set[str], docstrings: set[int]) -> None:
        self.dropped, self.local, self.docstrings = dropped, local, docstrings

    def dead(self, node: ast.AST, prunable: bool = True) -> bool:
        """Whether ``node`` refers to something dropped. With ``prunable``, references inside
        display entries that will be cut out do not count (unless every entry goes)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            # A name this file lost counts as a string too: its entry in ``__all__``.
            return id(node) not in self.docstrings and (
                self.dropped.dead_string(node.value) or node.value in self.local
            )
        if isinstance(node, ast.Name):
            return node.id in self.dropped.names or node.id in self.local
        if isinstance(node, ast.Import):  # an import inside a function
            return any(self.dropped.dead_module(a.name) for a in node.names)
        if isinstance(node, ast.ImportFrom) and not node.level:
            exported = self.dropped.exports.get(node.module or "", set())
            return self.dropped.dead_module(node.module or "") or any(a.name in exported for a in node.names)
        if isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            if dotted and self.dropped.dead_module(dotted):
                return True
        if prunable and _entries(node):
            entries = _entries(node)
            # The dead entries are cut out; the display itself is dead only if none is left.
            return all(self.dead(entry, _prunable(entry)) for entry in entries)
        return any(self.dead(child, prunable) for child in ast.iter_child_nodes(node))

    def entry_spans(self, node: ast.AST, text: Offsets) -> list[tuple[int, int]]:
        """Spans of the dead entries of every display inside ``node`` that keeps some entries."""
        spans: list[tuple[int, int]] = []
        entries = _entries(node)
        if entries:
            dead = [self.dead(entry, _prunable(entry)) for entry in entries]
            if any(dead) and not all(dead):
                spans += _list_spans(entries, dead, text)
            for entry, is_dead in zip(entries, dead, strict=True):
                if not is_dead and _prunable(entry):
                    spans += self.entry_spans(entry, text)
            return spans
        for child in ast.iter_child_nodes(node):
            spans += self.entry_spans(child, text)
        return spans


class _DictEntry(ast.AST):
    """A dict display's key and value together, as one entry."""

    _fields = ("key", "value")

    def __init__(self, key: ast.AST | None, value: ast.AST) -> None:
        super().__init__()
        self.key, self.value = key, value
        first = key if key is not None else value
        self.lineno, self.col_offset = first.lineno, first.col_offset
        self.end_lineno, self.end_col_offset = value.end_lineno, value.end_col_offset


def _prunable(entry: ast.AST) -> bool:
    """A tuple inside a display is a record (a parametrize row), kept or cut whole; so is a dict
    entry whose value is a tuple (``verb: (module, summary)``)."""
    if isinstance(entry, _DictEntry):
        return not isinstance(entry.value, ast.Tuple)
    return not isinstance(entry, ast.Tuple)


def _is_argv(node: ast.AST) -> bool:
    """A list of option strings (``["--data", "pkg.data.X"]``) is a record too: it goes whole."""
    strings = [e for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return any(s.value.startswith("-") for s in strings)


def _entries(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)) and len(node.elts) > 0 and not _is_argv(node):
        return list(node.elts)
    if isinstance(node, ast.Dict) and node.values:
        return [_DictEntry(k, v) for k, v in zip(node.keys, node.values, strict=True)]
    return []


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


class Offsets:
    """Character offsets of (line, column) positions in a source text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        for line in text.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))

    def at(self, line: int, col: int) -> int:
        """``col`` counts UTF-8 bytes, as ``ast`` does."""
        text = self.text[self.starts[line - 1] : self.starts[line]] if line < len(self.starts) else ""
        return self.starts[line - 1] + len(text.encode()[:col].decode(errors="ignore"))

    def start(self, node: ast.AST) -> int:
        return self.at(node.lineno, node.col_offset)

    def end(self, node: ast.AST) -> int:
        return self.at(node.end_lineno, node.end_col_offset)

    def whole_lines(self, first_line: int, last_line: int) -> tuple[int, int]:
        return self.starts[first_line - 1], self.starts[min(last_line, len(self.starts) - 1)]


def _list_spans(items: list[ast.AST], dead: list[bool], text: Offsets) -> list[tuple[int, int]]:
    """Spans cutting the dead items of a comma-separated list together with their commas."""
    spans = []
    for i, item in enumerate(items):
        if not dead[i]:
            continue
        if i + 1 < len(items):
            spans.append((text.start(item), text.start(items[i + 1])))
        else:  # the last one: from the end of the last item kept
            kept = max(j for j in range(i) if not dead[j])
            spans.append((text.end(items[kept]), text.end(item)))
    return spans


def _statement_span(node: ast.stmt, text: Offsets) -> tuple[int, int]:
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return text.whole_lines(first, node.end_lineno)


def _bound_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _import_spans(node: ast.stmt, scan: _Scan, text: Offsets, module: str) -> tuple[list, set[str], bool]:
    """(spans, dropped names, whole statement dead) for an import statement."""
    dropped = scan.dropped
    if isinstance(node, ast.Import):
        dead = [dropped.dead_module(a.name) for a in node.names]
    else:
        source = node.module or ""
        if node.level:
            source = module.rsplit(".", node.level)[0] + ("." + source if source else "")
        exported = dropped.exports.get(source, set())
        dead = [
            dropped.dead_module(source)
            or dropped.dead_module(f"{source}.{a.name}")
            or a.name in exported
            or a.name in dropped.names
            for a in node.names
        ]
    names = {(a.asname or a.name).split(".")[0] for a, d in zip(node.names, dead, strict=True) if d}
    if all(dead):
        return [_statement_span(node, text)], names, True
    if not any(dead):
        return [], set(), False
    return _list_spans(list(node.names), dead, text), names, False


def prune_source(source: str, module: str, dropped: Dropped) -> tuple[str, set[str]]:
    """``source`` without what refers to ``dropped``, and the top-level names it lost."""
    lost: set[str] = set()
    while True:
        tree = ast.parse(source)
        text = Offsets(source)
        scan = _Scan(dropped, lost, _docstring_nodes(tree))
        spans: list[tuple[int, int]] = []
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                cut, names, _ = _import_spans(node, scan, text, module)
                spans += cut
                lost |= names
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                cut = _function_spans(node, scan, text)
                if cut is None:
                    spans.append(_statement_span(node, text))
                    lost.add(node.name)
                else:
                    spans += cut
                continue
            if scan.dead(node):
                spans.append(_statement_span(node, text))
                lost |= _bound_names(node)
            else:
                spans += scan.entry_spans(node, text)
        if not spans:
            return source, lost
        for start, end in sorted(_merged(spans), reverse=True):
            source = source[:start] + source[end:]


def _function_spans(node: ast.FunctionDef, scan: _Scan, text: Offsets) -> list[tuple[int, int]] | None:
    """The cuts inside a function, or None when the whole function goes. A test goes whole when
    it touches anything dropped. Other functions (fixtures, helpers) lose the paragraphs of their
    body (statements not parted by a blank line) that do, unless one of those returns."""
    dropped = scan.dropped
    node_args = node.args.posonlyargs + node.args.args
    dead_params = [a.arg in dropped.names or a.arg in scan.local for a in node_args]
    signature = [*node.decorator_list, *node.args.defaults, node.returns]
    signature += [a.annotation for a in [*node_args, *node.args.kwonlyargs]]
    if any(part is not None and scan.dead(part) for part in signature):
        return None
    if node.name.startswith("test"):
        if any(dead_params) or scan.dead(ast.Module(body=node.body, type_ignores=[])):
            return None
        return scan.entry_spans(node, text)
    spans: list[tuple[int, int]] = []
    inner = _Scan(dropped, set(scan.local), scan.docstrings)
    live = 0
    for paragraph in _paragraphs(node.body, text):
        block = ast.Module(body=paragraph, type_ignores=[])
        if not inner.dead(block):
            spans += inner.entry_spans(block, text)
            live += not all(id(getattr(s, "value", None)) in scan.docstrings for s in paragraph)
            continue
        if any(isinstance(n, ast.Return) for statement in paragraph for n in ast.walk(statement)):
            return None
        spans.append(text.whole_lines(paragraph[0].lineno, paragraph[-1].end_lineno))
        for statement in paragraph:
            inner.local |= _bound_names(statement)
    if not live:
        return None  # nothing left of the body
    if any(dead_params):
        spans += _list_spans(node_args, dead_params, text)
    return spans


def _paragraphs(body: list[ast.stmt], text: Offsets) -> list[list[ast.stmt]]:
    """Statements grouped as written: a blank line between two statements parts them; a
    ``return`` stands alone."""
    lines = text.text.splitlines()
    groups: list[list[ast.stmt]] = []
    for statement in body:
        first = min([statement.lineno, *(d.lineno for d in getattr(statement, "decorator_list", []))])
        together = (
            all(lines[i].strip() for i in range(groups[-1][-1].end_lineno, first - 1)) if groups else False
        )
        if together and not isinstance(statement, ast.Return):
            groups[-1].append(statement)
        else:
            groups.append([statement])
    return groups


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
