"""The code location loads; its graph is the golden file; a second source of a table plugs in.

`tests/golden/definitions.txt` lists every asset (key, group, kinds, parents), check, job,
schedule and sensor, so each change to the graph shows in review. After an intended change:
`OEE_UPDATE_GOLDEN=1 scripts/test tests/test_definitions.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dagster import AssetKey, Definitions

from oee_pipelines.definitions import build_definitions, defs
from oee_pipelines.settings import Settings

GOLDEN = Path(__file__).parent / "golden" / "definitions.txt"


def describe(definitions: Definitions) -> str:
    """The graph as sorted text lines."""
    graph = definitions.resolve_asset_graph()
    lines = []
    for key in sorted(graph.get_all_asset_keys(), key=AssetKey.to_user_string):
        node = graph.get(key)
        parents = ", ".join(sorted(parent.to_user_string() for parent in node.parent_keys))
        kinds = ",".join(sorted(node.kinds))
        kind = "asset" if node.is_materializable else "external"
        lines.append(
            f"{kind} {key.to_user_string()} group={node.group_name} kinds={kinds} <- [{parents}]"
        )
    for check in sorted(graph.asset_check_keys, key=lambda k: k.to_user_string()):
        blocking = " blocking" if graph.get(check).blocking else ""
        lines.append(f"check {check.to_user_string()}{blocking}")
    for job in sorted(definitions.resolve_all_job_defs(), key=lambda j: j.name):
        if not job.name.startswith("__"):
            lines.append(f"job {job.name}")
    for schedule in sorted(definitions.schedules or [], key=lambda s: s.name):
        lines.append(f"schedule {schedule.name} {schedule.cron_schedule} -> {schedule.job_name}")
    for sensor in sorted(definitions.sensors or [], key=lambda s: s.name):
        lines.append(f"sensor {sensor.name}")
    return "\n".join(lines) + "\n"


def test_the_graph_is_the_golden_file() -> None:
    actual = describe(defs())
    if os.environ.get("OEE_UPDATE_GOLDEN"):
        GOLDEN.write_text(actual)
    assert actual == GOLDEN.read_text()


def test_every_curated_table_is_published_by_exactly_one_asset() -> None:
    graph = defs().resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        if key.path[0] != "curated":
            continue
        node = graph.get(key)
        assert node.is_materializable, key
        if node.group_name == "curated":  # a shared table, fed by source-owned assets only
            assert all(parent.path[0] != "curated" for parent in node.parent_keys), key
    for entity in ("machine_state", "production_count"):
        assert graph.get(AssetKey(["curated", entity])).parent_keys, entity


def test_a_second_source_of_a_table_plugs_in_beside_the_first(second_source) -> None:
    definitions = build_definitions(Settings.from_env(), second_source)
    graph = definitions.resolve_asset_graph()
    parents = graph.get(AssetKey(["curated", "machine_state"])).parent_keys
    assert {
        AssetKey(["simulator", "machine_state"]),
        AssetKey(["test", "machine_state"]),
    } <= parents
    assert definitions.resolve_job_def("demo_job")


@pytest.fixture
def second_source():
    from oee_pipelines.definitions import SOURCES
    from tests.support.second_source import definitions

    return (*SOURCES, definitions)
