"""Jobs: what gets materialized together.

Assets of different partitions definitions cannot share a job, so there is one job for the
unpartitioned assets (what `oee demo` runs) and one per shared partitions definition.
"""

from collections.abc import Iterable

from dagster import AssetKey, AssetsDefinition, AssetSelection, AssetSpec, define_asset_job
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from assets.partitions import PARTITIONS

oee_rollup_job = define_asset_job(
    "oee_rollup_job",
    selection=AssetSelection.groups("plant", "curated", "oee"),
    description="Reload the plant model, publish the curated tables with their blocking checks, "
    "then rebuild the shift calendar and the OEE rollups.",
)


def asset_jobs(
    assets: Iterable[AssetSpec | AssetsDefinition],
) -> list[UnresolvedAssetJobDefinition]:
    """`demo_job` for the unpartitioned assets; `<partitions>_job` per partitions definition."""
    by_partitions: dict[str | None, list[AssetKey]] = {}
    names = {id(definition): name for name, definition in PARTITIONS.items()}
    for item in assets:
        if isinstance(item, AssetsDefinition) and item.is_executable:
            name = names.get(id(item.partitions_def)) if item.partitions_def else None
            by_partitions.setdefault(name, []).extend(item.keys)
    jobs = [
        define_asset_job(
            "demo_job",
            selection=AssetSelection.assets(*by_partitions.pop(None, [])),
            description="Every unpartitioned asset: what `oee demo` materializes.",
        )
    ]
    jobs += [
        define_asset_job(
            f"{name}_job",
            selection=AssetSelection.assets(*keys),
            partitions_def=PARTITIONS[name],
            description=f"The assets partitioned by {name}.",
        )
        for name, keys in sorted(by_partitions.items())
    ]
    return jobs
