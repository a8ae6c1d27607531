"""Tag history from AVEVA (Wonderware) Historian, backfilled by UTC day through its REST API
(ProcessValues over OData, paged by next link)."""

from assets.historians import tag_history_asset

aveva_tag_history = tag_history_asset(
    "aveva", "Stored tag history from AVEVA Historian (the tags of config/historians.yaml)."
)
