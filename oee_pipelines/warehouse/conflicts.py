"""Work-order conflicts between the MES and the ERP: both syncs reconcile after writing.

The MES runs an order, the ERP plans it; where both say something different about the same
column (product, quantity, planned times, site, line), `curated.work_order_conflict` holds both
values, reported and never silently chosen, until the systems agree again. Neither sync owns
this comparison, so it lives here rather than beside either of them.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from psycopg import Connection

_OPEN_CONFLICTS = """
SELECT work_order_id, column_name, mes_value, erp_value FROM curated.work_order_conflict
ORDER BY work_order_id, column_name
"""


@cache
def _reconcile_sql() -> str:
    return (Path(__file__).parent / "conflicts.sql").read_text()


def reconcile(conn: Connection[Any]) -> None:
    """Compare every order the MES runs with the ERP's plan of it (curated.work_order_conflict)."""
    conn.execute(_reconcile_sql())


def open_conflicts(conn: Connection[Any]) -> list[tuple[str, str, str | None, str | None]]:
    """Every conflict between the MES and the ERP that still stands."""
    return conn.execute(_OPEN_CONFLICTS).fetchall()
