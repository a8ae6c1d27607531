"""pandera schemas of what the MES sends, checked before anything is written.

References are checked against the warehouse (sites, lines, work orders), so a schedule entry
of an order nobody knows, or a recipe of a line that is not in the plant model, is refused with
its reason instead of failing a foreign key in the middle of the write.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd
import pandera.pandas as pa

WORK_ORDER_STATUSES = ("planned", "released", "running", "completed", "closed", "cancelled")


def _text(*checks: pa.Check) -> pa.Column:
    return pa.Column(str, [pa.Check.str_length(min_value=1), *checks])


def _one_of(values: Collection[str]) -> pa.Check:
    return pa.Check.isin(sorted(values), error="unknown_reference")


def work_orders(sites: Collection[str], lines: Collection[str]) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "work_order_id": _text(),
            "site_id": _text(_one_of(sites)),
            "line_id": _text(_one_of(lines)),
            "product_sku": _text(),
            "recipe_id": _text(),
            "recipe_version": _text(),
            "planned_qty": pa.Column(float, pa.Check.ge(0)),
            "status": _text(pa.Check.isin(WORK_ORDER_STATUSES)),
        }
    )


def schedule(lines: Collection[str], orders: Collection[str]) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "work_order_id": _text(_one_of(orders)),
            "line_id": _text(_one_of(lines)),
            "priority": pa.Column(int, pa.Check.in_range(1, 10)),
        },
        checks=pa.Check(
            lambda frame: frame["planned_end"] > frame["planned_start"], error="end_before_start"
        ),
    )


def recipes(lines: Collection[str]) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "recipe_id": _text(),
            "version": _text(),
            "product_sku": _text(),
            "line_id": _text(_one_of(lines)),
            "ideal_cycle_time_s": pa.Column(float, pa.Check.gt(0)),
            "setup_time_s": pa.Column(float, pa.Check.ge(0)),
            "teardown_time_s": pa.Column(float, pa.Check.ge(0)),
        }
    )


def shifts(sites: Collection[str], lines: Collection[str]) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "site_id": _text(_one_of(sites)),
            "line_id": pa.Column(str, _one_of([*lines, ""])),
            "operator_ids": pa.Column(
                object, pa.Check(lambda ids: ids.map(len) > 0, error="no operators")
            ),
        }
    )


def failing_rows(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> dict[int, str]:
    """Row position -> why it failed (every check it failed); a check that fails the whole
    frame (a missing column) fails every row."""
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        reasons: dict[int, list[str]] = {}
        for case in errors.failure_cases.itertuples():
            where = f"{case.column}: {case.check}" if case.column else str(case.check)
            rows = range(len(frame)) if pd.isna(case.index) else [int(case.index)]
            for row in rows:
                reasons.setdefault(row, []).append(f"{where} ({case.failure_case!r})")
        return {row: "; ".join(why) for row, why in reasons.items()}
    return {}
