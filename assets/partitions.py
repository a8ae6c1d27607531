"""Partitions shared by every source that needs them, each with its backfill policy.

Historians are read by UTC day, several days per run so a long backfill is a few runs rather
than hundreds, yet one day's failure does not cost the rest. Every dropped file is a partition
of its own, keyed by its content hash, so the same file dropped twice is the same partition.
"""

from dagster import BackfillPolicy, DailyPartitionsDefinition, DynamicPartitionsDefinition

HISTORIAN_DAYS = DailyPartitionsDefinition(start_date="2020-01-01", timezone="UTC")
HISTORIAN_BACKFILL_POLICY = BackfillPolicy.multi_run(max_partitions_per_run=7)

IMPORT_FILES = DynamicPartitionsDefinition(name="import_files")

PARTITIONS = {"historian_days": HISTORIAN_DAYS, "import_files": IMPORT_FILES}
"""Every shared partitions definition by name; one job per definition is built from this."""
