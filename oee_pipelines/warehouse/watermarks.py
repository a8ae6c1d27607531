"""Where each incremental pull of a source system stopped (`raw.source_watermark`).

A watermark moves forward only, inside the sync's transaction: a failed sync leaves it where it
was, so the next sync asks for the same changes again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from psycopg import Connection


def watermarks(conn: Connection[Any], system: str) -> dict[str, dt.datetime]:
    """The watermark of each entity of `system` pulled so far."""
    rows = conn.execute(
        "SELECT entity, watermark FROM raw.source_watermark WHERE source_system = %s", (system,)
    ).fetchall()
    return dict(rows)


def advance(conn: Connection[Any], system: str, entity: str, newest: dt.datetime) -> None:
    """Move the entity's watermark to `newest`, unless it is already further."""
    conn.execute(
        """
        INSERT INTO raw.source_watermark (source_system, entity, watermark) VALUES (%s, %s, %s)
        ON CONFLICT (source_system, entity) DO UPDATE SET watermark = EXCLUDED.watermark,
            updated_at = now()
        WHERE raw.source_watermark.watermark < EXCLUDED.watermark
        """,
        (system, entity, newest),
    )
