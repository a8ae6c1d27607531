"""The realtime ingest service (OPC UA, Modbus TCP, MQTT): an asyncio process without Dagster.

It writes through `oee_pipelines.warehouse.WarehouseWriter`, the writer the backfills use.
"""
