"""pandera schemas of the ERP's rows, checked before anything is written.

The work orders' schema takes the lines the warehouse knows, so that a row that would break a
foreign key is refused as a dead letter with a reason instead of failing the whole sync.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pandera.pandas as pa

WORK_ORDER_STATUSES = ("planned", "released", "running", "completed", "closed", "cancelled")
"""The statuses curated.work_order allows."""


def _ends_after_start(start: str, end: str, *, strictly: bool) -> pa.Check:
    def check(frame: pd.DataFrame) -> pd.Series:
        later = frame[end] > frame[start] if strictly else frame[end] >= frame[start]
        return later | frame[start].isna() | frame[end].isna()

    return pa.Check(check, name=f"{end}_after_{start}")


def work_orders(lines: Sequence[str]) -> pa.DataFrameSchema:
    """Orders on lines the warehouse knows (or on no line yet)."""
    return pa.DataFrameSchema(
        {
            "work_order_id": pa.Column(str, unique=True),
            "site_id": pa.Column(str),
            "line_id": pa.Column(str, pa.Check.isin(list(lines)), nullable=True),
            "product_sku": pa.Column(str, pa.Check.str_length(min_value=1)),
            "planned_start": pa.Column(nullable=False),
            "planned_end": pa.Column(nullable=False),
            "planned_qty": pa.Column(float, pa.Check.ge(0)),
            "status": pa.Column(str, pa.Check.isin(WORK_ORDER_STATUSES)),
        },
        checks=_ends_after_start("planned_start", "planned_end", strictly=True),
    )


MATERIALS = pa.DataFrameSchema(
    {
        "material_id": pa.Column(str, pa.Check.str_length(min_value=1), unique=True),
        "material_type": pa.Column(str),
        "base_unit": pa.Column(str, pa.Check.str_length(min_value=1)),
    }
)
LABOR = pa.DataFrameSchema(
    {
        "work_order_id": pa.Column(str),
        "personnel_id": pa.Column(str, pa.Check.str_length(min_value=1)),
        "labor_s": pa.Column(float, pa.Check.ge(0)),
        "yield_qty": pa.Column(float, pa.Check.ge(0), nullable=True),
        "scrap_qty": pa.Column(float, pa.Check.ge(0), nullable=True),
    },
    checks=_ends_after_start("start_ts", "end_ts", strictly=False),
)
