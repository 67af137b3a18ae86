"""The staging table and the swap: every row goes through a temporary table into the layer.

Everything happens in the caller's transaction, so a refused row, a database error or the process
being killed mid-way roll it all back, and readers see the old rows until the commit.

A thread of its own feeds the staging table through COPY, so the database takes one batch while
the next is read and checked. A bulk load (``BULK_ROWS`` or more) also moves the staged rows into
the layer every ``BULK_ROWS`` rows while the rest of the file is still being checked: the
database's part of the swap then runs beside the checking instead of after it.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Connection, text

from etl import pgcopy
from etl.ewkb import to_ewkb
from etl.validate import Prepared
from layers.db import quoted
from layers.spec import LayerSpec

if TYPE_CHECKING:
    from types import TracebackType

BULK_ROWS = 100_000  # from here on, building the indexes anew beats maintaining them
NEVER = float("inf")
END, ABORT = object(), object()  # what the checking side sends when the file is done or failed
ARROW_TYPES = {  # how each field type travels to the staging table (integers as bigint)
    "text": pa.string(),
    "integer": pa.int64(),
    "real": pa.float64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", "UTC"),
}


@dataclass
class Rows:
    """A batch of checked rows in COPY's binary format."""

    data: bytes
    count: int


def copy_rows(spec: LayerSpec, prepared: Prepared) -> Rows:
    """The prepared rows for COPY, a missing field as NULL, geometry last as the layer's EWKB."""
    count = len(prepared.rows)
    columns = [
        pa.array(prepared.rows[f.name], ARROW_TYPES[f.type], from_pandas=True)
        if f.name in prepared.rows
        else pa.nulls(count, ARROW_TYPES[f.type])
        for f in spec.loaded_fields
    ]
    columns.append(to_ewkb(prepared.wkb, prepared.geometry, spec.geometry, spec.srid))
    return Rows(pgcopy.rows(columns), count)


class Stage:
    """The load's staging table, filled by a thread; use as a context manager around the stream.

    ``write`` hands over batches; ``swap_in`` then puts the staged rows in place of (or beside)
    the layer's. A dry run stages everything and moves nothing.
    """

    def __init__(self, conn: Connection, spec: LayerSpec, *, mode: str, dry_run: bool) -> None:
        self.conn, self.spec, self.mode = conn, spec, mode
        self.table = quoted(spec.load_table)  # names from the registry, quoted
        self.names = [quoted(f.name) for f in spec.loaded_fields] + [quoted(spec.geometry_column)]
        # The geometry has the layer's type and SRID, so rows move into the layer as they are.
        types = [pgcopy.sql_type(ARROW_TYPES[f.type]) for f in spec.loaded_fields]
        types.append(f"geometry({spec.geometry}, {int(spec.srid)})")
        columns = ", ".join(f"{n} {t}" for n, t in zip(self.names, types, strict=True))
        conn.exec_driver_sql(f"CREATE TEMP TABLE etl_stage ({columns}) ON COMMIT DROP")
        self.move_every = NEVER if dry_run else BULK_ROWS
        self.bulk_indexes: list[tuple[str, str]] | None = None  # set once bulk moving began
        self.staged = 0  # rows in the staging table now
        self._batches: queue.Queue = queue.Queue(maxsize=2)  # a bound on the memory in flight
        self._error: BaseException | None = None
        self._stopped = False  # END or ABORT taken from the queue
        self._thread = threading.Thread(target=self._fill, name="etl-stage", daemon=True)

    def __enter__(self) -> Stage:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._batches.put(END if error is None else ABORT)
        self._thread.join()
        if self._error is not None and error is None:
            raise self._error

    def write(self, rows: Rows) -> None:
        """Hand ``rows`` to the staging thread, waiting while two batches are queued.

        Once the thread has failed, its error is raised here instead.
        """
        if self._error is not None:
            raise self._error
        self._batches.put(rows)

    def _fill(self) -> None:
        """COPY what arrives into the staging table; in bulk, move it into the layer as it grows."""
        try:
            while self._copy_some():
                self._move_staged()
        except BaseException as exc:  # handed to the checking side, which raises it
            self._error = exc
            while not self._stopped:  # taken to the end, so the checking side never blocks
                self._stopped = self._batches.get() in (END, ABORT)

    def _copy_some(self) -> bool:
        """COPY batches until ``move_every`` rows are staged (True) or the file ends (False)."""
        cursor = self.conn.connection.driver_connection.cursor()
        with cursor.copy(
            f"COPY etl_stage ({', '.join(self.names)}) FROM STDIN WITH (FORMAT binary)",
            writer=QueuedLibpqWriter(cursor),  # the server reads one batch while we send the next
        ) as copy:
            copy.write(pgcopy.HEADER)
            while self.staged < self.move_every:
                rows = self._batches.get()
                self._stopped = rows in (END, ABORT)
                if rows is ABORT:
                    raise RuntimeError("the load failed while staging")
                if rows is END:
                    copy.write(pgcopy.TRAILER)
                    return False
                copy.write(rows.data)
                self.staged += rows.count
            copy.write(pgcopy.TRAILER)
        return True

    def _move_staged(self) -> None:
        """Move the staged rows into the layer; the first move of a bulk load clears the way.

        A bulk load drops the layer's indexes, its primary key's too, and builds them again at
        the end, several times faster than maintaining them row by row; as that locks the table
        anyway, a replace TRUNCATEs, which with ``wal_level = minimal`` also spares writing the
        rows to the WAL. Readers then wait for the commit, and see the old layer or the new.
        """
        if self.bulk_indexes is None:
            if self.mode == "replace":
                self.conn.exec_driver_sql(f"TRUNCATE {self.table}")
            self.bulk_indexes = rebuildable_indexes(self.conn, self.spec)
            for drop, _ in self.bulk_indexes:
                self.conn.exec_driver_sql(drop)
        self._insert_staged()
        self.conn.exec_driver_sql("TRUNCATE etl_stage")
        self.staged = 0

    def _insert_staged(self) -> None:
        columns = ", ".join(self.names)
        self.conn.exec_driver_sql(
            f"INSERT INTO {self.table} ({columns}) SELECT {columns} FROM etl_stage"  # noqa: S608
        )

    def swap_in(self) -> None:
        """Put the staged rows in place of (or beside) the layer's, in the caller's transaction.

        A load of ordinary size DELETEs: readers keep seeing the old rows until commit instead
        of waiting on an exclusive lock. A bulk load inserts what is left and builds the indexes.
        """
        if self.bulk_indexes is None and self.mode == "replace":
            self.conn.exec_driver_sql(f"DELETE FROM {self.table}")  # noqa: S608
        self._insert_staged()
        for _, create in self.bulk_indexes or []:
            self.conn.exec_driver_sql(create)
        self.conn.exec_driver_sql(f"ANALYZE {self.table}")


def rebuildable_indexes(conn: Connection, spec: LayerSpec) -> list[tuple[str, str]]:
    """How to drop and how to build again each index of the layer's table, primary key included.

    An index another table's foreign key relies on is left in place: it cannot be dropped.
    """
    return conn.execute(
        text(
            "SELECT format('DROP INDEX %I', i.relname), pg_get_indexdef(i.oid)"
            " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " WHERE x.indrelid = CAST(:table AS regclass)"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)"
            " UNION ALL"
            " SELECT format('ALTER TABLE %I DROP CONSTRAINT %I', :table, c.conname),"
            " format('ALTER TABLE %I ADD CONSTRAINT %I %s', :table, c.conname,"
            " pg_get_constraintdef(c.oid))"
            " FROM pg_constraint c WHERE c.conrelid = CAST(:table AS regclass)"
            " AND c.contype IN ('p', 'u') AND NOT EXISTS (SELECT 1 FROM pg_constraint f"
            " WHERE f.contype = 'f' AND f.conindid = c.conindid)"
        ),
        {"table": spec.load_table},
    ).all()
