"""The readings loader: sensor readings from CSV or Parquet, appended by COPY in one transaction.

Readings arrive in files of millions of rows, so every check is vectorised per batch and the good
rows travel to a temporary table in COPY's binary format, built by numpy. A row is
refused, counted and written to the reject file when its sensor is unknown, its time is no time
(or lies in the future), its value is no number or outside what a working sensor of its kind can
report, or the same sensor already has a reading at that time (in this file or loaded before).
Nothing is half-loaded: the rows, their catalogue entry and the watermark they carry (the entry's
id) commit together, or not at all.

Times with a UTC offset (``2026-11-22T14:00:00+01:00``, ``...Z``) are taken as they are; times
without one are Slovenian local time, and a local time that does not exist or happens twice at a
daylight-saving change is refused rather than guessed.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Connection, TextClause, text
from tqdm import tqdm

from etl import pgcopy
from etl.load import PREVIEW_ROWS, Load, Loader, LoadOptions, LoadReport, Plan, Staged
from etl.mapping import FieldMap, describe, map_columns
from etl.rejects import write_table_rejects
from etl.validate import to_numbers
from layers.catalog import NEW_READINGS
from layers.errors import LoadError
from layers.sensor_kinds import open_sensor_kinds, sensor_kinds
from layers.spec import LayerSpec

LOCAL_ZONE = "Europe/Ljubljana"
HAS_OFFSET = r"(?:[Zz]|[+-]\d\d(?::?\d\d)?)$"
FUTURE_SLACK = pd.Timedelta(minutes=5)  # a sensor's clock may run a little ahead
BATCH_BYTES = 16 << 20
PARQUET_BATCH_ROWS = 100_000
SUFFIXES = (".csv", ".parquet")
SOURCE_CRS = "EPSG:3794 (mesta senzorjev · the sensors' places)"  # readings carry no coordinates
COLUMNS = ("sensor", "observed_at", "value")
EARLIEST = pd.Timestamp("2000-01-01", tz="UTC")  # before it, a sensor's clock was never set
# A staged reading in COPY's binary format (see etl.pgcopy). Every field has a fixed width, so
# one numpy record per row writes a batch in one pass: 4 times quicker than CSV here, and the
# server reads it 2 times quicker than CSV.
STAGED = {"row_no": ">i8", "t": ">i8", "sensor_id": ">i4", "value": ">f4"}
COPY_ROW = np.dtype(
    [("fields", ">i2")]
    + [field for name, kind in STAGED.items() for field in ((f"{name}_size", ">i4"), (name, kind))]
)


def plan_load(path: Path, spec: LayerSpec, options: LoadOptions) -> Plan:
    """Readings are always appended (``options.mode`` does not apply), and yet the file loaded
    last time, unchanged, is skipped: each of its readings would be refused as loaded already.
    """
    if path.suffix.lower() not in SUFFIXES or not path.is_file():
        raise LoadError(
            path,
            spec.id,
            "is not a CSV or Parquet file of readings",
            "ni datoteka meritev CSV ali Parquet",
            "export the readings as .csv or .parquet with columns sensor, observed_at, value",
            "izvozite meritve kot .csv ali .parquet s stolpci sensor, observed_at, value",
        )
    return Plan(skip_unchanged=True)


def stage_load(conn: Connection, load: Load) -> Staged:
    """Stage the file's good readings, less those a sensor already has; keep the refused ones."""
    spec, report = load.spec, load.report
    begin_staging(conn, spec)
    conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
    rejected: list[pd.DataFrame] = []
    may_repeat = stage(conn, load.path, spec, load.options, report, rejected)
    rejected.extend(drop_duplicates(conn, spec, report, may_repeat))
    return Staged(
        SOURCE_CRS,
        put=partial(append_staged, conn, spec),
        write_rejects=partial(write_table_rejects, rejected, report),
    )


def begin_staging(conn: Connection, spec: LayerSpec) -> None:
    """Take the readings' turn and make the transaction's staging table, ``etl_readings``."""
    # one writer of readings at a time (the duplicate check and the watermark need it);
    # readers are not blocked
    conn.exec_driver_sql(f"LOCK TABLE {spec.load_table} IN SHARE ROW EXCLUSIVE MODE")
    conn.exec_driver_sql(
        "CREATE TEMP TABLE etl_readings (row_no bigint, t bigint, sensor_id integer,"
        " value real) ON COMMIT DROP"
    )


def append_staged(conn: Connection, spec: LayerSpec, load_id: int) -> None:
    """Append the staged readings, then refresh the planner's statistics of the table."""
    insert_staged(conn, spec, load_id)
    conn.exec_driver_sql(f"ANALYZE {spec.load_table}")


def insert_staged(conn: Connection, spec: LayerSpec, load_id: int) -> None:
    """Append the staged readings in time order, each carrying its load's id (the watermark),
    and tell the dashboards' caches once the transaction commits.
    """
    conn.execute(
        text(
            f"INSERT INTO {spec.load_table} (observed_at, sensor_id, value, load_id)"  # noqa: S608
            " SELECT timestamptz 'epoch' + t * interval '1 microsecond', sensor_id,"
            " value, :load FROM etl_readings ORDER BY t"
        ),
        {"load": load_id},
    )
    roll_up_air_quality(conn, STAGED_HOURS)
    conn.execute(
        text("SELECT pg_notify(:channel, :layer)"), {"channel": NEW_READINGS, "layer": spec.id}
    )


# The hourly means of the air-quality sensors, computed again whole for the hours they cover
MEANS = (
    "INSERT INTO air_quality_hour (sensor_id, hour, kind, mean, readings)"
    " SELECT r.sensor_id, date_trunc('hour', r.observed_at, 'UTC'), s.kind, avg(r.value),"
    " count(*)"
    " FROM sensor_reading r JOIN sensor s ON s.id = r.sensor_id WHERE s.kind = ANY(:kinds)"
)
AGAIN = (
    " GROUP BY 1, 2, 3 ON CONFLICT (sensor_id, hour)"
    " DO UPDATE SET kind = EXCLUDED.kind, mean = EXCLUDED.mean, readings = EXCLUDED.readings"
)
STAGED_HOURS = text(  # the hours of the staged readings' sensors, from the staged earliest on
    MEANS  # noqa: S608 (constants)
    + " AND r.sensor_id IN (SELECT DISTINCT sensor_id FROM etl_readings)"
    " AND r.observed_at >= (SELECT date_trunc('hour',"
    " timestamptz 'epoch' + min(t) * interval '1 microsecond', 'UTC') FROM etl_readings)" + AGAIN
)
EVERY_HOUR = text(MEANS + AGAIN)


def air_quality_unrolled(conn: Connection) -> bool:
    """Whether air-quality readings are stored and none of their hourly means (the table is
    new to a database that had readings).
    """
    return conn.scalar(
        text(
            "SELECT NOT EXISTS (SELECT 1 FROM air_quality_hour) AND EXISTS (SELECT 1"
            " FROM sensor_reading r JOIN sensor s ON s.id = r.sensor_id WHERE s.kind = ANY(:k))"
        ),
        {"k": open_sensor_kinds()},
    )


def roll_up_air_quality(conn: Connection, hours: TextClause = EVERY_HOUR) -> None:
    """Compute again the air-quality sensors' hourly means: those ``hours`` covers (the staged
    readings', or every hour of every reading).
    """
    conn.execute(hours, {"kinds": open_sensor_kinds()})


def stage(
    conn: Connection,
    path: Path,
    spec: LayerSpec,
    options: LoadOptions,
    report: LoadReport,
    rejected: list[pd.DataFrame],
) -> bool:
    """Check every batch and COPY its good rows into ``etl_readings``; keep the refused ones.

    Returns whether two staged rows may have the same sensor and time (see ``may_repeat``).
    """
    sensors = known_sensors(conn)
    now = pd.Timestamp.now(tz="UTC")
    cursor = conn.connection.driver_connection.cursor()
    keys: list[np.ndarray] = []
    with (
        cursor.copy(
            "COPY etl_readings FROM STDIN WITH (FORMAT binary)",
            writer=QueuedLibpqWriter(cursor),  # the server reads one batch while we check the next
        ) as copy,
        tqdm(unit=" rows", desc=spec.id, disable=not options.progress, mininterval=0.5) as bar,
    ):
        copy.write(pgcopy.HEADER)
        for batch in source_batches(path, spec, options.fields, report):
            good, refused = check_batch(batch, sensors, now)
            if report.preview is None and len(good):
                shown = batch[batch["row"].isin(good["row_no"].head(PREVIEW_ROWS))]
                report.preview = shown[["sensor", "observed_at", "value"]].reset_index(drop=True)
            copy.write(copy_rows(good))
            keys.append(pair_hashes(good))
            report.loaded += len(good)
            if len(refused):
                report.rejected += len(refused)
                report.reasons.update(refused["reject_reason"].tolist())
                rejected.append(refused)
            bar.update(len(batch))
        copy.write(pgcopy.TRAILER)
    return may_repeat(keys)


def pair_hashes(good: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash of each row's (sensor, time)."""
    return pd.util.hash_pandas_object(good[["sensor_id", "t"]], index=False).to_numpy()


def may_repeat(keys: list[np.ndarray]) -> bool:
    """Whether two rows may share sensor and time: only if two hashes are equal. So when none
    are (nearly always), the exact search in the database, a second of work per million rows,
    is skipped. 8 bytes a row are held for it, and taken from ``keys``.
    """
    hashes = np.concatenate(keys) if keys else np.zeros(0, np.uint64)
    keys.clear()  # each batch's hashes are in ``hashes`` now
    hashes.sort()  # in place: a sorted copy would double the memory held
    return bool((hashes[1:] == hashes[:-1]).any())


def known_sensors(conn: Connection) -> pd.DataFrame:
    """Every sensor by code: its number, when it was installed (midnight, local time; NaT when
    unknown) and the range of values its kind can report.
    """
    frame = pd.read_sql(
        text("SELECT code, id, kind, installed FROM sensor"), conn, index_col="code"
    )
    frame["installed"] = pd.to_datetime(frame["installed"]).dt.tz_localize(LOCAL_ZONE)
    kinds = sensor_kinds()
    frame["low"] = [kinds[k].valid[0] if k in kinds else -np.inf for k in frame["kind"]]
    frame["high"] = [kinds[k].valid[1] if k in kinds else np.inf for k in frame["kind"]]
    return frame


def source_batches(
    path: Path, spec: LayerSpec, fields: FieldMap, report: LoadReport
) -> Iterator[pd.DataFrame]:
    """The file in batches with columns ``row``, sensor, observed_at, value.

    Columns are found by their names or as ``fields`` says (``--map``, ``--set``); the report
    says which were taken.

    ``row`` is the line in a CSV file (the header is line 1), the 1-based row in Parquet. A CSV
    line that cannot be split into the header's fields comes as a row with ``broken`` text.
    """
    if path.suffix.lower() == ".parquet":
        parquet = pq.ParquetFile(path)
        mapping = map_columns(parquet.schema_arrow.names, spec, path, fields)
        report.mapping = describe(mapping, fields)
        first = 1
        for batch in parquet.iter_batches(PARQUET_BATCH_ROWS, columns=list(mapping.values())):
            rows = np.arange(first, first + batch.num_rows)
            yield _named(batch.to_pandas(), mapping, rows, fields)
            first += batch.num_rows
        return
    with path.open("rb") as head:
        header = head.readline().decode("utf-8-sig", errors="replace")
    delimiter = ";" if header.count(";") > header.count(",") else ","  # Slovenian Excel writes ;
    names = [n.strip().strip('"') for n in header.strip().split(delimiter)]
    mapping = map_columns(names, spec, path, fields)
    report.mapping = describe(mapping, fields)
    broken: list[tuple[int, str]] = []

    def keep_broken(row: pacsv.InvalidRow) -> str:
        broken.append((row.number, row.text))
        return "skip"

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=BATCH_BYTES, use_threads=False),  # line numbers
        parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=keep_broken),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            include_columns=list(mapping.values()),
        ),
    )
    line = 2
    for batch in reader:
        # the lines of this batch's rows: the next ones, less those found broken meanwhile
        skipped = np.array([n for n, _ in broken], dtype=np.int64)
        lines = np.arange(line, line + batch.num_rows + len(skipped))
        lines = lines[~np.isin(lines, skipped)][: batch.num_rows]
        line = int(lines[-1]) + 1 if len(lines) else line + len(skipped)
        yield _named(batch.to_pandas(), mapping, lines, fields)
        if broken:
            yield pd.DataFrame({"row": [n for n, _ in broken], "broken": [t for _, t in broken]})
            broken.clear()


def _named(
    frame: pd.DataFrame, mapping: dict[str, str], rows: np.ndarray, fields: FieldMap
) -> pd.DataFrame:
    frame = frame.rename(columns={source: target for target, source in mapping.items()})
    frame = frame.assign(**fields.constants)
    frame.insert(0, "row", rows)
    return frame


def check_batch(
    batch: pd.DataFrame, sensors: pd.DataFrame, now: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The batch's good rows for COPY (row_no, t in µs, sensor_id, value) and its refused rows.

    Each refused row keeps its source values and the first reason it fails for.
    """
    if "broken" in batch:
        refused = batch.rename(columns={"broken": "sensor"})
        refused["reject_reason"] = "broken row: not the header's fields"
        return _good_rows(batch.iloc[:0], None, None, None), refused
    found = sensors_of(batch["sensor"], sensors)
    times = parse_times(batch["observed_at"])
    values = to_numbers(batch["value"]).astype("float64")
    reason = np.select(
        [
            found["id"].isna().to_numpy(),
            times.isna().to_numpy(),
            ~np.isfinite(values.to_numpy()),
            (times > now + FUTURE_SLACK).to_numpy(),
            (times < EARLIEST).to_numpy(),
            _utc(times) < _utc(found["installed"]),  # NaT compares False
            ~values.between(found["low"].to_numpy(), found["high"].to_numpy()).to_numpy(),
        ],
        [
            "unknown sensor",
            "bad timestamp",
            "not a number",
            "in the future",
            "before 2000: the sensor's clock was not set",
            "before the sensor was installed",
            "outside what the sensor's kind can measure",
        ],
        default="",
    )
    ok = reason == ""
    refused = batch.loc[~ok, ["row", "sensor", "observed_at", "value"]].astype(
        {"sensor": "string", "observed_at": "string", "value": "string"}
    )
    refused["reject_reason"] = reason[~ok]
    good = _good_rows(batch["row"][ok], times[ok], found["id"].to_numpy()[ok], values[ok])
    return good, refused


def _utc(times: pd.Series) -> np.ndarray:
    return times.dt.tz_convert(None).to_numpy()


def sensors_of(codes: pd.Series, sensors: pd.DataFrame) -> pd.DataFrame:
    """Each row's sensor (its number and range; NaN when unknown), each code looked up once."""
    labels, uniques = pd.factorize(codes)
    table = sensors.reindex([str(code).strip() for code in uniques] + [None])
    return table.iloc[np.where(labels < 0, len(uniques), labels)]


def _good_rows(
    rows: pd.Series | pd.DataFrame,
    times: pd.Series | None,
    ids: np.ndarray | None,
    values: pd.Series | None,
) -> pd.DataFrame:
    if times is None:
        return pd.DataFrame({"row_no": [], "t": [], "sensor_id": [], "value": []})
    micros = times.dt.tz_convert(None).to_numpy().astype("datetime64[us]").astype(np.int64)
    return pd.DataFrame(
        {
            "row_no": rows.to_numpy(np.int64),
            "t": micros,
            "sensor_id": ids.astype(np.int32),
            "value": values.to_numpy(np.float32),
        }
    )


def parse_times(values: pd.Series) -> pd.Series:
    """Times in UTC; NaT for what is no time or a local time that is missing or doubled."""
    if pd.api.types.is_datetime64_any_dtype(values):
        if values.dt.tz is None:
            values = values.dt.tz_localize(LOCAL_ZONE, ambiguous="NaT", nonexistent="NaT")
        return values.dt.tz_convert("UTC")
    text_values = values.astype("string").str.strip()
    with_offset = text_values.str.contains(HAS_OFFSET, regex=True).fillna(False).to_numpy(bool)
    times = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    if with_offset.any():
        times[with_offset] = pd.to_datetime(
            text_values[with_offset], format="ISO8601", utc=True, errors="coerce"
        )
    if (~with_offset).any():
        local = pd.to_datetime(text_values[~with_offset], format="ISO8601", errors="coerce")
        times[~with_offset] = local.dt.tz_localize(
            LOCAL_ZONE, ambiguous="NaT", nonexistent="NaT"
        ).dt.tz_convert("UTC")
    return times


def copy_rows(good: pd.DataFrame) -> bytes:
    """The rows in COPY's binary format (without header and trailer)."""
    rows = np.empty(len(good), COPY_ROW)
    rows["fields"] = len(STAGED)
    for name in STAGED:
        rows[f"{name}_size"] = COPY_ROW[name].itemsize
        rows[name] = good[name].to_numpy()
    return rows.tobytes()


def drop_duplicates(
    conn: Connection,
    spec: LayerSpec,
    report: LoadReport,
    may_repeat: bool,
    repeated: str = "duplicate: the file has this sensor and time already",
) -> list[pd.DataFrame]:
    """Remove staged readings a sensor already has at that time: later rows of what is staged
    (looked for when ``may_repeat``; refused as ``repeated``), and rows loaded before. Returns
    them as refused rows.
    """
    within = _repeats_in_file(conn) if may_repeat else []
    before = conn.execute(
        text(
            f"DELETE FROM etl_readings s USING {spec.load_table} r"  # noqa: S608
            " WHERE r.sensor_id = s.sensor_id"
            " AND r.observed_at = timestamptz 'epoch' + s.t * interval '1 microsecond'"
            " AND r.observed_at BETWEEN"
            " (SELECT timestamptz 'epoch' + min(t) * interval '1 microsecond' FROM etl_readings)"
            " AND (SELECT timestamptz 'epoch' + max(t) * interval '1 microsecond' FROM etl_readings)"
            " RETURNING s.row_no, s.sensor_id, s.t, s.value"
        )
    ).all()
    refused = [
        _as_refused(conn, rows, reason)
        for rows, reason in (
            (within, repeated),
            (before, "duplicate: already loaded"),
        )
        if rows
    ]
    for frame in refused:
        report.loaded -= len(frame)
        report.rejected += len(frame)
        report.reasons.update(frame["reject_reason"].tolist())
    return refused


def _repeats_in_file(conn: Connection) -> list:
    return conn.execute(
        text(
            "DELETE FROM etl_readings s USING ("
            " SELECT row_no FROM (SELECT row_no, row_number() OVER"
            " (PARTITION BY sensor_id, t ORDER BY row_no) AS n FROM etl_readings) ranked"
            " WHERE n > 1) d WHERE s.row_no = d.row_no"
            " RETURNING s.row_no, s.sensor_id, s.t, s.value"
        )
    ).all()


def _as_refused(conn: Connection, rows: list, reason: str) -> pd.DataFrame:
    codes = dict(conn.execute(text("SELECT id, code FROM sensor")).all())
    frame = pd.DataFrame(rows, columns=["row", "sensor_id", "t", "value"])
    return pd.DataFrame(
        {
            "row": frame["row"],
            "sensor": frame["sensor_id"].map(codes),
            "observed_at": pd.to_datetime(frame["t"], unit="us", utc=True).astype("string"),
            "value": frame["value"].astype("string"),
            "reject_reason": reason,
        }
    )


LOADER = Loader(plan=plan_load, stage=stage_load, rows=("readings", "meritve"))
