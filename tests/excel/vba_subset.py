"""Run a small subset of VBA in Python, to test the VBA we generate.

:func:`transpile` turns VBA ``Function`` procedures into Python functions,
statement by statement, with VBA's semantics where they matter here: arrays
indexed from their own lower bound (pywin32's SAFEARRAYs start at 0),
``UBound(a, 2)`` of a 1-D array raising error 9, ``On Error Resume Next``,
``ByVal`` copies, ``StrComp(..., vbBinaryCompare)`` comparing code units,
``CVErr(n)`` an error value, ``VarType``. Anything outside the subset raises
:class:`Unsupported`, so VBA that grows beyond it fails the tests loudly
instead of being half understood.

Following the Microsoft VBA language reference (Functions: IsArray, LBound,
UBound, VarType, StrComp, CVErr; statements: Function, Dim, If...Then...Else,
For...Next, On Error, Exit).
"""
from __future__ import annotations

import copy
import re
from typing import Any


class Unsupported(Exception):
    """VBA this interpreter does not handle."""


class VbaRuntimeError(Exception):
    def __init__(self, number: int):
        super().__init__(f"VBA run-time error {number}")
        self.number = number


class _Empty:
    def __repr__(self) -> str:
        return "Empty"

    def __deepcopy__(self, memo: dict) -> "_Empty":
        return self


EMPTY = _Empty()


class ErrorValue:
    """A Variant of subtype Error, as CVErr(n) makes it."""

    def __init__(self, code: int):
        self.code = code

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ErrorValue) and other.code == self.code

    def __hash__(self) -> int:
        return hash(("CVErr", self.code))

    def __repr__(self) -> str:
        return f"CVErr({self.code})"


class VbaArray:
    """A VBA array of Variants with per-dimension lower bounds."""

    def __init__(self, nested: list, lower: int = 0):
        self.rank = 2 if nested and all(isinstance(row, list) for row in nested) else 1
        self.lower = lower
        self.data = copy.deepcopy(nested)
        if self.rank == 2 and len({len(row) for row in nested}) > 1:
            raise Unsupported("a ragged 2-D array")

    def _index(self, index: tuple) -> tuple:
        if len(index) != self.rank:
            raise VbaRuntimeError(9)
        offsets = tuple(i - self.lower for i in index)
        sizes = (len(self.data),) if self.rank == 1 else (len(self.data), len(self.data[0]) if self.data else 0)
        if any(not 0 <= o < n for o, n in zip(offsets, sizes)):
            raise VbaRuntimeError(9)  # subscript out of range
        return offsets

    def __call__(self, *index: int) -> Any:
        offsets = self._index(index)
        return self.data[offsets[0]] if self.rank == 1 else self.data[offsets[0]][offsets[1]]

    def put(self, index: tuple, value: Any) -> None:
        offsets = self._index(index)
        if self.rank == 1:
            self.data[offsets[0]] = value
        else:
            self.data[offsets[0]][offsets[1]] = value

    def bound(self, dimension: int, upper: bool) -> int:
        if not 1 <= dimension <= self.rank:
            raise VbaRuntimeError(9)
        size = len(self.data) if dimension == 1 else len(self.data[0])
        return self.lower + size - 1 if upper else self.lower

    def tolist(self) -> list:
        return copy.deepcopy(self.data)


class _Err:
    def __init__(self) -> None:
        self.Number = 0

    def Clear(self) -> None:  # noqa: N802 - VBA name
        self.Number = 0


def _var_type(value: Any) -> int:
    if isinstance(value, VbaArray):
        return 8192 + 12  # vbArray + vbVariant
    if value is EMPTY:
        return 0
    if value is None:
        return 1  # vbNull
    if isinstance(value, bool):
        return 11
    if isinstance(value, int):
        return 3  # vbLong
    if isinstance(value, float):
        return 5
    if isinstance(value, str):
        return 8
    if isinstance(value, ErrorValue):
        return 10
    raise Unsupported(f"VarType of {value!r}")


def _str_comp(a: Any, b: Any, compare: int = 0) -> int:
    if compare != 0:
        raise Unsupported("StrComp with a text comparison")
    a, b = str(a).encode("utf-16-le"), str(b).encode("utf-16-le")
    units = lambda s: [int.from_bytes(s[i : i + 2], "little") for i in range(0, len(s), 2)]  # noqa: E731
    x, y = units(a), units(b)
    return (x > y) - (x < y)


def _bound(upper: bool):
    def bound(array: Any, dimension: int = 1) -> int:
        if not isinstance(array, VbaArray):
            raise VbaRuntimeError(13)  # type mismatch
        return array.bound(dimension, upper)

    return bound


def _is_array(value: Any) -> bool:
    return isinstance(value, VbaArray)


def _cverr(code: int) -> ErrorValue:
    return ErrorValue(int(code))


_BUILTINS = {
    "IsArray": _is_array,
    "LBound": _bound(False),
    "UBound": _bound(True),
    "VarType": _var_type,
    "StrComp": _str_comp,
    "CVErr": _cverr,
    "vbString": 8,
    "vbBinaryCompare": 0,
    "EMPTY": EMPTY,
}

_TOKEN = re.compile(r'"(?:[^"]|"")*"|<>|<=|>=|[A-Za-z_][A-Za-z0-9_.]*|\d+(?:\.\d+)?|[=<>(),+\-*/&]|\s+')
_WORDS = {"And": "and", "Or": "or", "Not": "not", "Mod": "%"}


def _expression(text: str) -> str:
    out = []
    pos = 0
    for match in _TOKEN.finditer(text):
        if match.start() != pos:
            raise Unsupported(f"cannot read {text!r}")
        token = match.group(0)
        pos = match.end()
        if token.startswith('"'):
            out.append(repr(token[1:-1].replace('""', '"')))
        elif token == "=":
            out.append("==")
        elif token == "<>":
            out.append("!=")
        elif token == "&":
            raise Unsupported("string concatenation")
        elif token in _WORDS:
            out.append(f" {_WORDS[token]} ")
        elif token == "Err.Number":
            out.append("Err.Number")
        elif "." in token:
            raise Unsupported(f"member access {token!r}")
        else:
            out.append(token)
    if pos != len(text):
        raise Unsupported(f"cannot read {text!r}")
    return "".join(out)


_FUNCTION = re.compile(r"^(?:(?:Private|Public) )?Function (\w+)\((.*)\)(?: As (\w+))?$")
_PARAM = re.compile(r"^(?:(ByVal|ByRef) )?(\w+)(?: As (\w+))?$")


def _statement(line: str, name: str, resume: bool) -> str:
    """One simple statement as Python."""
    if line == "Exit Function":
        return f"return {name}"
    if line == "Err.Clear":
        return "Err.Clear()"
    found = re.match(r"^(\w+)\((.*)\) = (.*)$", line)
    if found:
        code = f"{found[1]}.put(({_expression(found[2])},), {_expression(found[3])})"
    else:
        found = re.match(r"^(\w+) = (.*)$", line)
        if not found:
            raise Unsupported(f"statement {line!r}")
        code = f"{found[1]} = {_expression(found[2])}"
    if resume:  # On Error Resume Next: an error sets Err and goes on
        return f"try:\n    {code}\nexcept VbaRuntimeError as _e:\n    Err.Number = _e.number"
    return code


def transpile(vba: str) -> dict[str, Any]:
    """The Function procedures of ``vba`` as Python functions, by name."""
    python: list[str] = []
    indent = 0
    name = ""
    resume = False

    def emit(code: str) -> None:
        for part in code.split("\n"):
            python.append("    " * indent + part)

    for raw in vba.splitlines():
        line = raw.split(" '", 1)[0].strip() if not raw.strip().startswith("'") else ""
        if not line:
            continue
        found = _FUNCTION.match(line)
        if found:
            name, returns = found[1], found[3] or "Variant"
            params = []
            for text in filter(None, (p.strip() for p in found[2].split(","))):
                param = _PARAM.match(text)
                if not param:
                    raise Unsupported(f"parameter {text!r}")
                params.append((param[2], param[1] == "ByVal"))
            emit(f"def {name}({', '.join(p for p, _ in params)}):")
            indent += 1
            emit("Err = _Err()")
            emit(f"{name} = {'0' if returns in ('Long', 'Integer') else 'EMPTY'}")
            for param, by_value in params:
                if by_value:
                    emit(f"{param} = _copy.deepcopy({param})")
            resume = False
            continue
        if line == "End Function":
            emit(f"return {name}")
            indent -= 1
            name = ""
            continue
        if not name:
            raise Unsupported(f"code outside a Function: {line!r}")
        if line.startswith("Dim "):
            found = re.match(r"^Dim (\w+) As (\w+)$", line)
            if not found:
                raise Unsupported(line)
            emit(f"{found[1]} = {'0' if found[2] in ('Long', 'Integer') else 'EMPTY'}")
        elif line == "On Error Resume Next":
            resume = True
        elif line.startswith("On Error"):
            raise Unsupported(line)
        elif (found := re.match(r"^If (.*) Then$", line)):
            emit(f"if {_expression(found[1])}:")
            indent += 1
        elif (found := re.match(r"^ElseIf (.*) Then$", line)):
            indent -= 1
            emit(f"elif {_expression(found[1])}:")
            indent += 1
        elif line == "Else":
            indent -= 1
            emit("else:")
            indent += 1
        elif line == "End If":
            indent -= 1
        elif (found := re.match(r"^If (.*) Then (.+)$", line)):
            emit(f"if {_expression(found[1])}:")
            indent += 1
            emit(_statement(found[2], name, resume))
            indent -= 1
        elif (found := re.match(r"^For (\w+) = (.*) To (.*)$", line)):
            emit(f"for {found[1]} in range({_expression(found[2])}, ({_expression(found[3])}) + 1):")
            indent += 1
        elif re.match(r"^Next(?: \w+)?$", line):
            indent -= 1
        else:
            emit(_statement(line, name, resume))
    namespace: dict[str, Any] = {**_BUILTINS, "_Err": _Err, "_copy": copy, "VbaRuntimeError": VbaRuntimeError}
    exec(compile("\n".join(python), "<vba>", "exec"), namespace)  # noqa: S102 - our own generated VBA
    return {k: v for k, v in namespace.items() if callable(v) and k not in _BUILTINS and not k.startswith("_") and k != "VbaRuntimeError"}


def from_python(value: Any) -> Any:
    """A value as pywin32 hands it to VBA: a list becomes a SAFEARRAY of
    Variants with lower bound 0 (2-D when its items are equal-length lists),
    None becomes Null."""
    if isinstance(value, (list, tuple)):
        nested = [list(v) if isinstance(v, (list, tuple)) else v for v in value]
        return VbaArray([[from_python(c) for c in row] if isinstance(row, list) else from_python(row) for row in nested])
    return value
