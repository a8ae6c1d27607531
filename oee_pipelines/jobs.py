"""Jobs: what gets materialized together."""

from dagster import AssetSelection, define_asset_job

ROLLUP_ASSETS = AssetSelection.groups("plant", "staging", "oee")

oee_rollup_job = define_asset_job(
    "oee_rollup_job",
    selection=ROLLUP_ASSETS,
    description="Reload the plant model, then rebuild the shift calendar and the OEE rollups.",
)

demo_job = define_asset_job(
    "demo_job",
    selection=AssetSelection.all(),
    description="Everything `oee demo` materializes: plant model, simulated history, rollups.",
)
