"""Tag history from OSIsoft/AVEVA PI, backfilled by UTC day through the PI Web API
(`streamsets/recorded`, paged)."""

from assets.historians import tag_history_asset

pi_tag_history = tag_history_asset(
    "pi", "Recorded tag history from PI (the tags of config/historians.yaml)."
)
