"""The dashboards are driven by the layer declarations: they name no layer, branch on no kind,
and share the server's one engine."""

from __future__ import annotations

import ast
import gc
from pathlib import Path

from sqlalchemy import Engine, create_engine

from dashboards.civil_protection import CivilProtectionDashboard
from dashboards.planner import PlannerDashboard
from dashboards.renderers import RENDERERS
from dashboards.wall import WallPage
from data.profiles import load_profile
from layers.readings import stop_reading_caches
from layers.registry import LAYERS
from layers.spec import RENDERER_KINDS
from layers.store import FeatureStore

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"


def string_constants(path: Path) -> set[str]:
    return {
        node.value
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_no_dashboard_module_names_a_layer():
    named = {
        path.name: sorted(string_constants(path) & set(LAYERS)) for path in DASHBOARDS.glob("*.py")
    }
    assert {name: ids for name, ids in named.items() if ids} == {}


def test_no_dashboard_module_branches_on_a_renderer_kind():
    kinds = set(RENDERER_KINDS)
    for path in DASHBOARDS.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        compared = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Compare)
            and any(isinstance(c, ast.Constant) and c.value in kinds for c in node.comparators)
        ]
        assert not compared, path.name


def test_every_renderer_kind_has_its_renderer():
    assert set(RENDERERS) == set(RENDERER_KINDS)
    assert {s.renderer for s in LAYERS.values()} <= set(RENDERERS)


def engines() -> int:
    return sum(isinstance(o, Engine) for o in gc.get_objects())


def test_every_page_reads_through_the_one_engine_it_is_given(flood_database):
    engine = create_engine(flood_database.reader.url, pool_pre_ping=True)
    store = FeatureStore(engine)
    before = engines()
    profile = load_profile("ptuj")
    pages = [
        PlannerDashboard(store, profile, "admin"),
        CivilProtectionDashboard(store, profile, audit=lambda action, detail: None),
        WallPage(store, profile, "admin"),
    ]
    for page in pages:
        for layer_id, toggle in page.map.toggles.items():
            toggle.value = not toggle.value  # every layer shown once, dense ones included
            toggle.value = not toggle.value
            assert layer_id in page.map.renderers
    gc.collect()
    assert engines() == before
    assert engine.pool.checkedin() >= 1  # the pages' queries went through it
    stop_reading_caches()
    engine.dispose()


def test_no_dashboard_module_holds_sql():
    for path in DASHBOARDS.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy")
            for alias in node.names
        }
        assert imported <= {"Engine"}, (path.name, imported)  # an engine is passed through
