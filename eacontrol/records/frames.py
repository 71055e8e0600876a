"""Session records as pandas DataFrames: one table for one or many sessions.

pandas is the optional extra ``data`` (``pip install "eacontrol[data]"``) and is imported only
when a DataFrame is asked for, never by ``import eacontrol.records``. The columns are those of
the CSV exports (:data:`~eacontrol.records.export.COLUMNS`, each row converted by
:func:`~eacontrol.records.export.table_rows`), at full precision, with a dtype per column kind
(:data:`~eacontrol.records.export.COLUMN_KINDS`): a value that can be unknown is a nullable
dtype and unknown is ``pd.NA`` (``NaT`` for a time), never 0.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from eacontrol.errors import MissingExtra
from eacontrol.records.export import COLUMN_KINDS, COLUMNS, check_table, table_rows
from eacontrol.records.store import RecordStore

__all__ = ["DTYPES", "dataset_session_ids", "optional_module", "to_pandas"]

DTYPES = {
    "int": "int64",
    "int?": "Int64",
    "float": "float64",
    "float?": "Float64",
    "bool": "bool",
    "text": "string",
    "text?": "string",
    "json": "string",
    "time": "datetime64[us, UTC]",
    "time?": "datetime64[us, UTC]",
}
"""The pandas dtype of each column kind: numpy's where a value is always known, pandas'
nullable ones (``Int64``, ``Float64``, ``string``) where it can be unknown; times in UTC with
the microseconds the store keeps."""


def optional_module(module: str, needed_for: str) -> Any:
    """Import a module of the extra ``data`` (pandas, pyarrow).

    Raises:
        MissingExtra: it is not installed (the message names ``pip install "eacontrol[data]"``).
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingExtra(module.partition(".")[0], "data", needed_for) from err


def dataset_session_ids(store: RecordStore, session_ids: Iterable[int] | None) -> list[int]:
    """The sessions to export: ``session_ids`` in the order given (each once), else every
    session in the store by id.

    Raises:
        UnknownSession: an id names no session (checked before anything is written).
    """
    if session_ids is None:
        return sorted(s.id for s in store.sessions())
    chosen = list(dict.fromkeys(session_ids))
    for session_id in chosen:
        store.session(session_id)
    return chosen


def to_pandas(
    store: RecordStore, session_ids: Iterable[int] | None = None, table: str = "samples"
) -> Any:
    """One table of one or many sessions as a pandas DataFrame.

    Args:
        store: the session records.
        session_ids: the sessions, in this order; None: every session in the store by id
            (simulated ones included: leave them out with ``store.sessions(simulated=False)``).
        table: ``samples``, ``events``, ``totals`` or ``sessions`` (one row per session).

    Returns:
        A ``pandas.DataFrame`` with the columns of :data:`~eacontrol.records.export.COLUMNS`
        (``session_id`` first) and the dtypes of :data:`DTYPES`; rows in each session's
        order (samples by time then channel, events as recorded, totals by channel then step).

    Raises:
        MissingExtra: pandas is not installed.
        ParameterError: an unknown table.
        UnknownSession: an id names no session.
    """
    check_table(table)
    pd = optional_module("pandas", "a DataFrame of the session records")
    chosen = dataset_session_ids(store, session_ids)
    found = [row for sid in chosen for row in table_rows(store, table, sid)]
    kinds = COLUMN_KINDS[table]
    data = {
        column: pd.array([row[i] for row in found], dtype=DTYPES[kinds[column]])
        for i, column in enumerate(COLUMNS[table])
    }
    return pd.DataFrame(data, columns=list(COLUMNS[table]))
