"""The RSE expression language (API.md §6): a tokenizer, a recursive-descent parser, an evaluator.

Grammar (no precedence: binary operators apply strictly left to right)::

    expression := term (("|" | "&" | "\\") term)*
    term       := "(" expression ")" | "*" | KEY ("=" | "<" | ">") VALUE | NAME

``NAME`` selects RSEs whose attribute ``NAME`` is ``true`` (every RSE has ``<its name>: true``),
or whose boolean column ``NAME`` is true; ``key=value`` compares an RSE column when ``key`` is
one (``rse_type`` takes a member name, ``DISK``/``TAPE``; a boolean column ``true``/``false``/
``1``/``0``; anything else is InvalidObject), else an attribute; ``key<n`` / ``key>n`` compare
attributes only, numerically, and ignore non-numeric values. :func:`resolve` evaluates over one
snapshot of the non-deleted RSEs and their attributes, read with two queries per call (no cache).
"""
import re
from dataclasses import dataclass

import ujson

from rucio_tornado import exceptions
from rucio_tornado.models import RSE, RSEAttribute

SYNTAX_ERROR = "Expression does not comply to RSE Expression syntax"
PARENTHESES_ERROR = "Problem with parentheses."
EMPTY_ERROR = "RSE Expression resulted in an empty set."
TOO_DEEP_ERROR = "RSE Expression is nested too deep or has too many operators"

_COMPARISON = re.compile(r"([A-Za-z0-9._-]+)([=<>])([A-Za-z0-9_-]+)")
_NAME = re.compile(r"[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)*")
_SINGLE = "()|&\\*"

#: RSE columns ``key=value`` compares directly, by kind (also the RSE catalog's property kinds).
BOOLEAN_COLUMNS = ("deterministic", "volatile", "staging_area", "availability_read",
                   "availability_write", "availability_delete")
TEXT_COLUMNS = ("id", "rse", "vo", "city", "region_code", "country_name", "continent",
                "time_zone", "ISP", "ASN", "qos_class")
NUMBER_COLUMNS = ("longitude", "latitude")
RSE_TYPES = ("DISK", "TAPE")


# -- syntax tree -------------------------------------------------------------------------------
@dataclass(frozen=True)
class All:
    """``*``: every RSE."""

    def evaluate(self, snapshot):
        return set(snapshot)


@dataclass(frozen=True)
class Name:
    """A bare name: attribute ``name`` is true."""
    name: str

    def evaluate(self, snapshot):
        if self.name in BOOLEAN_COLUMNS:
            return {rid for rid, rse in snapshot.items() if rse[self.name]}
        return {rid for rid, rse in snapshot.items()
                if rse["attributes"].get(self.name) is True}


@dataclass(frozen=True)
class Compare:
    """``key=value``, ``key<value`` or ``key>value``."""
    key: str
    op: str
    value: str

    def evaluate(self, snapshot):
        if self.op == "=":
            if self.key in BOOLEAN_COLUMNS:
                wanted = column_boolean(self.value)
                return {rid for rid, rse in snapshot.items() if rse[self.key] == wanted}
            if self.key == "rse_type" and self.value not in RSE_TYPES:
                raise exceptions.InvalidObject(f"Invalid rse_type: {self.value}")
            match = self._equals
        else:
            try:
                limit = float(self.value)
            except ValueError:
                return set()
            match = (lambda v: v < limit) if self.op == "<" else (lambda v: v > limit)
            return {rid for rid, rse in snapshot.items()
                    if _matches_number(rse["attributes"].get(self.key), match)}
        return {rid for rid, rse in snapshot.items() if match(rse)}

    def _equals(self, rse):
        key, value = self.key, self.value
        if key == "rse_type":
            return rse[key] == value
        if key in TEXT_COLUMNS:
            return rse[key] is not None and str(rse[key]) == value
        if key in NUMBER_COLUMNS:
            return _matches_number(rse[key], lambda v: v == float(value)) \
                if _is_number(value) else False
        attribute = rse["attributes"].get(key)
        if isinstance(attribute, bool):
            return value.lower() in ("true", "false") and attribute == (value.lower() == "true")
        return attribute is not None and str(attribute) == value


@dataclass(frozen=True)
class Operation:
    """``left OP right`` with OP one of ``|`` (union), ``&`` (intersection), ``\\`` (difference)."""
    op: str
    left: "Node"
    right: "Node"

    def evaluate(self, snapshot):
        return _SET_OPERATIONS[self.op](self.left.evaluate(snapshot), self.right.evaluate(snapshot))


_SET_OPERATIONS = {"|": set.union, "&": set.intersection, "\\": set.difference}
#: A node of the syntax tree: each evaluates to the set of RSE ids it selects.
Node = All | Name | Compare | Operation


def column_boolean(text: str) -> bool:
    """A boolean column's value in an expression: ``true``/``false`` (any case), ``1``/``0``."""
    if text == "1" or text.lower() == "true":
        return True
    if text == "0" or text.lower() == "false":
        return False
    raise exceptions.InvalidObject(f"Invalid boolean value: {text}")


def _is_number(text):
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _matches_number(value, test):
    if value is None or isinstance(value, bool) or not _is_number(value):
        return False
    return test(float(value))


# -- tokenizer and parser ----------------------------------------------------------------------
def tokenize(expression: str) -> list:
    """The expression as a list of tokens: single characters and term objects."""
    tokens, position = [], 0
    while position < len(expression):
        char = expression[position]
        if char in _SINGLE:
            tokens.append(All() if char == "*" else char)
            position += 1
            continue
        comparison = _COMPARISON.match(expression, position)
        if comparison:
            tokens.append(Compare(*comparison.groups()))
            position = comparison.end()
            continue
        name = _NAME.match(expression, position)
        if not name:
            raise exceptions.InvalidRSEExpression(SYNTAX_ERROR)
        tokens.append(Name(name.group()))
        position = name.end()
    return tokens


class _Parser:
    def __init__(self, tokens):
        self.tokens, self.position = tokens, 0

    def peek(self):
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self):
        token = self.peek()
        self.position += 1
        return token

    def expression(self):
        tree = self.term()
        while self.peek() in ("|", "&", "\\"):
            op = self.take()
            tree = Operation(op, tree, self.term())
        return tree

    def term(self):
        token = self.take()
        if token == "(":
            tree = self.expression()
            if self.take() != ")":
                raise exceptions.InvalidRSEExpression(SYNTAX_ERROR)
            return tree
        if isinstance(token, (All, Name, Compare)):
            return token
        raise exceptions.InvalidRSEExpression(SYNTAX_ERROR)


def _check_parentheses(expression):
    depth = 0
    for char in expression:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        raise exceptions.InvalidRSEExpression(PARENTHESES_ERROR)


def parse(expression: str):
    """The syntax tree of ``expression``; InvalidRSEExpression if it is not valid (no DB used)."""
    if not isinstance(expression, str) or not expression:
        raise exceptions.InvalidRSEExpression(SYNTAX_ERROR)
    _check_parentheses(expression)
    parser = _Parser(tokenize(expression))
    try:
        tree = parser.expression()
    except RecursionError:              # parentheses nested too deep for the parser
        raise exceptions.InvalidRSEExpression(TOO_DEEP_ERROR) from None
    if parser.peek() is not None:
        raise exceptions.InvalidRSEExpression(SYNTAX_ERROR)
    return tree


# -- evaluation --------------------------------------------------------------------------------
#: The RSE columns of a snapshot entry (and the first columns of the RSE listing).
RSE_FIELDS = (RSE.id, RSE.rse, RSE.vo, RSE.rse_type, RSE.deterministic, RSE.volatile,
              RSE.staging_area, RSE.city, RSE.region_code, RSE.country_name, RSE.continent,
              RSE.time_zone, RSE.ISP, RSE.ASN, RSE.longitude, RSE.latitude,
              RSE.availability_read, RSE.availability_write, RSE.availability_delete,
              RSE.qos_class)
_BOOLEAN_KEYS = set(BOOLEAN_COLUMNS)


def decode_attribute(text: str | None):
    """The value of an attribute's stored JSON text."""
    return None if text is None else ujson.loads(text)


def load_snapshot() -> dict:
    """``{rse_id: rse dict with "attributes"}`` of all non-deleted RSEs (two queries)."""
    names = [field.name for field in RSE_FIELDS]
    snapshot = {}
    for row in RSE.select(*RSE_FIELDS).where(RSE.deleted == False).tuples():  # noqa: E712
        rse = dict(zip(names, row))
        for key in _BOOLEAN_KEYS:
            rse[key] = bool(rse[key])
        rse["attributes"] = {}
        snapshot[rse["id"]] = rse
    attributes = (RSEAttribute.select(RSEAttribute.rse_id, RSEAttribute.key, RSEAttribute.value)
                  .join(RSE, on=(RSE.id == RSEAttribute.rse_id))
                  .where(RSE.deleted == False).tuples())  # noqa: E712
    for rse_id, key, value in attributes:
        snapshot[rse_id]["attributes"][key] = decode_attribute(value)
    return snapshot


def evaluate(tree, snapshot: dict) -> list[dict]:
    """The RSE dicts of ``snapshot`` matched by ``tree``, sorted by name; empty -> error."""
    try:
        ids = tree.evaluate(snapshot)
    except RecursionError:              # e.g. a thousand unions: a tree too deep to walk
        raise exceptions.InvalidRSEExpression(TOO_DEEP_ERROR) from None
    if not ids:
        raise exceptions.InvalidRSEExpression(EMPTY_ERROR)
    return sorted((snapshot[rid] for rid in ids), key=lambda rse: rse["rse"])


def resolve(expression: str, snapshot: dict | None = None) -> list[dict]:
    """The non-deleted RSEs matching ``expression`` as dicts (with ``attributes``), by name.

    Raises InvalidRSEExpression (status 400) for a syntax error or an empty result.
    ``snapshot`` (from :func:`load_snapshot`) lets a caller resolve many expressions at once.
    """
    tree = parse(expression)
    return evaluate(tree, load_snapshot() if snapshot is None else snapshot)
