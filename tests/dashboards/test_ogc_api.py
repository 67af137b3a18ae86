"""The OGC API as programs written by others read it: GDAL's driver, OWSLib, a fuzzer, Chromium."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from owslib.ogcapi.features import Features
from pyproj import Transformer
from sqlalchemy import text

from layers.open_data import AIR_QUALITY, AIR_QUALITY_COLUMNS, open_layers, view_columns
from layers.registry import LAYERS
from layers.sensor_kinds import open_sensor_kinds
from tests.dashboards.conftest import start_server, stop_server

D96 = "http://www.opengis.net/def/crs/EPSG/0/3794"
RESTRICTED = [s for s in LAYERS.values() if s not in open_layers()]
COLLECTIONS = {*(s.id for s in open_layers()), AIR_QUALITY}  # the air quality's hourly means


def fetched(url: str) -> tuple[int, dict, dict]:
    try:
        with urllib.request.urlopen(url, timeout=60) as answer:  # no cookie: anyone
            return answer.status, dict(answer.headers), json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), json.loads(refused.read())


def count(database, spec) -> int:
    return database.count(spec.read_table)


def test_gdal_lists_the_open_layers_and_copies_one_with_its_count_and_crs(
    server, sample_database, tmp_path
):
    listed = subprocess.run(
        ["ogrinfo", "-ro", "-q", f"OAPIF:{server.url}/ogc"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = {
        line.split(":")[1].split("(")[0].strip() for line in listed.splitlines() if ":" in line
    }
    assert names == COLLECTIONS
    copy = tmp_path / "streets.gpkg"
    subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(copy), f"OAPIF:{server.url}/ogc", "streets"],
        check=True,
        capture_output=True,
    )
    summary = subprocess.run(
        ["ogrinfo", "-ro", "-so", str(copy), "streets"], capture_output=True, text=True, check=True
    ).stdout
    assert f"Feature Count: {count(sample_database, LAYERS['streets'])}" in summary
    assert 'ID["EPSG",4326]' in summary  # CRS84's features, longitude first
    extent = summary.split("Extent: (")[1].split(")")[0].split(", ")
    assert 15 < float(extent[0]) < 17 and 46 < float(extent[1]) < 47  # Ptuj, not swapped


def test_owslib_pages_a_collection_and_reads_it_in_d96_tm(server, sample_database):
    api = Features(f"{server.url}/ogc")
    assert {c["id"] for c in api.collections()["collections"]} == COLLECTIONS
    spec = LAYERS["wifi_hotspots"]
    seen, offset = [], 0
    while True:  # as a harvester pages: 5 at a time, to the end
        page = api.collection_items(spec.id, limit=5, offset=offset)
        seen += [f["id"] for f in page["features"]]
        if not any(link["rel"] == "next" for link in page["links"]) or not page["features"]:
            break
        offset += 5
    assert sorted(seen) == sorted(set(seen)) and len(seen) == count(sample_database, spec)
    one = api.collection_item(spec.id, str(seen[0]))
    in_d96 = api.collection_items(spec.id, crs=D96, limit=1, offset=0)["features"][0]
    assert in_d96["id"] == seen[0] == one["id"]
    lon, lat = one["geometry"]["coordinates"]
    east, north = Transformer.from_crs(4326, 3794, always_xy=True).transform(lon, lat)
    assert in_d96["geometry"]["coordinates"] == pytest.approx([east, north], abs=0.01)


def test_bbox_in_either_crs_and_filters_on_declared_fields_answer_alike(server):
    items = f"{server.url}/ogc/collections/wifi_hotspots/items?f=json&limit=1000"
    _, _, everything = fetched(items)
    lon, lat = everything["features"][0]["geometry"]["coordinates"]
    east, north = Transformer.from_crs(4326, 3794, always_xy=True).transform(lon, lat)
    _, _, in_crs84 = fetched(
        f"{items}&bbox={lon - 0.002},{lat - 0.002},{lon + 0.002},{lat + 0.002}"
    )
    in_d96 = f"{east - 200},{north - 260},{east + 200},{north + 260}&bbox-crs={D96}"  # holds it
    status, headers, in_metres = fetched(f"{items}&bbox={in_d96}&crs={D96}")
    assert status == 200 and headers["Content-Crs"] == f"<{D96}>"
    near = {f["id"] for f in in_crs84["features"]}
    assert everything["features"][0]["id"] in near and near <= {
        f["id"] for f in in_metres["features"]
    }
    assert 0 < len(near) < everything["numberMatched"]
    status_of = everything["features"][0]["properties"]["status"]
    _, _, filtered = fetched(f"{items}&status={urllib.parse.quote(status_of)}")
    expected = [f["id"] for f in everything["features"] if f["properties"]["status"] == status_of]
    assert sorted(f["id"] for f in filtered["features"]) == sorted(expected)


def find_refs(node) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for v in node.values() for r in find_refs(v)]
    return [r for v in node for r in find_refs(v)] if isinstance(node, list) else []


def test_the_api_exposes_exactly_the_open_layers_and_their_declared_fields(server, sample_database):
    _, _, document = fetched(f"{server.url}/ogc/openapi?f=json")
    collections = {p.split("/")[2] for p in document["paths"] if p.startswith("/collections/")}
    assert collections == COLLECTIONS
    for spec in open_layers():
        _, _, queryables = fetched(f"{server.url}/ogc/collections/{spec.id}/queryables?f=json")
        assert set(queryables["properties"]) == {*view_columns(spec)[:-1], "geometry"}, spec.id
        _, _, page = fetched(f"{server.url}/ogc/collections/{spec.id}/items?f=json&limit=1")
        for feature in page["features"]:
            assert set(feature["properties"]) == set(view_columns(spec)[1:-1]), spec.id
    text = json.dumps(document)
    for spec in RESTRICTED:
        assert f"/collections/{spec.id}/" not in text
        status, _, error = fetched(f"{server.url}/ogc/collections/{spec.id}/items?f=json")
        assert status == 404 and error["code"] == "NotFound"
    # the streets come from the roads' table, whose condition is the staff's
    status, _, page = fetched(f"{server.url}/ogc/collections/streets/items?condition=poor")
    assert status == 200 and page["numberMatched"] == count(sample_database, LAYERS["streets"])
    assert all(set(f["properties"]) == {"name"} for f in page["features"])
    assert "http" not in json.dumps([r for r in find_refs(document)])  # whole without the web


def test_air_quality_is_hourly_means_of_the_air_stations_only(server, sample_database):
    """The public gets no raw reading and nothing of a sensor that is not an air station's."""
    items = f"{server.url}/ogc/collections/{AIR_QUALITY}/items?f=json&limit=10000"
    with sample_database.reader.connect() as conn:
        start = conn.scalar(
            text(
                "SELECT date_trunc('hour', max(observed_at) - interval '2 days', 'UTC') FROM sensor_reading"
            )
        )
        end = start + dt.timedelta(hours=6)
        expected = conn.execute(
            text(
                "SELECT s.code, date_trunc('hour', r.observed_at, 'UTC'), avg(r.value), count(*)"
                " FROM sensor_reading r JOIN sensor s ON s.id = r.sensor_id WHERE s.kind = 'pm10'"
                " AND r.observed_at >= :start AND r.observed_at < :end GROUP BY 1, 2"
            ),
            {"start": start, "end": end},
        ).all()
        kinds = set(conn.scalars(text("SELECT DISTINCT kind FROM sensor")))
    last = end - dt.timedelta(seconds=1)
    window = f"{start.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}/{last.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"
    _, _, page = fetched(f"{items}&datetime={window}&kind=pm10")
    got = {
        (f["properties"]["station"], f["properties"]["hour_start"]): f["properties"]
        for f in page["features"]
    }
    assert len(got) == len(expected) > 0 and page["numberMatched"] == len(expected)
    for station, hour, mean, readings in expected:
        found = got[(station, hour.isoformat())]
        # to the cent, from a mean stored as a real (float4): a hair more than half a cent off
        assert found["mean"] == pytest.approx(mean, abs=0.0051) and found["readings"] == readings
    _, _, everything = fetched(f"{items}&datetime={window}")
    shown = {f["properties"]["kind"] for f in everything["features"]}
    assert shown == set(open_sensor_kinds()) and kinds - shown  # the sample has other kinds
    assert all(
        set(f["properties"]) == set(AIR_QUALITY_COLUMNS[1:-1]) for f in everything["features"]
    )


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("collections/districts/items?code=not-a-number", 400),
        ("collections/districts/items/not-an-id", 404),
        ("collections/districts/items?limit=-3", 400),
        ("collections/districts/items?bbox=1,2", 400),
        ("collections/districts/items?sortby=,name", 400),
        ("no/such/path", 404),
    ],
)
def test_a_bad_request_gets_ogc_json_never_a_trace(server, query, status):
    answered, headers, error = fetched(f"{server.url}/ogc/{query}")
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert answered == status and headers["Content-Type"].startswith("application/json")
    assert error["code"] and error["description"] and "Traceback" not in json.dumps(error)


def test_schemathesis_finds_no_server_error_in_the_openapi_document(server, tmp_path):
    fuzzed = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{server.url}/ogc/openapi?f=json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "15",
            "--phases",
            "examples,fuzzing",
            "--request-timeout",
            "60",
            "--exclude-method",
            "OPTIONS",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,  # where it keeps what it found
    )
    assert fuzzed.returncode == 0, fuzzed.stdout[-4000:]


def test_an_address_asking_too_often_is_told_to_wait(sample_database, tmp_path):
    limited = start_server(sample_database, tmp_path, GIS_OGC_REQUESTS_PER_MINUTE="20")
    try:
        answers = [fetched(f"{limited.url}/ogc/conformance?f=json") for _ in range(21)]
    finally:
        stop_server(limited)
    assert [a[0] for a in answers] == [200] * 20 + [429]
    assert int(answers[-1][1]["Retry-After"]) > 0 and answers[-1][2]["code"] == "TooManyRequests"


def test_the_html_pages_draw_the_features_from_our_server_alone(server, browser):
    # the API's links are made from GIS_PUBLIC_URL, by default http://localhost:<port>
    url = server.url.replace("127.0.0.1", "localhost")
    page = browser.new_page()
    hosts, errors = set(), []
    page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    for path in ["", "/collections", "/collections/streets", "/openapi"]:
        page.goto(f"{url}/ogc{path}?f=html")
        page.wait_for_load_state("networkidle")
    page.goto(f"{url}/ogc/collections/wifi_hotspots/items?f=html")
    markers = page.locator("#items-map path.leaflet-interactive")
    markers.first.wait_for()
    rows = page.locator("table.ogc-table tbody tr")
    assert markers.count() == rows.count() > 0
    page.goto(f"{url}/ogc/openapi?f=html")
    page.locator('[data-path="/collections/streets/items"]').first.wait_for()  # drawn
    page.close()
    assert hosts == {url.split("/")[2]} and errors == []
