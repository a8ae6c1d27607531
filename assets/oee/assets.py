"""The dbt project `dbt_oee`: shift calendar and OEE rollups, built in the warehouse."""

from collections.abc import Iterator, Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from oee_pipelines.dbt_project import dbt_project
from resources import WarehouseResource


class OeeDbtTranslator(DagsterDbtTranslator):
    """Sources and models share one key space, `curated/<table>`, so the tables that the
    Python assets write are the very nodes the dbt models read: one lineage graph.
    """

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        return AssetKey(["curated", dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return "oee"


@dbt_assets(manifest=dbt_project.manifest_path, dagster_dbt_translator=OeeDbtTranslator())
def oee_dbt_models(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """Build (run and test) the selected dbt models against the warehouse."""
    with warehouse.dbt_environment():
        invocation = dbt.cli(["build"], context=context)
    yield from invocation.stream()
