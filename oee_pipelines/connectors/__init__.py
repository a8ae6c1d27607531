"""Protocol code shared by the realtime service and the backfills: decoding, no Dagster, no I/O."""
