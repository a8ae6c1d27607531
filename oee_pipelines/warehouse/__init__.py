"""The warehouse: migrations, the shared writer, the audit log, and connection pools.

Plain modules without Dagster, so the realtime service uses exactly the same code as the assets.
"""

from oee_pipelines.warehouse.audit import SyncRun, sync_log
from oee_pipelines.warehouse.migrate import upgrade
from oee_pipelines.warehouse.pool import open_pool
from oee_pipelines.warehouse.records import (
    DeadLetter,
    MachineStateRecord,
    Plausibility,
    ProductionCountRecord,
    TelemetryRecord,
)
from oee_pipelines.warehouse.writer import WarehouseWriter, WriteResult

__all__ = [
    "DeadLetter",
    "MachineStateRecord",
    "Plausibility",
    "ProductionCountRecord",
    "SyncRun",
    "TelemetryRecord",
    "WarehouseWriter",
    "WriteResult",
    "open_pool",
    "sync_log",
    "upgrade",
]
