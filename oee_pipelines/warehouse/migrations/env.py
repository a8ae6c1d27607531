"""Alembic environment: runs on the connection handed over by `oee_pipelines.warehouse.migrate`."""

from alembic import context
from sqlalchemy import text

connection = context.config.attributes["connection"]
context.configure(connection=connection, transactional_ddl=True)
with context.begin_transaction():
    # One migrator at a time: the demo, the UI and CI may all start an upgrade at once.
    connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('oee.migrations'))"))
    context.run_migrations()
