"""The ETL command line: ``python -m etl {migrate,load,load-profile,export-readings,listen,catalog}``.

Errors a user can act on are printed in English and Slovenian and exit with status 2;
the database is left as it was.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow
from sqlalchemy.exc import OperationalError

from data.profiles import load_profile
from etl.broker import Broker
from etl.listen import Ingest, topic_pattern
from etl.load import DEFAULT_REJECTS_DIR, MODES, LoadOptions, LoadReport, load_file
from etl.mapping import FieldMap, read_mapping_file
from etl.schema import migrate
from layers.catalog import catalog_dcat, read_catalog
from layers.db import database_urls, get_engine
from layers.errors import GisError
from layers.indicators import record_snapshots
from layers.open_data import write_downloads
from layers.registry import LAYERS
from layers.settings import read_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from layers.spec import LayerSpec


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m etl", description="Load municipal data into PostGIS."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply the pending schema migrations")

    load = commands.add_parser("load", help="load one file into one layer")
    load.add_argument(
        "path",
        type=Path,
        help="shapefile, GeoPackage, GeoJSON, CSV, Parquet, or a flood-depth GeoTIFF",
    )
    load.add_argument("--layer", required=True, help=f"target layer: {', '.join(LAYERS)}")
    load.add_argument(
        "--crs", help="CRS of the file when it has none or a wrong one, e.g. EPSG:3912"
    )
    load.add_argument("--encoding", help="attribute encoding (shapefiles without .cpg: cp1250)")
    load.add_argument(
        "--source-layer",
        help="layer inside a multi-layer file (GeoPackage), or file inside a zip of several",
    )
    load.add_argument(
        "--map",
        action="append",
        type=_pair("--map", "location_name=NAZIV"),
        default=[],
        metavar="FIELD=COLUMN",
        help="read the layer's FIELD from the file's COLUMN (repeatable)",
    )
    load.add_argument(
        "--set",
        action="append",
        type=_pair("--set", "status=aktivna"),
        default=[],
        metavar="FIELD=VALUE",
        help="give FIELD the one VALUE in every row (repeatable)",
    )
    load.add_argument(
        "--map-file",
        type=Path,
        help='a TOML file of [map] FIELD = "COLUMN" and [set] FIELD = "VALUE" (the'
        " command line's --map and --set win)",
    )
    load.add_argument("--where", help='attribute filter, e.g. "OB_ID = 96"')
    load.add_argument("--mode", choices=MODES, default="replace")
    load.add_argument(
        "--scenario", help="flood scenario of a depth GeoTIFF: Q and the return period, e.g. Q100"
    )
    load.add_argument(
        "--force", action="store_true", help="load even if this file was the last load"
    )
    load.add_argument(
        "--dry-run", action="store_true", help="check the file and report; change nothing"
    )
    load.add_argument("--licence")
    load.add_argument("--provider")
    load.add_argument("--synthetic", action="store_true", help="mark the data as synthetic")
    load.add_argument(
        "--rejects-dir",
        type=Path,
        default=DEFAULT_REJECTS_DIR,
        help="where rejected rows are written with their reasons (default: %(default)s)",
    )

    profile = commands.add_parser("load-profile", help="load a municipality's real and sample data")
    profile.add_argument("profile", nargs="?", default=read_settings().profile)
    profile.add_argument(
        "--missing",
        action="store_true",
        help="only the layers and flood scenarios never loaded (what `make run` does)",
    )

    export = commands.add_parser(
        "export-readings",
        help="archive every sensor reading as Parquet, with each sensor's day summed, for the map"
        " to aggregate on a Dask cluster (GIS_READINGS_ARCHIVE)",
    )
    export.add_argument("folder", type=Path)
    export.add_argument(
        "--layer",
        default=next(s.id for s in LAYERS.values() if s.dense),
        choices=[s.id for s in LAYERS.values() if s.dense],
        help="the dense layer whose readings to write",
    )

    listen = commands.add_parser(
        "listen", help="store the sensors' readings as they arrive over MQTT (GIS_MQTT_URL)"
    )
    listen.add_argument(
        "--layer",
        default=next(s.id for s in LAYERS.values() if s.dense),
        choices=[s.id for s in LAYERS.values() if s.dense],
        help="the dense layer whose readings arrive",
    )
    listen.add_argument(
        "--root",
        default=read_settings().profile,
        help="the topics' first level: <root>/sensors/<code>/readings (default: the profile)",
    )

    commands.add_parser(
        "open-data", help="write the open layers' downloads again (a load does it by itself)"
    )
    catalog = commands.add_parser("catalog", help="list every load, newest first")
    catalog.add_argument(
        "--json",
        action="store_true",
        help="the newest load of each layer, DCAT-AP-like, for the open-data portal",
    )
    return parser


def _pair(option: str, example: str) -> Callable[[str], tuple[str, str]]:
    """The parser of an option's ``NAME=VALUE`` argument."""

    def parse(argument: str) -> tuple[str, str]:
        name, equals, value = argument.partition("=")
        if not (name.strip() and equals):
            raise argparse.ArgumentTypeError(
                f"{option} takes FIELD=VALUE, e.g. {option} {example} / {option} zahteva"
                " POLJE=VREDNOST"
            )
        return name.strip(), value.strip()

    return parse


def field_map(args: argparse.Namespace) -> FieldMap:
    """The field map of a load command: its mapping file, with --map and --set over it."""
    given = FieldMap(dict(args.map), dict(args.set))
    return read_mapping_file(args.map_file, args.layer).merged(given) if args.map_file else given


def _print_report(report: LoadReport) -> None:
    if report.skipped:
        print(
            f"{report.layer}: {report.path.name} unchanged since its last load, skipped "
            "(--force loads it again) / nespremenjeno, preskočeno"
        )
        return
    verb = "would load" if report.dry_run else "loaded"
    print(
        f"{report.layer}: {report.loaded} {verb}, {report.rejected} rejected, "
        f"{report.repaired} repaired from {report.path.name}"
        + (
            " (dry run: the database was not changed / preizkus: baza ni spremenjena)"
            if report.dry_run
            else ""
        )
    )
    for note in report.notes:
        print(f"  {note}")
    if report.dry_run and report.mapping:
        print("  fields / polja:")
        for line in report.mapping:
            print(f"    {line}")
    if report.dry_run and report.preview is not None and len(report.preview):
        print("  the first rows as they would load / prve vrstice:")
        print(textwrap.indent(report.preview.to_string(), "    "))
    if report.flattened:
        print(f"  note: Z/M values dropped from {report.flattened} features (the layer is 2-D)")
    for reason, count in report.reasons.most_common():
        print(f"  rejected for {reason}: {count}")
    if report.rejects_file:
        print(f"  rejected rows with their reasons: {report.rejects_file}")


def record_indicators(engine: Engine, reports: list[LoadReport]) -> None:
    """After a command that changed data, the wall's indicator values as of it (for the trend).

    Once per command, not per file: it takes about 0.4 s, and a profile loads a dozen files.
    """
    if any(not (r.skipped or r.dry_run) for r in reports):
        record_snapshots(engine)


def run(args: argparse.Namespace) -> None:
    """The command ``args`` names, run as the writer once the pending migrations are applied.

    Every command applies them first, ``catalog`` included.
    """
    urls = database_urls()
    engine = get_engine(urls.writer, "etl")
    applied = migrate(engine, urls.reader)
    if args.command == "migrate":
        print(
            f"applied: {', '.join(applied)}"
            if applied
            else "schema up to date / shema je posodobljena"
        )
    elif args.command == "load":
        options = LoadOptions(
            crs=args.crs,
            encoding=args.encoding,
            source_layer=args.source_layer,
            where=args.where,
            mode=args.mode,
            force=args.force,
            dry_run=args.dry_run,
            licence=args.licence,
            provider=args.provider,
            synthetic=args.synthetic,
            rejects_dir=args.rejects_dir,
            scenario=args.scenario,
            fields=field_map(args),
            open_data_dir=read_settings().open_data_dir,
        )
        report = load_file(engine, args.path, args.layer, options)
        _print_report(report)
        record_indicators(engine, [report])
    elif args.command == "load-profile":
        from etl.profile import load_profile_data  # the sample generator: only when needed

        reports = load_profile_data(
            engine,
            load_profile(args.profile),
            missing_only=args.missing,
            open_data_dir=read_settings().open_data_dir,
        )
        for report in reports:
            _print_report(report)
        if not reports:
            print("every layer is loaded; nothing to do / vsi sloji so naloženi")
        record_indicators(engine, reports)
    elif args.command == "export-readings":
        from layers.readings_dask import export_readings  # Dask: only when asked for

        count = export_readings(engine, LAYERS[args.layer], args.folder)
        print(f"{count:,} readings archived in {args.folder / args.layer} / meritve arhivirane")
    elif args.command == "listen":
        listen(engine, LAYERS[args.layer], args.root)
    elif args.command == "open-data":
        folder = read_settings().open_data_dir
        for path in write_downloads(engine, folder):
            print(f"{path} ({path.stat().st_size / 2**20:,.1f} MiB)")
    elif args.command == "catalog" and args.json:
        print(json.dumps(catalog_dcat(engine, LAYERS), ensure_ascii=False, indent=2))
    elif args.command == "catalog":
        print(read_catalog(engine).to_string(index=False))


def listen(engine: Engine, spec: LayerSpec, root: str) -> None:
    """Run the ingest (``etl.listen``) until SIGTERM or SIGINT, which end it after its batch."""
    ingest = Ingest(engine, spec, Broker.from_url(read_settings().mqtt_url), root)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: ingest.stopping.set())
    logging.getLogger("etl.listen").setLevel(logging.INFO)
    print(f"listening on {topic_pattern(root)} / poslušam", flush=True)
    ingest.run()
    print(
        f"stopped: {ingest.stored} readings stored, {ingest.refused.total()} refused / ustavljeno"
    )


def main(argv: list[str] | None = None) -> int:
    """The exit status of the command line ``argv`` (else ``sys.argv[1:]``), once it has run.

    Returns
    -------
    int
        0, or 2 once an error a user can act on (``GisError``) or a database ``OperationalError``
        (told as an unreachable database) is printed to stderr. A malformed command line exits
        in ``argparse``.
    """
    args = _parser().parse_args(argv)
    # Arrow's own pool (mimalloc) keeps what each batch freed: a million polygons peaked 20 MiB
    # higher on it than on the C library's allocator, and no faster
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        run(args)
    except GisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        print(
            f"error: cannot reach the database ({exc.orig}); start it with `make db` or set"
            f" DATABASE_URL\n[sl] baza ni dosegljiva; zaženite jo z `make db` ali nastavite"
            " DATABASE_URL",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
