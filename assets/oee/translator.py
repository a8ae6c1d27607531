"""How dbt nodes become Dagster assets: keys, groups, metadata and automation from the manifest.

Nothing here names a model. A node's key is its schema and name (`staging/stg_plant__site`,
`intermediate/int_machine_segment`, `curated/oee_machine_shift`), so a source over
`curated.machine` is the very asset `curated/machine` that the plant model asset writes: one
lineage graph. A node's `meta.dagster.asset_key` or `meta.dagster.group` overrides the derived
value.
"""

from collections.abc import Mapping
from typing import Any

from dagster import AssetKey, AutomationCondition
from dagster_dbt import DagsterDbtTranslator

ROLLUP_AUTOMATION = (
    AutomationCondition.eager() & AutomationCondition.all_deps_blocking_checks_passed()
).with_label("eager, once upstream blocking checks pass")
"""Rebuild as soon as an input changes (a backfill, a late file), never over data that failed a
blocking check: a rollup does not wait for the clock, and one left behind shows as stale."""


def _dagster_meta(props: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = props.get("config", {}).get("meta") or props.get("meta") or {}
    return meta.get("dagster", {})


def relation(props: Mapping[str, Any]) -> str:
    """`schema.table` of a node, without the database: the same in every warehouse."""
    return f"{props['schema']}.{props.get('alias') or props['name']}"


class OeeDbtTranslator(DagsterDbtTranslator):
    """Keys from schema and name, groups from `meta` or the model's folder."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        configured = _dagster_meta(dbt_resource_props).get("asset_key")
        if configured:
            return AssetKey(configured)
        return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """`meta.dagster.group`, else the first folder under models/ (staging, ...)."""
        configured = _dagster_meta(dbt_resource_props).get("group")
        if configured:
            return configured
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else None

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        """dagster-dbt's metadata (column schema from the YAML), with a storage location that
        holds in any warehouse: the manifest's database is whatever the parse was pointed at.
        """
        return {
            **super().get_metadata(dbt_resource_props),
            "dagster/table_name": relation(dbt_resource_props),
        }

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> AutomationCondition | None:
        return ROLLUP_AUTOMATION if dbt_resource_props["resource_type"] == "model" else None
