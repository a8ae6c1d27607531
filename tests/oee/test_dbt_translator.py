"""How the dbt manifest becomes assets: keys, groups, storage location and automation come from
each node's schema, folder and meta, and the sources are the tables the Python assets write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dagster import AssetKey, DefaultSensorStatus

from assets.oee.assets import oee_dbt_models
from assets.oee.translator import ROLLUP_AUTOMATION, OeeDbtTranslator
from oee_pipelines.jobs import oee_rollup_job


@pytest.fixture(scope="module")
def manifest(dbt_manifest: Path) -> dict:
    return json.loads(dbt_manifest.read_text())


@pytest.fixture(scope="module")
def models(manifest: dict) -> list[dict]:
    return [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]


def test_models_are_keyed_by_schema_and_name_and_grouped_by_folder(models: list[dict]) -> None:
    specs = {spec.key: spec for spec in oee_dbt_models.specs}
    layers = {"staging": "staging", "intermediate": "oee", "marts": "oee"}
    assert {model["fqn"][1] for model in models} == set(layers)
    for model in models:
        spec = specs[AssetKey([model["schema"], model["name"]])]
        assert spec.group_name == layers[model["fqn"][1]]
        assert spec.metadata["dagster/table_name"] == f"{model['schema']}.{model['name']}"
        assert spec.automation_condition == ROLLUP_AUTOMATION
    assert {AssetKey(["curated", name]) for name in ("shift", "oee_machine_shift")} <= set(specs)
    assert {model["schema"] for model in models} == {"staging", "intermediate", "curated"}
    views = {model["schema"] for model in models if model["config"]["materialized"] == "view"}
    assert views == {"staging"}  # which hold no data: the hourly build leaves them out
    assert len(oee_dbt_models.specs) == len(models)


def test_sources_are_the_tables_that_the_python_assets_write(manifest: dict) -> None:
    from oee_pipelines.definitions import defs

    translator = OeeDbtTranslator()
    sources = {translator.get_asset_key(source) for source in manifest["sources"].values()}
    tables = ("site", "line", "machine", "shift_pattern", "machine_state", "production_count")
    written = (*tables, "shift_break", "telemetry", "shift_assignment", "work_order", "recipe")
    files = AssetKey(["files", "downtime_event"])  # the operators' files write it, unpublished
    assert {AssetKey(["curated", table]) for table in written} | {files} == sources
    graph = defs().resolve_asset_graph()
    for key in sources:  # the plant model asset or the publisher of a shared table
        assert graph.get(key).is_materializable and key not in oee_dbt_models.keys, key
    deps = {dep.asset_key for spec in oee_dbt_models.specs for dep in spec.deps}
    assert sources <= deps


def test_meta_overrides_the_derived_key_and_group() -> None:
    node = {
        "resource_type": "model",
        "schema": "curated",
        "name": "oee_line_daily",
        "fqn": ["dbt_oee", "marts", "oee_line_daily"],
        "config": {"meta": {"dagster": {"asset_key": ["bi", "daily"], "group": "reports"}}},
    }
    translator = OeeDbtTranslator()
    assert translator.get_asset_key(node) == AssetKey(["bi", "daily"])
    assert translator.get_group_name(node) == "reports"


def test_every_column_of_every_curated_model_is_described_under_a_contract(
    models: list[dict],
) -> None:
    curated = [model for model in models if model["schema"] == "curated"]
    assert {model["name"] for model in curated} == {
        "shift", "oee_machine_hourly", "oee_machine_shift", "oee_line_shift", "oee_machine_daily",
        "oee_line_daily", "downtime_pareto",
    }  # fmt: skip
    for model in curated:
        assert model["config"]["contract"]["enforced"]  # the build fails if SQL and YAML differ
        assert model["config"]["persist_docs"] == {"relation": True, "columns": True}
        assert model["description"]
        undescribed = [
            name for name, column in model["columns"].items() if not column["description"]
        ]
        assert not undescribed, model["name"]
    assert len(next(m for m in curated if m["name"] == "oee_machine_shift")["columns"]) == 20


def test_the_rollups_follow_their_inputs_without_a_click(dbt_manifest: Path) -> None:
    from oee_pipelines.definitions import defs

    definitions = defs()
    sensor = definitions.resolve_sensor_def("oee_rollup_automation")
    assert sensor.default_status == DefaultSensorStatus.RUNNING
    graph = definitions.resolve_asset_graph()
    targeted = sensor.asset_selection.resolve(graph)
    assert targeted == set(oee_dbt_models.keys)
    assert targeted <= oee_rollup_job.selection.resolve(graph)  # and the hourly job builds all
