"""Many sessions at once: the sessions, samples, events and totals tables as CSV or Parquet.

``export_dataset(store, out_dir)`` writes one file per table (:data:`~eacontrol.records.export.
TABLES`) into a folder, each holding every chosen session's rows with its ``session_id``: the
columns of the one-session CSV exports, at full precision. CSV needs nothing beyond eacontrol;
Parquet (Apache Parquet, through pyarrow) is the optional extra ``data`` and keeps each
column's type, nulls included (:data:`~eacontrol.records.frames.DTYPES`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from eacontrol.errors import Layer, ParameterError
from eacontrol.records.export import TABLES, table_rows, write_csv
from eacontrol.records.frames import dataset_session_ids, optional_module, to_pandas
from eacontrol.records.store import RecordStore

__all__ = ["DATASET_FORMATS", "export_dataset"]

DATASET_FORMATS = ("csv", "parquet")
"""The formats :func:`export_dataset` writes."""


def export_dataset(
    store: RecordStore,
    out_dir: str | Path,
    session_ids: Iterable[int] | None = None,
    format: str = "csv",
) -> dict[str, Path]:
    """Write the sessions, samples, events and totals of many sessions into ``out_dir``.

    Args:
        store: the session records.
        out_dir: the folder (created if missing); ``sessions.csv``, ``samples.csv``,
            ``events.csv`` and ``totals.csv`` (or ``.parquet``) in it are replaced.
        session_ids: the sessions, in this order; None: every session in the store by id.
        format: ``csv`` or ``parquet``.

    Returns:
        Each table's file, by table name.

    Raises:
        ParameterError: an unknown format.
        MissingExtra: Parquet without pandas and pyarrow (``pip install "eacontrol[data]"``).
        UnknownSession: an id names no session (nothing is written).
        OSError: the folder or a file cannot be written (a full disk, no permission).
    """
    if format not in DATASET_FORMATS:
        allowed = " or ".join(DATASET_FORMATS)
        raise ParameterError("format", format, allowed, layer=Layer.SCHEMA)
    if format == "parquet":
        optional_module("pandas", "a Parquet export")
        optional_module("pyarrow.parquet", "a Parquet export")
    chosen = dataset_session_ids(store, session_ids)
    folder = Path(out_dir)
    paths = {table: folder / f"{table}.{format}" for table in TABLES}
    folder.mkdir(parents=True, exist_ok=True)
    for table, path in paths.items():
        if format == "csv":
            with path.open("w", encoding="utf-8", newline="") as out:
                write_csv(out, table, (r for sid in chosen for r in table_rows(store, table, sid)))
        else:
            to_pandas(store, chosen, table).to_parquet(path, engine="pyarrow", index=False)
    return paths
