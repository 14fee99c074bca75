"""The native Excel functions the evaluator computes. Each takes
(evaluator, context, *arguments) where an argument is a Ref, an Array, a
scalar or MISSING; lazy ones (IF, IFERROR...) take the unevaluated nodes."""
from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal, localcontext
from typing import TYPE_CHECKING, Any, Callable

from ..excel.wildcards import wildcard
from .limits import MAX_ARRAY_CELLS, MAX_CRITERION_CHARS
from .operands import _BINARY, EPOCH, MISSING, Array, Ref, _boolean, _compare, _elementwise, _error, _Failure, _finite, _from_serial, _general, _grid_shape, _integer, _is_date, _is_error, _is_number, _joined, _number, _rank, _text

if TYPE_CHECKING:  # type hints only: the evaluator imports this module
    from .evaluator import Evaluator


def _numbers_for_aggregate(ev: Evaluator, args: tuple[Any, ...]) -> list[float]:
    """SUM's reading of its arguments: in ranges and arrays only numbers (and
    dates) count; a number typed as an argument, TRUE or "12" count too."""
    numbers: list[float] = []
    for arg in args:
        if isinstance(arg, (Ref, list)):
            for value in ev._cells_of(arg):
                if _is_error(value):
                    raise _Failure(value, value.reason)
                if _is_number(value) or _is_date(value):
                    numbers.append(_number(value))
        elif arg is not MISSING and arg is not None:
            numbers.append(_number(arg))
    return numbers

def _sum(ev, context, *args):
    return _finite(math.fsum(_numbers_for_aggregate(ev, args)))

def _average(ev, context, *args):
    numbers = _numbers_for_aggregate(ev, args)
    if not numbers:
        raise _Failure("#DIV/0!", "AVERAGE of no numbers")
    return _finite(math.fsum(numbers) / len(numbers))

def _min(ev, context, *args):
    numbers = _numbers_for_aggregate(ev, args)
    return min(numbers) if numbers else 0.0

def _max(ev, context, *args):
    numbers = _numbers_for_aggregate(ev, args)
    return max(numbers) if numbers else 0.0

def _count(ev, context, *args):
    count = 0
    for arg in args:
        if isinstance(arg, (Ref, list)):
            count += sum(1 for v in ev._cells_of(arg) if _is_number(v) or _is_date(v))
        elif arg is not MISSING and arg is not None and not _is_error(arg):
            try:
                _number(arg)
                count += 1
            except _Failure:
                pass
    return float(count)

def _counta(ev, context, *args):
    count = 0
    for arg in args:
        if isinstance(arg, (Ref, list)):
            count += sum(1 for v in ev._cells_of(arg) if v is not None and v is not MISSING)
        elif arg is not MISSING:
            count += 1
    return float(count)

def _countblank(ev, context, area):
    if not isinstance(area, Ref):
        raise _Failure("#VALUE!", "COUNTBLANK needs a range")
    return float(sum(1 for v in ev._cells_of(area) if v is None or v == ""))

def _sumproduct(ev, context, *args):
    grids = [ev._as_grid(arg) for arg in args]
    shape = _grid_shape(grids[0])
    if any(_grid_shape(g) != shape for g in grids):
        raise _Failure("#VALUE!", "SUMPRODUCT's arrays differ in size")
    total = []
    for i in range(shape[0]):
        for j in range(shape[1]):
            product = 1.0
            for grid in grids:
                value = grid[i][j]
                if _is_error(value):
                    raise _Failure(value, value.reason)
                product *= _number(value) if (_is_number(value) or _is_date(value)) else 0.0
            total.append(product)
    return _finite(math.fsum(total))


def _criterion(criterion: Any) -> Callable[[Any], bool]:
    """COUNTIF's criterion: 5, ">=5", "<>x", "a*", "" -> a test of one value."""
    if _is_error(criterion):
        raise _Failure(criterion, criterion.reason)
    if criterion is None or criterion is MISSING:
        criterion = 0.0
    if isinstance(criterion, bool) or _is_number(criterion) or _is_date(criterion):
        op, operand = "=", criterion
    else:
        text = str(criterion)
        if len(text) > MAX_CRITERION_CHARS:
            raise _Failure("#VALUE!", f"the criterion is longer than {MAX_CRITERION_CHARS} characters (Excel's limit)")
        op = next((o for o in ("<=", ">=", "<>", "<", ">", "=") if text.startswith(o)), "")
        rest = text[len(op):]
        op = op or "="
        operand = rest
        if rest.strip():
            try:
                operand = float(rest)
            except ValueError:
                if rest.upper() in ("TRUE", "FALSE"):
                    operand = rest.upper() == "TRUE"
    compare = _compare(op)
    if isinstance(operand, str):
        if operand == "":  # "" matches blanks and empty text; "=" only blanks; "<>" non-blanks
            if op == "=":
                return (lambda v: v is None or v == "") if text == "" else (lambda v: v is None)
            if op == "<>":
                return lambda v: v is not None and v != ""
        if op in ("=", "<>"):
            pattern = wildcard(operand)
            matches = lambda v: isinstance(v, str) and pattern(v)  # noqa: E731
            return matches if op == "=" else (lambda v: not matches(v))
        return lambda v: isinstance(v, str) and compare(v, operand)
    if isinstance(operand, bool):
        return lambda v: (isinstance(v, bool) and compare(v, operand)) if op != "<>" else not (isinstance(v, bool) and v == operand)
    number = _number(operand)
    if op == "<>":
        return lambda v: not ((_is_number(v) or _is_date(v)) and _number(v) == number)
    return lambda v: (_is_number(v) or _is_date(v)) and compare(_number(v), number)

def _resized(ev: Evaluator, area: Any, like: list[list[Any]]) -> list[list[Any]]:
    """SUMIF's sum_range: its top-left cell, stretched to the criteria range's size."""
    rows, cols = _grid_shape(like)
    if isinstance(area, Ref):
        return ev._grid(Ref(area.sheet, area.min_row, area.min_col, area.min_row + rows - 1, area.min_col + cols - 1))
    grid = ev._as_grid(area)
    if _grid_shape(grid) != (rows, cols):
        raise _Failure("#VALUE!", "ranges of different sizes")
    return grid

def _matching(ev: Evaluator, pairs: list[tuple[Any, Any]]) -> tuple[list[list[Any]], list[list[bool]]]:
    """The first criteria range and which of its cells meet every criterion."""
    first = ev._as_grid(pairs[0][0])
    shape = _grid_shape(first)
    mask = [[True] * shape[1] for _ in range(shape[0])]
    for area, criterion in pairs:
        grid = ev._as_grid(area)
        if _grid_shape(grid) != shape:
            raise _Failure("#VALUE!", "criteria ranges of different sizes")
        test = _criterion(ev._one(criterion))
        for i, row in enumerate(grid):
            for j, value in enumerate(row):
                if mask[i][j] and not test(value):
                    mask[i][j] = False
            if i % 1024 == 1023:  # a text test costs up to 32,767 x 255 steps: watch the clock
                ev._check_time()
    return first, mask

def _matched_numbers(values: list[list[Any]], mask: list[list[bool]]) -> list[float]:
    picked = []
    for row, keep in zip(values, mask):
        for value, wanted in zip(row, keep):
            if not wanted:
                continue
            if _is_error(value):
                raise _Failure(value, value.reason)
            if _is_number(value) or _is_date(value):
                picked.append(_number(value))
    return picked

def _pairs(args: tuple[Any, ...], name: str) -> list[tuple[Any, Any]]:
    if len(args) % 2:
        raise _Failure("#VALUE!", f"{name} needs range, criterion pairs")
    return list(zip(args[::2], args[1::2]))

def _sumif(ev, context, area, criterion, sum_area=MISSING):
    first, mask = _matching(ev, [(area, criterion)])
    values = first if sum_area is MISSING else _resized(ev, sum_area, first)
    return _finite(math.fsum(_matched_numbers(values, mask)))

def _sumifs(ev, context, sum_area, *criteria):
    first, mask = _matching(ev, _pairs(criteria, "SUMIFS"))
    values = ev._as_grid(sum_area)
    if _grid_shape(values) != _grid_shape(first):
        raise _Failure("#VALUE!", "SUMIFS ranges of different sizes")
    return _finite(math.fsum(_matched_numbers(values, mask)))

def _countif(ev, context, area, criterion):
    return float(sum(map(sum, _matching(ev, [(area, criterion)])[1])))

def _countifs(ev, context, *criteria):
    return float(sum(map(sum, _matching(ev, _pairs(criteria, "COUNTIFS"))[1])))

def _mean(numbers: list[float], name: str) -> float:
    if not numbers:
        raise _Failure("#DIV/0!", f"{name}: no cell meets the criteria")
    return _finite(math.fsum(numbers) / len(numbers))

def _averageif(ev, context, area, criterion, average_area=MISSING):
    first, mask = _matching(ev, [(area, criterion)])
    values = first if average_area is MISSING else _resized(ev, average_area, first)
    return _mean(_matched_numbers(values, mask), "AVERAGEIF")

def _averageifs(ev, context, average_area, *criteria):
    first, mask = _matching(ev, _pairs(criteria, "AVERAGEIFS"))
    values = ev._as_grid(average_area)
    if _grid_shape(values) != _grid_shape(first):
        raise _Failure("#VALUE!", "AVERAGEIFS ranges of different sizes")
    return _mean(_matched_numbers(values, mask), "AVERAGEIFS")

def _condition(ev: Evaluator, value: Any) -> Any:
    return _elementwise(_boolean, ev._values(value))

def _if(ev: Evaluator, nodes: list[tuple], context: tuple[str, int, int]) -> Any:
    if not 1 <= len(nodes) <= 3:
        return _error("#VALUE!", f"IF got {len(nodes)} arguments")
    try:
        condition = _condition(ev, ev._evaluate(nodes[0], context))
    except _Failure as failure:
        return failure.error
    if _is_error(condition):
        return condition

    def branch(index: int) -> Any:
        if index >= len(nodes):
            return False  # IF(c, x) shows FALSE when c is false
        value = ev._evaluate(nodes[index], context)
        return 0.0 if value is MISSING else value

    if isinstance(condition, list):  # an array condition picks element by element
        chosen = (ev._values(branch(1)), ev._values(branch(2)))
        return _elementwise(lambda c, yes, no: c if _is_error(c) else (yes if c else no), condition, *chosen)
    return branch(1 if condition else 2)

def _if_error(codes: frozenset[str] | None) -> Callable[[Evaluator, list[tuple], tuple[str, int, int]], Any]:
    """IFERROR (any error) and IFNA (#N/A only): the fallback is evaluated only when needed."""

    def function(ev: Evaluator, nodes: list[tuple], context: tuple[str, int, int]) -> Any:
        if len(nodes) != 2:
            return _error("#VALUE!", "IFERROR and IFNA take two arguments")
        value = ev._values(ev._evaluate(nodes[0], context))
        caught = lambda v: _is_error(v) and (codes is None or v in codes)  # noqa: E731
        cells = [v for row in value for v in row] if isinstance(value, list) else [value]
        if not any(caught(v) for v in cells):
            return value
        fallback = ev._evaluate(nodes[1], context)
        fallback = 0.0 if fallback is MISSING else ev._values(fallback)
        return _elementwise(lambda v, f: f if caught(v) else v, value, fallback)

    return function

_LAZY: dict[str, Callable[[Evaluator, list[tuple], tuple[str, int, int]], Any]] = {
    "IF": _if,
    "IFERROR": _if_error(None),
    "IFNA": _if_error(frozenset({"#N/A"})),
}

def _per_value(test: Callable[[Any], Any]) -> Callable[..., Any]:
    """A one-argument function applied to each value of a range or array."""
    return lambda ev, context, value: _elementwise(test, ev._values(value))

def _logical(ev: Evaluator, args: tuple[Any, ...], combine: Callable[[list[bool]], bool], name: str) -> bool:
    flags: list[bool] = []
    for arg in args:
        if isinstance(arg, (Ref, list)):
            for value in ev._cells_of(arg):
                if _is_error(value):
                    raise _Failure(value, value.reason)
                if isinstance(value, bool) or _is_number(value):
                    flags.append(bool(value))
        elif arg is not MISSING:
            flags.append(_boolean(arg))
    if not flags:
        raise _Failure("#VALUE!", f"{name} found no logical values")
    return combine(flags)

def _decimal_round(number: float, digits: int, mode: str) -> float:
    """Round to ``digits`` decimals on the number's shortest decimal form, as
    Excel does (ROUND(2.675, 2) = 2.68 although 2.675 is stored as 2.67499...)."""
    if not math.isfinite(number):
        raise _Failure("#NUM!", "not a finite number")
    if digits >= 0 and abs(number) >= 1e15:
        return number
    if digits < -308:
        return 0.0
    with localcontext() as decimal_context:
        decimal_context.prec = 400
        return float(Decimal(repr(number)).quantize(Decimal(1).scaleb(-digits), rounding=mode))

def _rounding(mode: str) -> Callable[..., Any]:
    def function(ev, context, number, digits=MISSING):
        return _elementwise(lambda x, d: _decimal_round(_number(x), _integer(d), mode), ev._values(number), ev._values(digits))

    return function

def _sqrt(value: Any) -> float:
    number = _number(value)
    if number < 0:
        raise _Failure("#NUM!", "square root of a negative number")
    return math.sqrt(number)

def _index(ev, context, area, row=MISSING, col=MISSING):
    if not isinstance(area, Ref):
        grid = ev._as_grid(area)
        if _grid_shape(grid) == (1, 1) and _is_error(grid[0][0]):
            # a function that answered one error instead of its table (bad
            # input): Excel's INDEX passes that error on, the cause's own
            return grid[0][0]
    rows, cols = (area.rows, area.cols) if isinstance(area, Ref) else _grid_shape(ev._as_grid(area))
    i = 0 if row is MISSING else _integer(ev._one(row))
    j = 0 if col is MISSING else _integer(ev._one(col))
    if col is MISSING and rows == 1 and cols > 1:  # INDEX(row_range, n) counts along the row
        i, j = 1, i
    elif col is MISSING and cols == 1:
        j = 1
    if i < 0 or j < 0:
        raise _Failure("#VALUE!", "INDEX: negative position")
    if i > rows or j > cols:
        raise _Failure("#REF!", f"INDEX: position ({i}, {j}) is outside the {rows}x{cols} range")
    row_span = range(1, rows + 1) if i == 0 else range(i, i + 1)
    col_span = range(1, cols + 1) if j == 0 else range(j, j + 1)
    if isinstance(area, Ref):
        return Ref(area.sheet, area.min_row + row_span[0] - 1, area.min_col + col_span[0] - 1, area.min_row + row_span[-1] - 1, area.min_col + col_span[-1] - 1)
    grid = ev._as_grid(area)
    picked = Array([[grid[r - 1][c - 1] for c in col_span] for r in row_span])
    return picked[0][0] if len(picked) == 1 and len(picked[0]) == 1 else picked

def _match(ev, context, lookup, area, match_type=MISSING):
    grid = ev._as_grid(area)
    rows, cols = _grid_shape(grid)
    if rows > 1 and cols > 1:
        raise _Failure("#N/A", "MATCH needs a single row or column")
    values = [v for r in grid for v in r]
    wanted = ev._one(lookup)
    if _is_error(wanted):
        raise _Failure(wanted, wanted.reason)
    kind = 1 if match_type is MISSING else _integer(ev._one(match_type))
    if wanted is None:
        wanted = 0.0
    if kind == 0:
        if isinstance(wanted, str):
            if len(wanted) > MAX_CRITERION_CHARS:
                raise _Failure("#VALUE!", f"MATCH: the lookup text is longer than {MAX_CRITERION_CHARS} characters (Excel's limit)")
            pattern = wildcard(wanted)
            test = lambda v: isinstance(v, str) and pattern(v)  # noqa: E731
        else:
            key = _rank(wanted)
            test = lambda v: v is not None and not _is_error(v) and _rank(v) == key  # noqa: E731
        for position, value in enumerate(values, start=1):
            if test(value):
                return float(position)
        raise _Failure("#N/A", "MATCH: value not found")
    # Approximate match on sorted data: the last value not past the lookup value.
    key, found = _rank(wanted), None
    for position, value in enumerate(values, start=1):
        if value is None or _is_error(value) or _rank(value)[0] != key[0]:
            continue
        if (kind > 0 and _rank(value) > key) or (kind < 0 and _rank(value) < key):
            break
        found = position
    if found is None:
        raise _Failure("#N/A", "MATCH: value not found")
    return float(found)

def _dimension(which: int) -> Callable[..., float]:
    def function(ev, context, area):
        if isinstance(area, Ref):
            return float(area.rows if which == 0 else area.cols)
        return float(_grid_shape(ev._as_grid(area))[which])

    return function

def _position(which: int) -> Callable[..., float]:
    def function(ev, context, area=MISSING):
        if area is MISSING:
            return float(context[1 + which])
        if not isinstance(area, Ref):
            raise _Failure("#VALUE!", "ROW and COLUMN need a reference")
        # a range of several rows (columns) gives them all, as dynamic-array Excel does
        count = area.rows if which == 0 else area.cols
        if count == 1:
            return float(area.min_row if which == 0 else area.min_col)
        if count > MAX_ARRAY_CELLS:
            raise _Failure("#NUM!", f"the result would have {count:,} cells, over the {MAX_ARRAY_CELLS:,} a formula may compute")
        if which == 0:
            return Array([[float(r)] for r in range(area.min_row, area.max_row + 1)])
        return Array([[float(c) for c in range(area.min_col, area.max_col + 1)]])

    return function

def _date(ev, context, year, month, day):
    y, m, d = (_integer(ev._one(v)) for v in (year, month, day))
    if 0 <= y < 1900:
        y += 1900
    if not 0 <= y < 10000:
        raise _Failure("#NUM!", f"DATE: year {y} is out of range")
    y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    try:
        serial = (dt.date(y, m, 1) - EPOCH.date()).days + d - 1
    except ValueError:
        raise _Failure("#NUM!", "DATE: out of range") from None
    if serial < 0:
        raise _Failure("#NUM!", "DATE before 1900")
    return float(serial)

def _date_part(part: str) -> Callable[..., Any]:
    return _per_value(lambda v: float(getattr(_from_serial(_number(v)), part)))

def _shift_months(start: Any, months: Any, end_of_month: bool) -> float:
    day = _from_serial(_number(start))
    total = day.year * 12 + day.month - 1 + _integer(months)
    year, month = divmod(total, 12)
    month += 1
    if not 1900 <= year < 10000:
        raise _Failure("#NUM!", "the date is out of range")
    last = calendar.monthrange(year, month)[1]
    result = dt.date(year, month, last if end_of_month else min(day.day, last))
    return float((result - EPOCH.date()).days)

def _npv(ev, context, rate, *values):
    r = _number(ev._one(rate))
    if r == -1:
        raise _Failure("#DIV/0!", "NPV: rate of -100%")
    flows = _numbers_for_aggregate(ev, values)
    return _finite(math.fsum(v / (1 + r) ** t for t, v in enumerate(flows, start=1)))


def _concatenate(ev, context, *args):
    text = _joined(*(_text(ev._one(arg)) for arg in args))
    ev._spend_text(len(text))
    return text

def _n(value: Any) -> Any:
    if _is_error(value):
        raise _Failure(value, value.reason)
    if isinstance(value, bool) or _is_number(value) or _is_date(value):
        return _number(value)
    return 0.0

def _mod(a: Any, b: Any) -> float:
    x, y = _number(a), _number(b)
    if y == 0:
        raise _Failure("#DIV/0!", "MOD by zero")
    return x - y * math.floor(x / y)

def _choose(ev, context, index, *options):
    i = _integer(ev._one(index))
    if not 1 <= i <= len(options):
        raise _Failure("#VALUE!", f"CHOOSE: {i} is not between 1 and {len(options)}")
    chosen = options[i - 1]
    return 0.0 if chosen is MISSING else chosen

def _exp(value: Any) -> float:
    try:
        return math.exp(_number(value))
    except OverflowError:
        raise _Failure("#NUM!", "EXP overflows") from None

def _ln(value: Any) -> float:
    number = _number(value)
    if number <= 0:
        raise _Failure("#NUM!", "LN of a number <= 0")
    return math.log(number)


# ---- TEXT ---------------------------------------------------------------

_DATE_CODES = re.compile(r"yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm|a/p", re.IGNORECASE)

def _format_sections(fmt: str) -> list[str]:
    sections, current, quoted, i = [], "", False, 0
    while i < len(fmt):
        char = fmt[i]
        if char == '"':
            quoted = not quoted
        if char == "\\" and i + 1 < len(fmt):
            current += fmt[i:i + 2]
            i += 2
            continue
        if char == ";" and not quoted:
            sections.append(current)
            current = ""
        else:
            current += char
        i += 1
    return sections + [current]

def _format_tokens(section: str) -> list[tuple[bool, str]]:
    """(is_literal, text) pieces: quoted text and \\x are literal."""
    tokens, i = [], 0
    while i < len(section):
        char = section[i]
        if char == '"':
            end = section.index('"', i + 1) if '"' in section[i + 1:] else len(section)
            tokens.append((True, section[i + 1:end]))
            i = end + 1
        elif char == "\\" and i + 1 < len(section):
            tokens.append((True, section[i + 1]))
            i += 2
        elif char == "[":  # colours and locale tags, e.g. [Red] or [$-409]
            end = section.find("]", i)
            tag = section[i + 1:end] if end > 0 else ""
            if tag.startswith("$") and "-" in tag:
                tokens.append((True, tag[1:tag.index("-")]))
            i = end + 1 if end > 0 else len(section)
        elif char == "_" and i + 1 < len(section):  # space the width of the next character
            tokens.append((True, " "))
            i += 2
        elif char == "*" and i + 1 < len(section):  # fill: nothing at a fixed width
            i += 2
        else:
            tokens.append((False, char))
            i += 1
    return tokens

def _is_date_format(tokens: list[tuple[bool, str]]) -> bool:
    code = "".join(text for literal, text in tokens if not literal).lower()
    return any(c in code for c in "ydhs") or ("m" in code and not any(c in code for c in "0#?"))

def _format_date(serial: float, tokens: list[tuple[bool, str]]) -> str:
    moment = EPOCH + dt.timedelta(days=serial)
    moment = (moment + dt.timedelta(microseconds=500_000)).replace(microsecond=0)  # seconds round, as Excel shows them
    pieces: list[tuple[bool, str]] = []  # (is_code, text)

    def split(run: str) -> None:
        position = 0
        for match in _DATE_CODES.finditer(run):
            if match.start() > position:
                pieces.append((False, run[position:match.start()]))
            pieces.append((True, match.group(0).lower()))
            position = match.end()
        if position < len(run):
            pieces.append((False, run[position:]))

    run = ""
    for literal, text in tokens:
        if literal:
            split(run)
            run = ""
            pieces.append((False, text))
        else:
            run += text
    split(run)
    codes = [text for is_code, text in pieces if is_code]
    twelve_hour = "am/pm" in codes or "a/p" in codes
    hour = (moment.hour % 12 or 12) if twelve_hour else moment.hour
    out: list[str] = []
    index = 0
    for is_code, text in pieces:
        if not is_code:
            out.append(text)
            continue
        previous = codes[index - 1] if index else ""
        following = codes[index + 1] if index + 1 < len(codes) else ""
        index += 1
        is_minute = text in ("m", "mm") and (previous in ("h", "hh") or following in ("s", "ss"))
        out.append(
            {
                "yyyy": f"{moment.year:04d}",
                "yy": f"{moment.year % 100:02d}",
                "mmmm": calendar.month_name[moment.month],
                "mmm": calendar.month_abbr[moment.month],
                "mm": f"{moment.minute:02d}" if is_minute else f"{moment.month:02d}",
                "m": f"{moment.minute}" if is_minute else f"{moment.month}",
                "dddd": calendar.day_name[moment.weekday()],
                "ddd": calendar.day_abbr[moment.weekday()],
                "dd": f"{moment.day:02d}",
                "d": f"{moment.day}",
                "hh": f"{hour:02d}",
                "h": f"{hour}",
                "ss": f"{moment.second:02d}",
                "s": f"{moment.second}",
                "am/pm": "AM" if moment.hour < 12 else "PM",
                "a/p": "A" if moment.hour < 12 else "P",
            }[text]
        )
    return "".join(out)

def _format_number(number: float, tokens: list[tuple[bool, str]], signed: bool) -> str:
    """A number in a format such as ``#,##0.00``, ``0%`` or ``"$"#,##0``."""
    code = "".join("\0" if literal else text for literal, text in tokens)
    literals = [text for literal, text in tokens if literal]
    placeholders = [i for i, ch in enumerate(code) if ch in "0#?"]
    sign = "-" if signed and number < 0 else ""

    def render(part: str, first_literal: int) -> str:
        pending = iter(literals[first_literal:])
        return "".join(next(pending) if ch == "\0" else ch for ch in part)

    if not placeholders:
        return sign + render(code, 0)
    start, end = placeholders[0], placeholders[-1] + 1
    while end < len(code) and code[end] in ",.":
        end += 1
    numeric = code[start:end]
    scale = 0
    while numeric.endswith(","):  # a trailing comma divides by 1000
        numeric, scale = numeric[:-1], scale + 1
    value = abs(number) * (100 ** code.count("%")) / (1000 ** scale)
    int_code, point, dec_code = numeric.replace("\0", "").partition(".")
    decimals = sum(1 for ch in dec_code if ch in "0#?")
    required = dec_code.count("0")
    rounded = _decimal_round(value, decimals, ROUND_HALF_UP)
    whole, _, fraction = format(Decimal(repr(rounded)), f".{decimals}f").partition(".")
    while len(fraction) > required and fraction.endswith("0"):
        fraction = fraction[:-1]
    whole = whole.lstrip("0").rjust(int_code.count("0"), "0")
    if "," in int_code and whole:
        whole = f"{int(whole):,}"
    digits = whole + point + fraction
    if rounded == 0:
        sign = ""
    prefix = render(code[:start], 0)
    suffix = render(code[end:], code[:end].count("\0"))
    return sign + prefix + digits + suffix

def _text_format(ev, context, value, fmt):
    value, fmt = ev._one(value), _text(ev._one(fmt))
    if _is_error(value):
        raise _Failure(value, value.reason)
    if isinstance(value, str):
        try:
            value = _number(value)
        except _Failure:
            return value
    number = _number(value)
    sections = _format_sections(fmt)
    section, signed = sections[0], True
    if number < 0 and len(sections) > 1:
        section, signed = sections[1], False
    elif number == 0 and len(sections) > 2:
        section = sections[2]
    if section.strip().lower() in ("general", ""):
        return _general(number)
    tokens = _format_tokens(section)
    if _is_date_format(tokens):
        return _format_date(number, tokens)
    return _format_number(number, tokens, signed)

NATIVE_FUNCTIONS: dict[str, tuple[int, int | None, Callable[..., Any]]] = {
    "SUM": (1, None, _sum),
    "SUMPRODUCT": (1, None, _sumproduct),
    "SUMIF": (2, 3, _sumif),
    "SUMIFS": (3, None, _sumifs),
    "COUNT": (1, None, _count),
    "COUNTA": (1, None, _counta),
    "COUNTBLANK": (1, 1, _countblank),
    "COUNTIF": (2, 2, _countif),
    "COUNTIFS": (2, None, _countifs),
    "AVERAGE": (1, None, _average),
    "AVERAGEIF": (2, 3, _averageif),
    "AVERAGEIFS": (3, None, _averageifs),
    "MIN": (1, None, _min),
    "MAX": (1, None, _max),
    "ISERROR": (1, 1, _per_value(_is_error)),
    "ISNA": (1, 1, _per_value(lambda v: _is_error(v) and v == "#N/A")),
    "ISNUMBER": (1, 1, _per_value(lambda v: _is_number(v) or _is_date(v))),
    "ISTEXT": (1, 1, _per_value(lambda v: isinstance(v, str) and not _is_error(v))),
    "ISBLANK": (1, 1, _per_value(lambda v: v is None)),
    "AND": (1, None, lambda ev, context, *args: _logical(ev, args, all, "AND")),
    "OR": (1, None, lambda ev, context, *args: _logical(ev, args, any, "OR")),
    "NOT": (1, 1, _per_value(lambda v: not _boolean(v))),
    "TRUE": (0, 0, lambda ev, context: True),
    "FALSE": (0, 0, lambda ev, context: False),
    "NA": (0, 0, lambda ev, context: _error("#N/A", "NA()")),
    "ROUND": (2, 2, _rounding(ROUND_HALF_UP)),
    "ROUNDUP": (2, 2, _rounding(ROUND_UP)),
    "ROUNDDOWN": (2, 2, _rounding(ROUND_DOWN)),
    "INT": (1, 1, _per_value(lambda v: float(math.floor(_number(v))))),
    "MOD": (2, 2, lambda ev, context, a, b: _elementwise(_mod, ev._values(a), ev._values(b))),
    "ABS": (1, 1, _per_value(lambda v: abs(_number(v)))),
    "SQRT": (1, 1, _per_value(_sqrt)),
    "EXP": (1, 1, _per_value(_exp)),
    "LN": (1, 1, _per_value(_ln)),
    "POWER": (2, 2, lambda ev, context, a, b: _elementwise(_BINARY["^"], ev._values(a), ev._values(b))),
    "INDEX": (2, 3, _index),
    "MATCH": (2, 3, _match),
    "CHOOSE": (2, None, _choose),
    "TRANSPOSE": (1, 1, lambda ev, context, area: Array([list(column) for column in zip(*ev._as_grid(area))])),
    "ROWS": (1, 1, _dimension(0)),
    "COLUMNS": (1, 1, _dimension(1)),
    "ROW": (0, 1, _position(0)),
    "COLUMN": (0, 1, _position(1)),
    "DATE": (3, 3, _date),
    "YEAR": (1, 1, _date_part("year")),
    "MONTH": (1, 1, _date_part("month")),
    "DAY": (1, 1, _date_part("day")),
    "EOMONTH": (2, 2, lambda ev, context, start, months: _elementwise(lambda s, m: _shift_months(s, m, True), ev._values(start), ev._values(months))),
    "EDATE": (2, 2, lambda ev, context, start, months: _elementwise(lambda s, m: _shift_months(s, m, False), ev._values(start), ev._values(months))),
    "TEXT": (2, 2, _text_format),
    "CONCATENATE": (1, None, _concatenate),
    "LEN": (1, 1, _per_value(lambda v: float(len(_text(v))))),
    "N": (1, 1, lambda ev, context, value: _n(ev._one(value))),
    "NPV": (2, None, _npv),
}

"""Native Excel functions the evaluator knows: name -> (least, most arguments, implementation)."""

# Every native Excel function the evaluator computes (eager and lazy ones).
SUPPORTED_NATIVE_FUNCTIONS = frozenset(NATIVE_FUNCTIONS) | frozenset(_LAZY)
