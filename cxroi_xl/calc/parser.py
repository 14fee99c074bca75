"""Formulas as text -> a small expression tree, and references as text ->
sheet, cells, rows, columns or table parts."""
from __future__ import annotations

import re
from typing import Any, Iterator

from openpyxl.formula.tokenizer import Token, Tokenizer, TokenizerError
from openpyxl.utils.cell import column_index_from_string

from ..excel.error_values import ExcelError
from .limits import MAX_BRACKET_NESTING, MAX_FORMULA_CHARS, MAX_FUNCTION_NESTING
from .operands import MAX_COL, MAX_ROW, MISSING, Array, _is_number


_FUNCTION_PREFIXES = ("_XLFN.", "_XLWS.", "_XLUDF.")  # how files mark newer and add-in functions

class FormulaSyntaxError(ValueError):
    """The formula text cannot be parsed."""

class FormulaTooComplex(FormulaSyntaxError):
    """The formula is longer or nests deeper than Excel allows (#VALUE!)."""

_INFIX_PRECEDENCE = {":": 7, "^": 5, "*": 4, "/": 4, "+": 3, "-": 3, "&": 2, "=": 1, "<>": 1, "<": 1, ">": 1, "<=": 1, ">=": 1}

def _function_name(raw: str) -> str:
    name = raw.upper()
    stripped = True
    while stripped:
        stripped = False
        for prefix in _FUNCTION_PREFIXES:
            if name.startswith(prefix):
                name, stripped = name[len(prefix):], True
    return name

class _Parser:
    """Tokens -> a tree of tuples: ("num", x), ("ref", text), ("call", NAME, args)..."""

    def __init__(self, formula: str):
        try:
            tokens = Tokenizer(formula).items
        except (TokenizerError, IndexError) as exc:  # the tokenizer pops an empty stack on an unmatched ")"
            raise FormulaSyntaxError(str(exc) if isinstance(exc, TokenizerError) else "unbalanced brackets") from None
        self.tokens = [t for t in tokens if t.type != Token.WSPACE]
        self.at = 0
        self.functions = 0  # functions open around the current token
        self.brackets = 0  # any nesting: functions, parentheses, arrays, signs

    def enter(self, function: bool = False) -> None:
        self.brackets += 1
        self.functions += function
        if self.functions > MAX_FUNCTION_NESTING:
            raise FormulaTooComplex(f"functions nest more than {MAX_FUNCTION_NESTING} levels deep (Excel's limit)")
        if self.brackets > MAX_BRACKET_NESTING:
            raise FormulaTooComplex(f"brackets and signs nest more than {MAX_BRACKET_NESTING} levels deep")

    def leave(self, function: bool = False) -> None:
        self.brackets -= 1
        self.functions -= function

    def parse(self) -> tuple:
        if not self.tokens:
            raise FormulaSyntaxError("empty formula")
        node = self.expression(0)
        if self.at != len(self.tokens):
            raise FormulaSyntaxError(f"unexpected {self.tokens[self.at].value!r}")
        return node

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise FormulaSyntaxError("formula ends too early")
        self.at += 1
        return token

    def expression(self, min_precedence: int) -> tuple:
        left = self.unary()
        while True:
            token = self.peek()
            if token is None or token.type != Token.OP_IN:
                return left
            precedence = _INFIX_PRECEDENCE.get(token.value)
            if precedence is None:
                raise FormulaSyntaxError(f"unsupported operator {token.value!r}")
            if precedence < min_precedence:
                return left
            self.take()
            left = ("op", token.value, left, self.expression(precedence + 1))  # all left-associative, as Excel

    def unary(self) -> tuple:
        token = self.peek()
        if token is not None and token.type == Token.OP_PRE:
            self.take()
            self.enter()
            operand = self.unary()
            self.leave()
            return ("neg", operand) if token.value == "-" else ("pos", operand)
        node = self.primary()
        while (token := self.peek()) is not None and token.type == Token.OP_POST:
            self.take()
            node = ("percent", node)
        return node

    def primary(self) -> tuple:
        token = self.take()
        if token.type == Token.OPERAND:
            if token.subtype == Token.NUMBER:
                return ("value", float(token.value))
            if token.subtype == Token.TEXT:
                return ("value", token.value[1:-1].replace('""', '"'))
            if token.subtype == Token.LOGICAL:
                return ("value", token.value.upper() == "TRUE")
            if token.subtype == Token.ERROR:
                code = token.value.upper()
                return ("value", ExcelError(code, f"the formula contains {code}"))
            return ("ref", token.value)
        if token.type == Token.FUNC and token.subtype == Token.OPEN:
            self.enter(function=True)
            node = ("call", _function_name(token.value[:-1]), self.arguments())
            self.leave(function=True)
            return node
        if token.type == Token.PAREN and token.subtype == Token.OPEN:
            self.enter()
            node = self.expression(0)
            closing = self.take()
            if closing.type != Token.PAREN:
                raise FormulaSyntaxError("unbalanced parentheses")
            self.leave()
            return node
        if token.type == Token.ARRAY and token.subtype == Token.OPEN:
            self.enter()
            node = self.array()
            self.leave()
            return node
        raise FormulaSyntaxError(f"unexpected {token.value!r}")

    def arguments(self) -> list[tuple]:
        args: list[tuple] = []
        token = self.peek()
        if token is not None and token.type == Token.FUNC and token.subtype == Token.CLOSE:
            self.take()
            return args
        while True:
            token = self.peek()
            if token is not None and (token.type == Token.SEP or (token.type == Token.FUNC and token.subtype == Token.CLOSE)):
                args.append(("value", MISSING))
            else:
                args.append(self.expression(0))
            token = self.take()
            if token.type == Token.FUNC and token.subtype == Token.CLOSE:
                return args
            if not (token.type == Token.SEP and token.subtype == Token.ARG):
                raise FormulaSyntaxError(f"unexpected {token.value!r} in the arguments")

    def array(self) -> tuple:
        rows: list[list[Any]] = [[]]
        while True:
            token = self.peek()
            if token is not None and token.type == Token.ARRAY and token.subtype == Token.CLOSE:
                self.take()
                break
            node = self.unary()
            if node[0] == "neg" and node[1][0] == "value" and _is_number(node[1][1]):
                node = ("value", -node[1][1])
            if node[0] != "value":
                raise FormulaSyntaxError("an array constant holds only constants")
            rows[-1].append(node[1])
            token = self.take()
            if token.type == Token.ARRAY and token.subtype == Token.CLOSE:
                break
            if token.type == Token.SEP and token.subtype == Token.ROW:
                rows.append([])
            elif not (token.type == Token.SEP and token.subtype == Token.ARG):
                raise FormulaSyntaxError(f"unexpected {token.value!r} in an array constant")
        if len({len(row) for row in rows}) != 1:
            raise FormulaSyntaxError("array constant rows differ in length")
        return ("value", Array(rows))

def _walk_calls(node: tuple) -> Iterator[tuple[str, int]]:
    # a loop, not recursion: a chain such as 1+1+...+1 is thousands of levels deep
    pending = [node]
    while pending:
        node = pending.pop()
        if node[0] == "call":
            yield node[1], len(node[2])
            pending.extend(reversed(node[2]))
        elif node[0] == "op":
            pending.extend((node[3], node[2]))
        elif node[0] in ("neg", "pos", "percent"):
            pending.append(node[1])

def function_calls(formula: str) -> list[tuple[str, int]]:
    """Every function call in a formula with its number of arguments.

    >>> function_calls("=INDEX(CXTEI(B2:B4, C2:C4), 5, 2)")
    [('INDEX', 3), ('CXTEI', 2)]
    """
    return list(_walk_calls(_parse(formula)))

def function_names(formula: str) -> set[str]:
    """Names of the functions a formula calls, without ``_xlfn.`` prefixes.

    >>> sorted(function_names("=INDEX(_xlfn.CXTEI(B2:B4, C2:C4), 5, 2)"))
    ['CXTEI', 'INDEX']
    """
    return {name for name, _ in _walk_calls(_parse(formula))}

_PARSED: dict[str, tuple] = {}

def _parse(formula: str) -> tuple:
    tree = _PARSED.get(formula)
    if tree is None:
        if len(formula) > MAX_FORMULA_CHARS + 1:  # + the leading "="
            raise FormulaTooComplex(f"the formula has {len(formula) - 1:,} characters, over Excel's limit of {MAX_FORMULA_CHARS:,}")
        if len(_PARSED) > 50_000:  # table rows make many distinct texts; keep memory bounded
            _PARSED.clear()
        try:
            tree = _Parser(formula if formula.startswith("=") else "=" + formula).parse()
        except RecursionError:  # the nesting caps come first; this is a last guard
            raise FormulaTooComplex("the formula nests too deeply") from None
        _PARSED[formula] = tree
    return tree


# --------------------------------------------------------------------------
# References

_CALLED = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\s*\(")  # a name followed by "(", for formulas that cannot be parsed

_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")

_COLUMNS = re.compile(r"^\$?([A-Za-z]{1,3}):\$?([A-Za-z]{1,3})$")

_ROWS = re.compile(r"^\$?(\d{1,7}):\$?(\d{1,7})$")

def _split_sheet(text: str) -> tuple[str | None, str]:
    """``'Post-automation'!B2`` -> ("Post-automation", "B2")."""
    if text.startswith("'"):
        end = 1
        while True:
            end = text.find("'", end)
            if end < 0:
                raise FormulaSyntaxError(f"unclosed sheet name in {text}")
            if text[end + 1:end + 2] == "'":
                end += 2
                continue
            break
        if text[end + 1:end + 2] != "!":
            raise FormulaSyntaxError(f"bad sheet reference {text}")
        return text[1:end].replace("''", "'"), text[end + 2:]
    if "!" in text:
        sheet, address = text.split("!", 1)
        return sheet, address
    return None, text

def _cell_position(text: str) -> tuple[int, int] | None:
    match = _CELL.match(text)
    if not match:
        return None
    col, row = column_index_from_string(match.group(1).upper()), int(match.group(2))
    return (row, col) if 1 <= row <= MAX_ROW and col <= MAX_COL else None

def _structured_parts(inner: str) -> tuple[set[str], list[str]]:
    """``[#This Row],[a]:[b]`` -> ({"#this row"}, ["a", "b"]); column names
    keep their case, specials are lower-cased; ``'`` escapes a character."""
    inner = inner.strip()
    if inner.startswith("@"):
        rest = inner[1:].strip()
        columns = _structured_parts(rest)[1] if rest.startswith("[") else ([_unescape(rest)] if rest else [])
        return {"#this row"}, columns
    if not inner.startswith("["):
        if inner.startswith("#"):
            return {inner.lower()}, []
        return set(), [_unescape(inner)] if inner else []
    items: list[str] = []
    position = 0
    while position < len(inner):
        char = inner[position]
        if char == "[":
            end = position + 1
            while end < len(inner) and inner[end] != "]":
                end += 2 if inner[end] == "'" else 1
            if end >= len(inner):
                raise FormulaSyntaxError(f"unclosed [ in [{inner}]")
            items.append(inner[position + 1:end])
            position = end + 1
        elif char in ",: ":
            position += 1
        else:
            raise FormulaSyntaxError(f"bad structured reference [{inner}]")
    specials = {item.strip().lower() for item in items if item.strip().startswith("#")}
    columns = [_unescape(item) for item in items if not item.strip().startswith("#")]
    return specials, columns

def _unescape(name: str) -> str:
    return re.sub(r"'(.)", r"\1", name.strip())

