"""The curated tables several sources write: their publishers and blocking data checks."""

from collections.abc import Sequence

from dagster import Definitions

from assets.curated.assets import publishers
from assets.curated.checks import machine_states_are_consistent, production_counts_are_consistent
from assets.curated.freshness import freshness_checks


def definitions(source_assets: Sequence[object]) -> Definitions:
    """Publishers fed by the given source assets, with the checks the rollups wait for."""
    return Definitions(
        assets=publishers(source_assets),
        asset_checks=[
            machine_states_are_consistent,
            production_counts_are_consistent,
            *freshness_checks(source_assets),
        ],
    )
