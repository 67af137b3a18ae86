"""The open data as a harvester and a downloader meet it: /catalog.json read as RDF, the files fetched."""

from __future__ import annotations

import re
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from rdflib import RDF, Graph, Namespace

from layers.open_data import (
    AIR_QUALITY,
    ALL_LAYERS_FILE,
    download_name,
    open_layers,
    write_downloads,
)
from layers.registry import LAYERS

DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")


def fetched(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # no cookie: anyone
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), b""


@pytest.fixture(scope="module")
def published(server, sample_database):
    """The downloads written where the server serves them, as the ETL writes them."""
    return write_downloads(sample_database.writer, sample_database.open_data_dir)


def test_the_catalogue_lists_every_open_layer_with_a_download_anyone_may_fetch(server, published):
    status, headers, body = fetched(f"{server.url}/catalog.json")
    assert status == 200 and headers["Content-Type"].startswith("application/ld+json")
    graph = Graph().parse(data=body, format="json-ld")
    datasets = {str(i) for i in graph.objects(None, DCT.identifier)}
    assert datasets == {s.id for s in open_layers()} | {Path(ALL_LAYERS_FILE).stem, AIR_QUALITY}
    api = {str(u) for u in graph.objects(None, DCAT.accessURL) if "/ogc/" in str(u)}
    assert api == {
        f"{server.url}/ogc/collections/{c}" for c in datasets - {Path(ALL_LAYERS_FILE).stem}
    }
    urls = {str(u) for u in graph.objects(None, DCAT.downloadURL)}
    assert urls == {f"{server.url}/open-data/{p.name}" for p in published}
    for url in urls:
        status, headers, body = fetched(url)
        assert status == 200 and body.startswith(b"SQLite format 3\x00"), url
        assert headers["Content-Type"] == "application/geopackage+sqlite3"
    for dataset in graph.subjects(RDF.type, DCAT.Dataset):  # what DCAT-AP makes mandatory
        assert graph.value(dataset, DCT.description) is not None, dataset
        assert graph.value(dataset, DCT.publisher) is not None, dataset
    titles = {str(t) for t in graph.objects(None, DCT.title) if t.language == "en"}
    assert "Wi-Fi hotspots" in titles


def test_no_restricted_layer_is_catalogued_or_served(server, published, sample_database):
    folder = sample_database.open_data_dir
    shutil.copy(folder / "streets.gpkg", folder / "degraded_land.gpkg")  # files that are there
    shutil.copy(folder / "streets.gpkg", folder / ".new-streets.gpkg")
    try:
        _, _, body = fetched(f"{server.url}/catalog.json")
        text = body.decode("utf-8")
        for spec in (s for s in LAYERS.values() if "public" not in s.roles):
            assert f'"{spec.id}"' not in text and download_name(spec) not in text, spec.id
        for name in ("degraded_land.gpkg", ".new-streets.gpkg", f"{ALL_LAYERS_FILE}/x"):
            assert fetched(f"{server.url}/open-data/{name}")[0] == 404, name
        for sneaky in ("../db.env", "../../.local/db.env"):
            assert fetched(f"{server.url}/open-data/{sneaky}")[0] in (403, 404), sneaky
    finally:
        (folder / "degraded_land.gpkg").unlink()
        (folder / ".new-streets.gpkg").unlink()


def test_a_rewritten_download_is_fetched_anew_and_never_spliced(server, published, sample_database):
    url = f"{server.url}/open-data/{ALL_LAYERS_FILE}"
    _, before, whole = fetched(url)
    write_downloads(sample_database.writer, sample_database.open_data_dir)
    status, after, _ = fetched(url, {"If-None-Match": before["Etag"]})
    assert status == 200 and after["Etag"] != before["Etag"]  # not "304: keep the old one"
    status, _, resumed = fetched(url, {"Range": "bytes=1000-", "If-Range": before["Etag"]})
    assert status == 200 and len(resumed) == int(after["Content-Length"])  # from the start
    status, _, part = fetched(url, {"Range": "bytes=1000-", "If-Range": after["Etag"]})
    assert status == 206 and len(part) == int(after["Content-Length"]) - 1000
    assert len(whole) > 1000


def test_the_open_data_page_lists_each_file_for_a_person(server, published):
    status, headers, body = fetched(f"{server.url}/open-data/")
    page = body.decode("utf-8")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    for spec in open_layers():
        assert f"/open-data/{download_name(spec)}' download>{spec.title_sl}</a>" in page
    assert "CC BY 4.0" in page and "Vsi odprti sloji" in page
    assert re.search(r"<td>\d{1,2}\. \d{1,2}\. \d{4} \d\d:\d\d</td>", page)  # a Slovenian date
    assert re.search(r"<td>\d+,\d MiB</td>", page)  # and a decimal comma
    assert "http" not in page.replace(server.url, "")  # no other host asked for anything
