"""Jobs: what gets materialized together.

Assets of different partitions definitions cannot share a job, so there is one job for the
unpartitioned assets (what `oee demo` runs) and one per shared partitions definition.
"""

from collections.abc import Iterable

from dagster import AssetKey, AssetsDefinition, AssetSelection, define_asset_job
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from assets.partitions import PARTITIONS

oee_rollup_job = define_asset_job(
    "oee_rollup_job",
    selection=AssetSelection.groups("plant", "curated", "staging", "oee"),
    description="Reload the plant model, publish the curated tables with their blocking checks, "
    "then rebuild the shift calendar and the OEE rollups.",
)

context_sync_job = define_asset_job(
    "context_sync_job",
    selection=AssetSelection.groups("mes", "erp"),
    description="Sync the MES and the ERP into the warehouse (work orders, recipes, shifts, "
    "materials, labor), derive changeovers, write actuals back to the MES and confirm them to "
    "the ERP.",
)


def asset_jobs(assets: Iterable[object]) -> list[UnresolvedAssetJobDefinition]:
    """`demo_job` for the unpartitioned assets; `<partitions>_job` per partitions definition."""
    unpartitioned: list[AssetKey] = []
    partitioned: dict[str, list[AssetKey]] = {}
    names = {id(definition): name for name, definition in PARTITIONS.items()}
    for item in assets:
        if not isinstance(item, AssetsDefinition) or not item.is_executable:
            continue
        if item.partitions_def is None:
            unpartitioned.extend(item.keys)
        elif id(item.partitions_def) in names:
            partitioned.setdefault(names[id(item.partitions_def)], []).extend(item.keys)
        else:
            raise ValueError(
                f"{item.keys}: use a shared partitions definition of assets/partitions.py"
            )
    jobs = [
        define_asset_job(
            "demo_job",
            selection=AssetSelection.assets(*unpartitioned),
            description="Every unpartitioned asset: what `oee demo` materializes.",
        )
    ]
    jobs += [
        define_asset_job(
            f"{name}_job",
            selection=AssetSelection.assets(*keys),
            description=f"The assets partitioned by {name}.",
        )
        for name, keys in sorted(partitioned.items())
    ]
    return jobs
