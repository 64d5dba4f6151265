"""Translate the search API's simple query syntax into an SQLite FTS5 MATCH expression.

The API documents Elasticsearch's ``simple_query_string`` syntax (words AND-ed by default,
``"phrases"``, ``-negation``, ``|`` for OR, ``+`` for AND, ``prefix*``, parentheses, ``\\``
escapes).  User input reaches FTS5 only as double-quoted strings built here, so no input can
produce an FTS5 syntax error or inject FTS5 operators: anything the grammar cannot place is
read as literal words, as Elasticsearch's lenient parser does.

Operators are applied left to right without precedence between AND and OR (Lucene's
SimpleQueryParser does the same).  English stop words are dropped from bare words, as the
engine's analyzer drops them, and the radiology synonyms of ``mapping.RADIOLOGY_SYNONYMS``
are expanded into ORs at query time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from services.search.store.mapping import RADIOLOGY_SYNONYMS

# Lucene's English stop set, the ``_english_`` list of the engines' analyzer.
_STOP_LIST = "a an and are as at be but by for if in into is it no not of on or such that the their then there these"
STOP_WORDS = frozenset([*_STOP_LIST.split(), "they", "this", "to", "was", "will", "with"])
_TOKEN = re.compile(r"[^\W_]+")


def tokens(text: str) -> list[str]:
    """Words as FTS5's unicode61 tokenizer sees them (letters and digits; the rest separates)."""
    return [t.casefold() for t in _TOKEN.findall(text)]


def _synonym_groups() -> dict[tuple[str, ...], list[tuple[str, ...]]]:
    groups: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for line in RADIOLOGY_SYNONYMS:
        alternatives = [tuple(tokens(part)) for part in line.split(",")]
        alternatives = [a for a in alternatives if a]
        for alternative in alternatives:
            groups[alternative] = alternatives
    return groups


SYNONYMS = _synonym_groups()


@dataclass
class Term:
    words: tuple[str, ...]
    phrase: bool = False
    prefix: bool = False


@dataclass
class Group:
    """Clauses combined left to right; ``ops[i]`` joins clause i to what came before it."""

    clauses: list[Node] = field(default_factory=list)
    ops: list[str] = field(default_factory=list)


@dataclass
class Not:
    node: Node


Node = Term | Group | Not


@dataclass(frozen=True)
class FtsQuery:
    """``positive`` is a MATCH expression (None: nothing to rank); ``negative`` rows are excluded."""

    positive: str | None
    negative: str | None
    matches_nothing: bool = False


def parse(q: str) -> Group:
    pos = 0
    n = len(q)

    def group(depth: int) -> Group:
        nonlocal pos
        result = Group()
        op = "AND"
        negate = False
        while pos < n:
            ch = q[pos]
            if ch.isspace():
                pos += 1
            elif ch == "|":
                op, pos = "OR", pos + 1
            elif ch == "+":
                op, pos = "AND", pos + 1
            elif ch == "-" and (pos + 1 < n and not q[pos + 1].isspace()):
                negate, pos = True, pos + 1
            elif ch == "(":
                pos += 1
                node: Node = group(depth + 1)
                result, op, negate = _add(result, op, node, negate)
            elif ch == ")":
                pos += 1
                if depth > 0:
                    return result
            elif ch == '"':
                end = q.find('"', pos + 1)
                text = q[pos + 1 :] if end < 0 else q[pos + 1 : end]
                pos = n if end < 0 else end + 1
                result, op, negate = _add(result, op, Term(tuple(tokens(text)), phrase=True), negate)
            else:
                start = pos
                chars: list[str] = []
                while pos < n and not q[pos].isspace() and q[pos] not in '|+()"':
                    if q[pos] == "\\" and pos + 1 < n:
                        pos += 1
                    chars.append(q[pos])
                    pos += 1
                if pos == start:  # a lone '-' followed by a space
                    pos += 1
                    continue
                word = "".join(chars)
                prefix = word.endswith("*")
                result, op, negate = _add(result, op, Term(tuple(tokens(word)), prefix=prefix), negate)
        return result

    return group(0)


def _add(result: Group, op: str, node: Node, negate: bool) -> tuple[Group, str, bool]:
    result.clauses.append(Not(node) if negate else node)
    result.ops.append(op)
    return result, "AND", False


def _quote(words: tuple[str, ...]) -> str:
    return '"' + " ".join(words).replace('"', '""') + '"'


def _render_term(term: Term) -> str | None:
    words = term.words
    if not term.phrase and not term.prefix:
        words = tuple(w for w in words if w not in STOP_WORDS)
    if not words:
        return None
    if term.prefix:
        return _quote(words) + " *"
    alternatives = SYNONYMS.get(words)
    if alternatives:
        return "(" + " OR ".join(_quote(a) for a in alternatives) + ")"
    return _quote(words)


def _render(node: Node) -> str | None:
    """FTS5 text of a node; None when it constrains nothing (stop words, punctuation only)."""
    if isinstance(node, Term):
        return _render_term(node)
    if isinstance(node, Not):
        return None  # negations are placed by their enclosing group
    expression: str | None = None
    excluded: list[str] = []
    for op, clause in zip(node.ops, node.clauses, strict=True):
        if isinstance(clause, Not):
            inner = _render(clause.node)
            if inner is not None and op == "AND":
                excluded.append(inner)
            continue  # a negation under OR matches nearly everything: it widens nothing useful
        text = _render(clause)
        if text is None:
            continue
        expression = text if expression is None else f"({expression}) {op} ({text})"
    if expression is None:
        return None
    for text in excluded:
        expression = f"({expression}) NOT ({text})"
    return expression


def translate(q: str) -> FtsQuery:
    """The FTS5 query for ``q``; never raises, never returns text FTS5 could reject."""
    root = parse(q)
    positive = _render(root)
    if positive is not None:
        return FtsQuery(positive=positive, negative=None)
    # Only negations at the top level (e.g. "-parking"): every document except those.
    negatives = [
        text
        for op, clause in zip(root.ops, root.clauses, strict=True)
        if isinstance(clause, Not) and op == "AND" and (text := _render(clause.node)) is not None
    ]
    if negatives:
        return FtsQuery(positive=None, negative=" OR ".join(f"({t})" for t in negatives))
    return FtsQuery(positive=None, negative=None, matches_nothing=True)
