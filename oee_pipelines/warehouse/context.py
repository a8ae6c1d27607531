"""Production context in the warehouse: work orders, recipes, downtime events, shift operators.

The MES, the ERP and the operators' files all write these tables, so they share one writer:
rows are upserted on the table's natural key inside the caller's transaction (a sync is one
transaction, so a failed sync leaves the tables as they were). Recipe versions are history:
an existing version is never overwritten. Each call returns how many rows it inserted or
changed, so that a second run of the same sync reports 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import Connection, sql


@dataclass(frozen=True)
class ContextTable:
    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    """Every column a writer sets, the key included; `source` is always among them."""
    overwrite: bool = True
    """False for history tables: a row whose key exists is left as it is."""


WORK_ORDER = ContextTable(
    "work_order",
    ("work_order_id",),
    (
        "work_order_id",
        "site_id",
        "line_id",
        "product_sku",
        "recipe_id",
        "recipe_version",
        "planned_start",
        "planned_end",
        "actual_start",
        "actual_end",
        "planned_qty",
        "produced_qty",
        "status",
        "priority",
        "source",
    ),
)
RECIPE = ContextTable(
    "recipe",
    ("recipe_id", "version"),
    (
        "recipe_id",
        "version",
        "product_sku",
        "line_id",
        "ideal_cycle_time_s",
        "setup_time_s",
        "teardown_time_s",
        "valid_from",
        "source",
    ),
    overwrite=False,
)
DOWNTIME_EVENT = ContextTable(
    "downtime_event",
    ("machine_id", "start_ts"),
    ("machine_id", "start_ts", "end_ts", "category", "reason_code", "reason", "source", "comment"),
)
SHIFT_ASSIGNMENT = ContextTable(
    "shift_assignment",
    ("site_id", "line_id", "shift_start"),
    ("site_id", "line_id", "shift_start", "operator_ids", "source"),
)


def upsert(
    conn: Connection[Any],
    table: ContextTable,
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
) -> int:
    """Insert `rows` (dicts by column name) or update the ones whose values changed.

    `columns` narrows the write to a subset (the key included): a source that does not know a
    column (the ERP knows no recipe) leaves it as another source set it. Returns the number of
    rows inserted or changed; unchanged rows are not touched, so `updated_at` keeps its meaning.
    """
    names = tuple(columns or table.columns)
    unknown = set(names) - set(table.columns)
    assert not unknown, f"curated.{table.name} has no writable columns {sorted(unknown)}"
    values = [tuple(row.get(name) for name in names) for row in rows]
    if not values:
        return 0
    target = sql.Identifier("curated", table.name)
    column_list = sql.SQL(", ").join(map(sql.Identifier, names))
    key = sql.SQL(", ").join(map(sql.Identifier, table.key))
    updated = [name for name in names if name not in table.key]
    action: sql.Composable = sql.SQL("DO NOTHING")
    if table.overwrite and updated:
        action = sql.SQL("DO UPDATE SET {assignments}, updated_at = now() WHERE {changed}").format(
            assignments=sql.SQL(", ").join(
                sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(name)) for name in updated
            ),
            changed=sql.SQL("({}) IS DISTINCT FROM ({})").format(
                sql.SQL(", ").join(
                    sql.SQL("{}.{}").format(target, sql.Identifier(name)) for name in updated
                ),
                sql.SQL(", ").join(
                    sql.SQL("EXCLUDED.{}").format(sql.Identifier(name)) for name in updated
                ),
            ),
        )
    statement = sql.SQL(
        "INSERT INTO {target} ({columns}) VALUES ({placeholders}) ON CONFLICT ({key}) {action}"
    ).format(
        target=target,
        columns=column_list,
        placeholders=sql.SQL(", ").join(sql.Placeholder() * len(names)),
        key=key,
        action=action,
    )
    with conn.cursor() as cursor:
        cursor.executemany(statement, values)
        return cursor.rowcount
