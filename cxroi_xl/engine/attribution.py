"""Multi-touch attribution: which channels earn the credit for conversions.

When a chatbot, an email flow and paid search all touch a customer before a
purchase, an attribution model shares the purchase among them. The data
follow the convention of the ChannelAttribution package, so tables move
between the two tools unchanged: one row per distinct journey with

* ``path``: the touches in order, e.g. ``"search > email > chat"`` (separator
  ``>``; spaces around channel names are ignored, case is kept),
* ``conversions``: how many journeys with this path converted (>= 0),
* ``value``: optional total conversion value of those journeys,
* ``nulls``: optional number of journeys with this path that did not convert
  (the Markov model needs them to see what fails; the others ignore them).

Paths are parsed once into :class:`Journeys` (distinct paths, every touch as
an integer channel code); each model is then a few numpy passes over the
touches, and the Markov model solves its absorbing chain exactly. Models:

============== ==============================================================
``first``      all credit to the first touch
``last``       all credit to the last touch
``linear``     equal credit to every touch (a channel met twice gets two shares)
``position``   40 % first, 40 % last, 20 % shared by the middle touches
``time_decay`` touch i of n weighted 2^(-(n-1-i)/half_life), normalised per path
``markov``     removal effects of a first- (or higher-) order Markov chain
``shapley``    Shapley values of the coalition game of Zhao et al. (2018)
============== ==============================================================

Every model hands out exactly the total conversions (and the total value),
so the shares of all channels sum to 1.

Input the functions cannot answer raises a subclass of ``ValueError`` from
``cxroi_xl.errors``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from operator import methodcaller
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InvalidInputError, OutOfDomainError, ZeroDenominatorError

# scipy.sparse is imported by the functions that build and solve the Markov
# chain: importing the engine (every Excel function's module) stays quick.
if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = [
    "MODELS",
    "Journeys",
    "parse_paths",
    "journeys_from_touches",
    "aggregate_touches_dask",
    "attribute",
    "markov_transition_matrix",
    "removal_effects",
]

MODELS = ("first", "last", "linear", "position", "time_decay", "markov", "shapley")

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"

# The Markov chain is solved through one dense inversion (cost ~ states^3)
# or, per channel, iteratively on the sparse matrix (cost ~ channels x
# nonzeros x some 50 iterations); the cheaper is taken, dense only up to
# _DENSE_STATES states (memory).
_DENSE_STATES = 5000
_KRYLOV_ITERATIONS = 50


@dataclass(frozen=True, eq=False)
class Journeys:
    """Paths parsed once, the input every model works on.

    Path ``p`` consists of the touches ``touches[offsets[p]:offsets[p + 1]]``,
    each an index into ``channels``; ``conversions``, ``values`` and ``nulls``
    hold one number per path. Build it with :func:`parse_paths` or
    :func:`journeys_from_touches`; pass it to :func:`attribute` instead of a
    DataFrame to run several models on one parse.

    Examples
    --------
    >>> j = parse_paths(["search > email", "email"], [2, 1])
    >>> j.channels, j.touches.tolist(), j.offsets.tolist()
    (('email', 'search'), [1, 0, 0], [0, 2, 3])
    """

    channels: tuple[str, ...]
    touches: np.ndarray
    offsets: np.ndarray
    conversions: np.ndarray
    values: np.ndarray
    nulls: np.ndarray

    @property
    def n_paths(self) -> int:
        return len(self.offsets) - 1

    @cached_property
    def lengths(self) -> np.ndarray:
        """Touches per path."""
        return np.diff(self.offsets)

    @cached_property
    def path_of_touch(self) -> np.ndarray:
        """Index of the path each touch belongs to."""
        return np.repeat(np.arange(self.n_paths), self.lengths)

    @cached_property
    def position(self) -> np.ndarray:
        """0-based position of each touch within its path."""
        return np.arange(len(self.touches)) - self.offsets[:-1][self.path_of_touch]

    def to_frame(self, separator: str = " > ") -> pd.DataFrame:
        """The journeys as a ChannelAttribution-style table (path, conversions, value, nulls).

        >>> parse_paths(["a>b", "b", "a>b"], [1, 4, 2], nulls=[3, 0, 0]).to_frame()
            path  conversions  value  nulls
        0  a > b          3.0    0.0    3.0
        1      b          4.0    0.0    0.0
        """
        names = pd.Series(np.asarray(self.channels, dtype=object)[self.touches])
        paths = names.groupby(self.path_of_touch).agg(separator.join)
        return pd.DataFrame({"path": paths.to_numpy(), "conversions": self.conversions, "value": self.values, "nulls": self.nulls})


# --------------------------------------------------------------------------
# Input


def _counts(values, name: str, n: int, required: bool = False) -> np.ndarray:
    """A column of non-negative counts (or amounts) as floats; absent -> zeros."""
    if values is None:
        if required:
            raise InvalidInputError(f"{name} are required")
        return np.zeros(n)
    try:
        array = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be numbers") from None
    if array.shape[0] != n:
        raise InvalidInputError(f"paths and {name} must have the same length ({n} and {array.shape[0]})")
    if not np.isfinite(array).all():
        raise InvalidInputError(f"{name} must be finite numbers")
    return array


def _channel_codes(raw_codes: np.ndarray, raw_names) -> tuple[tuple[str, ...], np.ndarray]:
    """Strip the distinct raw names, merge those equal after stripping, sort.

    Returns the channel names (sorted case-insensitively, as a spreadsheet
    sorts, ties by exact text) and each raw code's channel code.
    """
    names = [str(name).strip() for name in raw_names]
    if any(not name for name in names):
        raise InvalidInputError("a path is empty or has an empty channel name (check for '> >' or a blank path)")
    channels = tuple(sorted(set(names), key=lambda s: (s.casefold(), s)))
    code_of = {name: code for code, name in enumerate(channels)}
    remap = np.array([code_of[name] for name in names], dtype=np.int64)
    return channels, remap[raw_codes]


def parse_paths(paths, conversions, values=None, nulls=None, *, separator: str = ">") -> Journeys:
    """Parse path texts once, merging rows with the same path text.

    Parameters
    ----------
    paths : array_like of str, shape (n,)
        One journey path per row, e.g. ``"search > email > chat"``.
    conversions : array_like, shape (n,)
        Converting journeys per row (count, >= 0; fractions allowed).
    values : array_like, shape (n,), optional
        Total conversion value per row (currency, >= 0).
    nulls : array_like, shape (n,), optional
        Journeys per row that did not convert (count, >= 0).
    separator : str, default ">"
        Text between two touches.

    Raises
    ------
    InvalidInputError
        Columns of different lengths, negative or non-finite numbers, an
        empty path or an empty channel name.

    Examples
    --------
    >>> j = parse_paths(["Search > chat", "chat", "Search > chat"], [1, 2, 3], nulls=[0, 5, 1])
    >>> j.channels, j.conversions.tolist(), j.nulls.tolist()
    (('chat', 'Search'), [4.0, 2.0], [1.0, 5.0])
    """
    if not separator:
        raise InvalidInputError("the separator must not be empty")
    path_array = np.asarray(paths, dtype=object).ravel()
    n = path_array.shape[0]
    columns = {
        "conversions": _counts(conversions, "conversions", n, required=True),
        "values": _counts(values, "values", n),
        "nulls": _counts(nulls, "nulls", n),
    }
    for name, column in columns.items():
        if (column < 0).any():
            raise InvalidInputError(f"{name} must not be negative")
    if n == 0:
        raise InvalidInputError("no paths given")
    # Merge repeated paths first: the text work below is done once per
    # distinct path, however many journey rows share it.
    row_path, distinct = pd.factorize(path_array, use_na_sentinel=True)
    if (row_path < 0).any():
        raise InvalidInputError("a path is blank")
    texts = distinct.tolist()
    try:
        joined = separator.join(texts)
    except TypeError:
        raise InvalidInputError("paths must be text") from None
    tokens = joined.split(separator)
    # str.count driven by map runs in C; measured faster than pandas' regex
    # str.count or numpy.strings on these short texts.
    lengths = np.fromiter(map(methodcaller("count", separator), texts), dtype=np.int64, count=len(texts)) + 1
    raw_codes, raw_names = pd.factorize(np.asarray(tokens, dtype=object))
    channels, touches = _channel_codes(raw_codes, raw_names)
    per_path = {name: np.bincount(row_path, weights=column, minlength=len(distinct)) for name, column in columns.items()}
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    return Journeys(channels, touches, offsets, per_path["conversions"], per_path["values"], per_path["nulls"])


def journeys_from_touches(
    touches,
    *,
    journey_col: str = "journey_id",
    channel_col: str = "channel",
    time_col: str | None = "timestamp",
    conversion_col: str = "converted",
    value_col: str | None = None,
) -> Journeys:
    """Journey-level data (one row per touch) as :class:`Journeys`.

    Touches are ordered by ``time_col`` within each journey (by row order when
    ``time_col`` is None). A journey's conversion count and value may be
    repeated on every one of its rows or given on one row only: the largest
    value over the journey's rows is used. A journey that did not convert
    counts as one null. Rows holding lists (one row per journey, a list of
    channels and a list of times) are expanded first.

    ``touches`` may also be a Dask DataFrame, or the path or URL of a Parquet
    file or dataset folder, when the log does not fit in memory (needs the
    ``cxroi-xl[dask]`` extra): the touches are then aggregated out of core by
    :func:`aggregate_touches_dask` into distinct paths, which is all the
    models need, and the result is the same as the in-memory route's after
    merging equal paths (rows tied on ``time_col`` keep their input order in
    both). Run it inside a ``dask.distributed.Client`` context to use a
    cluster.

    Examples
    --------
    >>> log = pd.DataFrame({
    ...     "journey_id": [7, 7, 8, 7],
    ...     "channel": ["email", "chat", "search", "search"],
    ...     "timestamp": pd.to_datetime(["2024-01-02", "2024-01-05", "2024-01-01", "2024-01-01"]),
    ...     "converted": [0, 1, 0, 0],
    ... })
    >>> journeys_from_touches(log).to_frame()
                         path  conversions  value  nulls
    0  search > email > chat          1.0    0.0    0.0
    1                  search          0.0    0.0    1.0
    """
    if not isinstance(touches, pd.DataFrame):
        return aggregate_touches_dask(
            touches, journey_col=journey_col, channel_col=channel_col, time_col=time_col, conversion_col=conversion_col, value_col=value_col
        )
    wanted = [c for c in (journey_col, channel_col, time_col, conversion_col, value_col) if c is not None]
    missing = [c for c in wanted if c not in touches.columns]
    if missing:
        raise InvalidInputError(f"no column named {', '.join(map(repr, missing))}")
    frame = touches[wanted]
    if frame.empty:
        raise InvalidInputError("no touches given")
    if isinstance(frame[channel_col].iloc[0], (list, tuple, np.ndarray)):
        frame = frame.explode([c for c in (channel_col, time_col) if c is not None], ignore_index=True)
    if frame[[journey_col, channel_col]].isna().any(axis=None):
        raise InvalidInputError("every touch needs a journey and a channel")
    order = [journey_col] if time_col is None else [journey_col, time_col]
    frame = frame.sort_values(order, kind="stable")
    journey = pd.factorize(frame[journey_col])[0]
    first = np.flatnonzero(np.concatenate([[True], journey[1:] != journey[:-1]]))
    offsets = np.concatenate([first, [len(frame)]])
    converted = _counts(frame[conversion_col].fillna(0), "conversions", len(frame))
    value = _counts(frame[value_col].fillna(0), "values", len(frame)) if value_col else np.zeros(len(frame))
    if (converted < 0).any() or (value < 0).any():
        raise InvalidInputError("conversions and values must not be negative")
    raw_codes, raw_names = pd.factorize(frame[channel_col].astype(str))
    channels, codes = _channel_codes(raw_codes, raw_names)
    conversions = np.maximum.reduceat(converted, first)
    return Journeys(channels, codes, offsets, conversions, np.maximum.reduceat(value, first), (conversions == 0).astype(float))


_ROW = "__cxroi_row"  # input order, the tie-break of equal times after a shuffle
_PATH_FRAME = {"path": object, "conversions": float, "value": float, "nulls": float}


def _paths_of_touches(part: pd.DataFrame, journey_col: str, channel_col: str, time_col: str | None, conversion_col: str, value_col: str | None) -> pd.DataFrame:
    """One partition holding whole journeys -> its distinct paths with sums.

    The same rules as the in-memory route: touches ordered by time within
    the journey (input order on ties), the largest conversion and value of
    the journey's rows, a journey without conversion counts one null.
    """
    if part.empty:
        return pd.DataFrame({name: pd.Series([], dtype=kind) for name, kind in _PATH_FRAME.items()})
    if part[[journey_col, channel_col]].isna().any(axis=None):
        raise InvalidInputError("every touch needs a journey and a channel")
    order = [journey_col, _ROW] if time_col is None else [journey_col, time_col, _ROW]
    part = part.sort_values(order, kind="stable")
    channel = part[channel_col].astype(str)
    if channel.str.contains(">", regex=False).any():
        raise InvalidInputError("a channel name contains '>', the path separator")
    journey = pd.factorize(part[journey_col])[0]
    first = np.flatnonzero(np.concatenate([[True], journey[1:] != journey[:-1]]))
    converted = _counts(part[conversion_col].fillna(0), "conversions", len(part))
    value = _counts(part[value_col].fillna(0), "values", len(part)) if value_col else np.zeros(len(part))
    if (converted < 0).any() or (value < 0).any():
        raise InvalidInputError("conversions and values must not be negative")
    conversions = np.maximum.reduceat(converted, first)
    # Each journey's path text by one C-level concatenation per journey
    # (numpy's add.reduceat on "name > " strings): some 50 times faster than
    # a group-by with str.join. The trailing " > " goes after merging.
    codes, names = pd.factorize(channel)
    touch_text = np.asarray([name + " > " for name in names], dtype=object)[codes]
    per_journey = pd.DataFrame(
        {
            "path": np.add.reduceat(touch_text, first),
            "conversions": conversions,
            "value": np.maximum.reduceat(value, first),
            "nulls": (conversions == 0).astype(float),
        }
    )
    # merging equal paths inside the partition first keeps the final sum small
    paths = per_journey.groupby("path", sort=False).sum().reset_index()
    paths["path"] = paths["path"].str.slice(0, -3)
    return paths


def aggregate_touches_dask(
    touches,
    *,
    journey_col: str = "journey_id",
    channel_col: str = "channel",
    time_col: str | None = "timestamp",
    conversion_col: str = "converted",
    value_col: str | None = None,
) -> Journeys:
    """Touchpoints too large for memory -> :class:`Journeys`, through Dask.

    ``touches`` is a Dask DataFrame or the path/URL of a Parquet file or
    dataset folder (read with only the columns needed). The rows are shuffled
    on ``journey_col`` so each journey sits whole in one partition; each
    partition then orders its touches, builds one path text per journey and
    sums conversions, values and nulls per distinct path; a final group-by
    over the partitions' results gives the distinct paths, which is all the
    models need (their size grows with the variety of paths, not with the
    number of touches). The rules are those of :func:`journeys_from_touches`.
    Computes with the current Dask scheduler (a ``distributed.Client`` when
    one is active). Needs ``cxroi-xl[dask]``.

    Examples
    --------
    >>> import dask.dataframe as dd  # doctest: +SKIP
    >>> log = pd.DataFrame({
    ...     "journey_id": [7, 7, 8, 7, 9],
    ...     "channel": ["email", "chat", "search", "search", "search"],
    ...     "timestamp": pd.to_datetime(["2024-01-02", "2024-01-05", "2024-01-01", "2024-01-01", "2024-01-03"]),
    ...     "converted": [0, 1, 0, 0, 1],
    ... })
    >>> aggregate_touches_dask(dd.from_pandas(log, npartitions=2)).to_frame()  # doctest: +SKIP
                        path  conversions  value  nulls
    0                 search          1.0    0.0    1.0
    1  search > email > chat          1.0    0.0    0.0

    (Skipped where the extra is not installed; ``tests/batch/test_dask_attribution.py``
    runs this example.)
    """
    try:
        import dask.dataframe as dd
    except ImportError:  # pragma: no cover - depends on the install
        raise InvalidInputError("touch logs as Dask DataFrames or Parquet datasets need the cxroi-xl[dask] extra") from None
    wanted = [c for c in (journey_col, channel_col, time_col, conversion_col, value_col) if c is not None]
    if isinstance(touches, (str, bytes)) or hasattr(touches, "__fspath__"):
        try:
            touches = dd.read_parquet(str(touches) if hasattr(touches, "__fspath__") else touches, columns=wanted)
        except (ValueError, KeyError) as exc:
            raise InvalidInputError(f"cannot read the touches: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    if not isinstance(touches, dd.DataFrame):
        raise InvalidInputError("touches must be a pandas or Dask DataFrame, or a Parquet path")
    missing = [c for c in wanted if c not in touches.columns]
    if missing:
        raise InvalidInputError(f"no column named {', '.join(map(repr, missing))}")
    frame = touches[wanted]

    def number_rows(part: pd.DataFrame, partition_info=None) -> pd.DataFrame:
        # (partition, position) as one int64: the input order across partitions
        number = 0 if partition_info is None else partition_info["number"]
        return part.assign(**{_ROW: (np.int64(number) << 32) + np.arange(len(part), dtype=np.int64)})

    frame = frame.map_partitions(number_rows, meta={**frame.dtypes.to_dict(), _ROW: np.int64})
    whole_journeys = frame.shuffle(on=journey_col)
    meta = pd.DataFrame({name: pd.Series([], dtype=kind) for name, kind in _PATH_FRAME.items()})
    paths = whole_journeys.map_partitions(_paths_of_touches, journey_col, channel_col, time_col, conversion_col, value_col, meta=meta)
    table = paths.groupby("path").sum().compute()
    if table.empty:
        raise InvalidInputError("no touches given")
    table = table.sort_index()
    return parse_paths(table.index.to_numpy(dtype=object), table["conversions"], table["value"], table["nulls"])


def _journeys(data, path_col, conversion_col, value_col, null_col, separator) -> Journeys:
    if isinstance(data, Journeys):
        return data
    if not isinstance(data, pd.DataFrame):
        raise InvalidInputError("data must be a DataFrame or Journeys")
    missing = [c for c in (path_col, conversion_col, value_col, null_col) if c is not None and c not in data.columns]
    if missing:
        raise InvalidInputError(f"no column named {', '.join(map(repr, missing))}")

    def column(name):
        return None if name is None else data[name].to_numpy()

    return parse_paths(column(path_col), column(conversion_col), column(value_col), column(null_col), separator=separator)


# --------------------------------------------------------------------------
# Heuristic models: a weight per touch, summing to 1 on every path


def _touch_weights(j: Journeys, model: str, half_life: float) -> np.ndarray:
    n = j.lengths[j.path_of_touch].astype(float)
    i = j.position.astype(float)
    if model == "first":
        return (i == 0).astype(float)
    if model == "last":
        return (i == n - 1).astype(float)
    if model == "linear":
        return 1.0 / n
    if model == "position":
        ends = (i == 0) | (i == n - 1)
        middle = np.where(ends, 0.0, 0.2 / np.maximum(n - 2, 1))
        return np.select([n == 1, n == 2, ends], [1.0, 0.5, 0.4], middle)
    if model == "time_decay":
        with np.errstate(over="ignore", under="ignore"):
            raw = np.exp2(-(n - 1 - i) / half_life)
        return raw / np.bincount(j.path_of_touch, weights=raw, minlength=j.n_paths)[j.path_of_touch]
    raise AssertionError(model)


def _credit(j: Journeys, channel: np.ndarray, path: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per channel: sum of weight x the path's conversions (and values)."""
    m = len(j.channels)
    conversions = np.bincount(channel, weights=weight * j.conversions[path], minlength=m)
    values = np.bincount(channel, weights=weight * j.values[path], minlength=m)
    return conversions, values


def _shapley(j: Journeys) -> tuple[np.ndarray, np.ndarray]:
    # Each path's distinct channels: unique (path, channel) pairs.
    pairs = np.sort(j.path_of_touch * len(j.channels) + j.touches)
    pairs = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])]
    path, channel = np.divmod(pairs, len(j.channels))
    distinct = np.bincount(path, minlength=j.n_paths)
    return _credit(j, channel, path, 1.0 / distinct[path])


# --------------------------------------------------------------------------
# Markov chain


@dataclass(frozen=True)
class _Chain:
    """An absorbing chain: transient states 0..S-1, the start state S.

    ``counts`` has one row per transient state (start last) and columns for
    the transient states, then conversion, then null. ``members`` lists the
    channel codes of each state (one for order 1, up to ``order``).
    """

    counts: sp.csr_matrix
    members: np.ndarray  # shape (S, order), channel code or -1 for none
    conversion_value: np.ndarray  # value of conversions leaving each transient state

    @property
    def n_transient(self) -> int:
        return self.counts.shape[0]


def _chain(j: Journeys, order: int) -> _Chain:
    """Count the transitions of the chain of the given order along the paths."""
    import scipy.sparse as sp

    m = len(j.channels)
    if not (isinstance(order, (int, np.integer)) and 1 <= order <= 4):
        raise InvalidInputError("order must be 1, 2, 3 or 4")
    base = m + 1
    if base ** order >= 2**62:
        raise InvalidInputError("too many channels for a chain of this order")
    weight_of_path = j.conversions + j.nulls
    used = weight_of_path[j.path_of_touch] > 0
    n = j.lengths[j.path_of_touch]
    # A state is the last `order` touches (fewer on a shorter path); as in
    # ChannelAttribution, a path enters its first full-length state from start.
    key = np.zeros(len(j.touches), dtype=np.int64)
    for lag in range(order):
        earlier = j.position >= lag
        shifted = np.where(earlier, j.touches[np.maximum(np.arange(len(j.touches)) - lag, 0)] + 1, 0)
        key += shifted * base**lag
    is_state = used & (j.position >= np.minimum(order, n) - 1)
    if not is_state.any():
        raise ZeroDenominatorError("no journeys with conversions or nulls")
    state, state_keys = pd.factorize(key[is_state], sort=True)
    path = j.path_of_touch[is_state]
    n_states = len(state_keys)
    start, conversion, null = n_states, n_states + 1, n_states + 2
    first = np.concatenate([[True], path[1:] != path[:-1]])
    last = np.concatenate([path[1:] != path[:-1], [True]])
    within = ~first[1:]  # entry k -> k + 1 stays inside one path
    w = weight_of_path[path]
    exits, exit_paths = state[last], path[last]
    rows = np.concatenate([np.full(first.sum(), start), state[:-1][within], exits, exits])
    cols = np.concatenate([state[first], state[1:][within], np.full(len(exits), conversion), np.full(len(exits), null)])
    data = np.concatenate([w[first], w[1:][within], j.conversions[exit_paths], j.nulls[exit_paths]])
    counts = sp.csr_matrix((data, (rows, cols)), shape=(n_states + 1, n_states + 3))
    members = (state_keys[:, None] // base ** np.arange(order)) % base - 1
    # Value rides on conversions: a path's value counts only where it converted.
    value = np.bincount(exits, weights=np.where(j.conversions[exit_paths] > 0, j.values[exit_paths], 0.0), minlength=n_states + 1)
    return _Chain(counts, members, value)


def _krylov_solve(system: sp.csr_matrix, rhs: np.ndarray, guess: np.ndarray) -> np.ndarray:
    """Solve a large sparse chain to machine precision by BiCGSTAB (GMRES
    if it stalls); sparse LU fills in badly on these chains."""
    from scipy.sparse.linalg import bicgstab, gmres

    solution = np.empty_like(rhs)
    for k in range(rhs.shape[1]):
        for method in (bicgstab, gmres):
            solution[:, k], info = method(system, rhs[:, k], x0=guess[:, k], rtol=1e-13, atol=0.0, maxiter=20 * system.shape[0])
            if info == 0:
                break
        else:
            raise OutOfDomainError("the Markov chain could not be solved")
    return solution


def _conversion_probabilities(chain: _Chain, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Probability of conversion (and expected conversion value) from start,
    with every channel present (index 0) and with channel c removed (c + 1).

    Removing c sends every transition into the states A containing c to null,
    so A drops out of the linear system (I - Q) x = r. With the fundamental
    matrix N = (I - Q)^-1 of the whole chain, the reduced solution at start
    is x_s - N[s, A] N[A, A]^-1 x_A (block inversion; for a single state it
    is Kemeny and Snell's x_s - N[s, c] / N[c, c] x_c), so one dense
    inversion serves every channel. Chains with more states (many channels
    at a higher order) are solved once per channel by a sparse Krylov method
    started from the full chain's solution.
    """
    import scipy.sparse as sp

    counts = chain.counts
    total = np.asarray(counts.sum(axis=1)).ravel()
    if not np.isfinite(total).all():
        raise OutOfDomainError("counts too large to add up")
    to_state = sp.diags(1.0 / total) @ counts
    size = chain.n_transient
    start = size - 1
    q = to_state[:, :size]
    # Rewards per step: the chance to convert next, and the value that brings.
    rewards = np.column_stack([to_state[:, size].toarray().ravel(), chain.conversion_value / total])
    removed = [np.flatnonzero((chain.members == c).any(axis=1)) for c in range(m)]
    results = np.zeros((m + 1, 2))
    if size <= _DENSE_STATES and size**3 <= _KRYLOV_ITERATIONS * max(m, 1) * max(q.nnz, size):
        try:
            fundamental = np.linalg.inv(np.eye(size) - q.toarray())
            x = fundamental @ rewards
            results[:] = x[start]
            for c, states in enumerate(removed, start=1):
                if states.size:
                    results[c] -= fundamental[start, states] @ np.linalg.solve(fundamental[np.ix_(states, states)], x[states])
        except np.linalg.LinAlgError as exc:
            raise OutOfDomainError("the Markov chain could not be solved") from exc
    else:
        system = (sp.identity(size, format="csr") - q).tocsr()
        x = _krylov_solve(system, rewards, rewards)
        results[0] = x[start]
        for c, states in enumerate(removed, start=1):
            keep = np.ones(size, dtype=bool)
            keep[states] = False
            kept = np.flatnonzero(keep)  # the start state stays last
            results[c] = _krylov_solve(system[kept][:, kept], rewards[kept], x[kept])[-1]
    return results[:, 0], results[:, 1]


def _removal_effects(j: Journeys, order: int) -> tuple[np.ndarray, np.ndarray]:
    m = len(j.channels)
    probability, value = _conversion_probabilities(_chain(j, order), m)
    with np.errstate(divide="ignore", invalid="ignore"):
        effect = 1.0 - probability[1:] / probability[0]
        value_effect = 1.0 - value[1:] / value[0] if value[0] > 0 else np.zeros(m)
    return effect, value_effect


def _markov(j: Journeys, order: int) -> tuple[np.ndarray, np.ndarray]:
    effect, value_effect = _removal_effects(j, order)
    conversions = effect / effect.sum() * j.conversions.sum()
    total_value = j.values.sum()
    values = value_effect / value_effect.sum() * total_value if total_value > 0 else np.zeros_like(effect)
    return conversions, values


# --------------------------------------------------------------------------
# Public API


def _model_name(model: str) -> str:
    name = re.sub(r"[\s\-]+", "_", str(model).strip().lower())
    if name not in MODELS:
        raise InvalidInputError(f"unknown model {model!r}; use one of {', '.join(MODELS)}")
    return name


def attribute(
    data,
    model: str = "linear",
    *,
    path_col: str = "path",
    conversion_col: str = "conversions",
    value_col: str | None = None,
    null_col: str | None = None,
    half_life: float = 1.0,
    order: int = 1,
    separator: str = ">",
) -> pd.DataFrame:
    r"""Share conversions (and their value) among channels.

    The heuristic models give each touch ``i`` (0-based) of a path of ``n``
    touches a weight, and a channel receives the sum over its touches of
    weight x the path's conversions (values likewise):

    * ``first``, ``last``: weight 1 on touch 0, resp. touch n-1.
    * ``linear``: 1/n on every touch.
    * ``position`` (U-shaped): 1 for n = 1; 1/2, 1/2 for n = 2; otherwise 0.4
      on the first and last touch and 0.2/(n-2) on each middle touch.
    * ``time_decay``: :math:`2^{-(n-1-i)/h}` normalised to sum 1 per path,
      ``h`` = ``half_life`` in touches.
    * ``shapley``: the Shapley value of the game whose worth v(S) is the
      conversions of journeys whose channel set lies within S (Zhao et al.
      2018). Each journey's worth is a unanimity game on its channel set
      :math:`C_j`, whose Shapley value is :math:`1/|C_j|` to each member, so
      the value is computed in closed form,
      :math:`\phi_c = \sum_{j: c \in C_j} conv_j / |C_j|`: each journey's
      conversions split equally among its distinct channels, instead of a
      sum over 2^m coalitions.
    * ``markov``: a Markov chain with states start, the channels (the last
      ``order`` channels for higher orders), conversion and null; transitions
      counted along the paths, weighted by conversions + nulls. The removal
      effect :math:`RE_c = 1 - P(conv \mid c\ removed) / P(conv)`, where
      removing c sends every transition into c to null; credit_c =
      :math:`RE_c / \sum RE \times` total conversions. The absorbing chain is
      solved, :math:`(I - Q)x = r`, not simulated: exactly by one dense
      inversion, or to machine precision by a sparse Krylov solver (BiCGSTAB)
      when the states are many. Value: a conversion leaving state s is worth the
      mean value of the conversions observed leaving s; value removal
      effects come from the same chain with that reward.

    ChannelAttribution's ``markov_model`` estimates the same quantities by
    simulation and, by default, cuts simulated paths at the longest observed
    path; with a large ``max_step`` its estimates converge to these.

    Parameters
    ----------
    data : DataFrame or Journeys
        One row per path (see the module notes), or :class:`Journeys`.
    model : str, default "linear"
        One of :data:`MODELS` (case and ``-``/space for ``_`` are ignored).
    path_col, conversion_col, value_col, null_col : str
        Column names in ``data``; value and null columns are optional.
    half_life : float, default 1
        Half-life of ``time_decay`` in touches, > 0.
    order : int, default 1
        Order of the ``markov`` chain (1 to 4).
    separator : str, default ">"

    Returns
    -------
    DataFrame
        Columns ``channel``, ``conversions``, ``value`` (0 without values) and
        ``share`` (channel conversions / total conversions), one row per
        channel sorted by name. Conversions sum to the total conversions.

    Raises
    ------
    InvalidInputError
        Unknown model, bad paths or counts (see :func:`parse_paths`).
    OutOfDomainError
        ``half_life`` not positive.
    ZeroDenominatorError
        No conversions at all.

    References
    ----------
    Anderl, Becker, von Wangenheim and Schumann (2016), "Mapping the customer
    journey: lessons learned from graph-based online attribution modeling",
    International Journal of Research in Marketing 33(3), 457-474.
    Zhao, Mahboobi and Bagheri (2018), "Shapley value methods for attribution
    modeling in online advertising", arXiv:1804.05327.
    Kemeny and Snell (1960), *Finite Markov Chains*, ch. III (absorbing chains).

    Examples
    --------
    Two journeys: ``search > email`` converted twice, ``email`` once.

    >>> data = pd.DataFrame({"path": ["search > email", "email"], "conversions": [2, 1]})
    >>> attribute(data, "linear")
      channel  conversions  value     share
    0   email          2.0    0.0  0.666667
    1  search          1.0    0.0  0.333333
    >>> attribute(data, "first")["conversions"].tolist()
    [1.0, 2.0]
    """
    name = _model_name(model)
    if name == "time_decay" and not (np.isfinite(half_life) and half_life > 0):
        raise OutOfDomainError("half_life must be a positive number of touches")
    j = _journeys(data, path_col, conversion_col, value_col, null_col, separator)
    total = j.conversions.sum()
    if not np.isfinite(total) or not np.isfinite(j.values.sum()):
        raise OutOfDomainError("counts too large to add up")
    if total == 0:
        raise ZeroDenominatorError("no conversions to attribute")
    with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
        if name == "markov":
            conversions, values = _markov(j, order)
        elif name == "shapley":
            conversions, values = _shapley(j)
        else:
            conversions, values = _credit(j, j.touches, j.path_of_touch, _touch_weights(j, name, half_life))
    return pd.DataFrame({"channel": list(j.channels), "conversions": conversions, "value": values, "share": conversions / total})


def _state_names(j: Journeys, members: np.ndarray, separator: str) -> list[str]:
    names = np.asarray(j.channels + ("",), dtype=object)[members]
    return [separator.join(n for n in row[::-1] if n) for row in names]


def markov_transition_matrix(
    data,
    order: int = 1,
    *,
    path_col: str = "path",
    conversion_col: str = "conversions",
    null_col: str | None = None,
    separator: str = ">",
) -> pd.DataFrame:
    """Transition probabilities of the Markov attribution chain.

    A square DataFrame, rows = from, columns = to, over the states
    ``(start)``, the channel states (for order k, the last k channels joined
    by ``" > "``), ``(conversion)`` and ``(null)``; conversion and null are
    absorbing, so every row sums to 1. Counts are weighted by conversions +
    nulls, as in :func:`attribute`.

    Examples
    --------
    >>> data = pd.DataFrame({"path": ["a > b", "b > a", "a"],
    ...                      "conversions": [1, 1, 0], "nulls": [1, 0, 1]})
    >>> markov_transition_matrix(data, null_col="nulls").round(4)
                  (start)       a     b  (conversion)  (null)
    (start)           0.0  0.7500  0.25        0.0000  0.0000
    a                 0.0  0.0000  0.50        0.2500  0.2500
    b                 0.0  0.3333  0.00        0.3333  0.3333
    (conversion)      0.0  0.0000  0.00        1.0000  0.0000
    (null)            0.0  0.0000  0.00        0.0000  1.0000
    """
    import scipy.sparse as sp

    j = _journeys(data, path_col, conversion_col, None, null_col, separator)
    chain = _chain(j, order)
    total = np.asarray(chain.counts.sum(axis=1)).ravel()
    if not (total > 0).all():
        raise ZeroDenominatorError("no journeys with conversions or nulls")
    size = chain.n_transient
    probabilities = np.zeros((size + 2, size + 2))
    probabilities[:size] = (sp.diags(1.0 / total) @ chain.counts).toarray()
    probabilities[size, size] = probabilities[size + 1, size + 1] = 1.0
    # start first, then the channel states, then the absorbing states
    order_rows = np.r_[size - 1, np.arange(size - 1), size, size + 1]
    names = [START] + _state_names(j, chain.members, " > ") + [CONVERSION, NULL]
    return pd.DataFrame(probabilities[np.ix_(order_rows, order_rows)], index=names, columns=names)


def removal_effects(
    data,
    order: int = 1,
    *,
    path_col: str = "path",
    conversion_col: str = "conversions",
    value_col: str | None = None,
    null_col: str | None = None,
    separator: str = ">",
) -> pd.DataFrame:
    r"""Markov removal effects per channel, before normalisation.

    ``removal_effect`` is :math:`1 - P(conv \mid c\ removed) / P(conv)` and
    ``value_removal_effect`` the same for the expected conversion value (see
    :func:`attribute`); ChannelAttribution reports these as
    ``removal_effects_conversion`` and ``removal_effects_conversion_value``.

    Examples
    --------
    Removing ``b`` leaves only ``a > null``: every conversion is lost.

    >>> data = pd.DataFrame({"path": ["a > b", "a"], "conversions": [1, 0], "nulls": [0, 1]})
    >>> removal_effects(data, null_col="nulls")
      channel  removal_effect  value_removal_effect
    0       a             1.0                   0.0
    1       b             1.0                   0.0
    """
    j = _journeys(data, path_col, conversion_col, value_col, null_col, separator)
    if j.conversions.sum() == 0:
        raise ZeroDenominatorError("no conversions")
    with np.errstate(invalid="ignore", divide="ignore"):
        effect, value_effect = _removal_effects(j, order)
    return pd.DataFrame({"channel": list(j.channels), "removal_effect": effect, "value_removal_effect": value_effect})
