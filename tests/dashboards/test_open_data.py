"""The open data as a harvester and a downloader meet it: /catalog.json read as RDF, the files fetched."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from rdflib import Graph, Namespace

from layers.open_data import ALL_LAYERS_FILE, download_name, open_layers, write_downloads
from layers.registry import LAYERS

DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")


def fetched(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:  # no cookie: anyone
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
    assert datasets == {s.id for s in open_layers()}
    urls = {str(u) for u in graph.objects(None, DCAT.downloadURL)}
    assert urls == {f"{server.url}/open-data/{p.name}" for p in published}
    for url in urls:
        status, headers, body = fetched(url)
        assert status == 200 and body.startswith(b"SQLite format 3\x00"), url
        assert headers["Content-Type"] == "application/geopackage+sqlite3"
    titles = {str(t) for t in graph.objects(None, DCT.title) if t.language == "en"}
    assert "Wi-Fi hotspots" in titles


def test_no_restricted_layer_is_catalogued_or_served(server, published):
    _, _, body = fetched(f"{server.url}/catalog.json")
    text = body.decode("utf-8")
    staff = [s for s in LAYERS.values() if "public" not in s.roles]
    for spec in staff:
        assert f'"{spec.id}"' not in text and download_name(spec) not in text, spec.id
        assert fetched(f"{server.url}/open-data/{download_name(spec)}")[0] == 404
    for sneaky in (
        "../db.env",
        "../../.local/db.env",
        ".new-streets.gpkg",
        "",
        f"{ALL_LAYERS_FILE}/x",
    ):
        assert fetched(f"{server.url}/open-data/{sneaky}")[0] in (403, 404), sneaky
