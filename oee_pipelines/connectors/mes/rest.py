"""An MES's REST API: paged JSON collections, pulled whole or changed since a watermark.

`GET {base}/api/v1/{collection}?modifiedSince=..&page=..&pageSize=..` answers
`{"items": [...], "nextPage": n | null}`; `PUT {base}/api/v1/work-orders/{id}/actuals` takes
what the plant did. Every field is read by name and type, so a changed or broken answer fails
with the collection, page, item and field, not deep inside a writer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

from oee_pipelines.connectors.http import GuardedHttp
from oee_pipelines.errors import SourceError

from .records import (
    SYSTEM,
    MesChanges,
    Recipe,
    ScheduleEntry,
    ShiftAssignment,
    WorkOrder,
    WorkOrderActual,
)

API = "/api/v1"
T = TypeVar("T")


class MesRestClient:
    """Reads the MES's work orders, schedule, recipes and shift rosters; writes actuals back."""

    def __init__(
        self, base_url: str, http: GuardedHttp | None = None, page_size: int = 500
    ) -> None:
        """`http`: how calls are made (auth, timeout, retries, size limit); defaults otherwise."""
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self._http = http or GuardedHttp.open(SYSTEM)

    def __enter__(self) -> MesRestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def changes(self, since: Mapping[str, dt.datetime | None]) -> MesChanges:
        """Every record of each entity modified at or after its watermark (all without one)."""
        return MesChanges(
            work_orders=list(self._collection("work-orders", since.get("work_orders"), _order)),
            schedule=list(self._collection("production-schedule", since.get("schedule"), _entry)),
            recipes=list(self._collection("recipes", since.get("recipes"), _recipe)),
            shifts=list(self._collection("operator-shifts", since.get("shifts"), _shift)),
        )

    def report(self, actual: WorkOrderActual) -> None:
        """Write a work order's actual start, end and produced quantity to the MES."""
        url = f"{self.base_url}{API}/work-orders/{quote(actual.work_order_id, safe='')}/actuals"
        self._http.json(
            "PUT",
            url,
            json={
                "actualStart": actual.actual_start.isoformat(),
                "actualEnd": actual.actual_end.isoformat(),
                "producedQuantity": actual.produced_qty,
            },
        )

    def _collection(
        self, name: str, since: dt.datetime | None, parse: Callable[[_Item], T]
    ) -> Iterator[T]:
        url = f"{self.base_url}{API}/{name}"
        page: int | None = 1
        while page is not None:
            params: dict[str, str | int] = {"page": page, "pageSize": self.page_size}
            if since is not None:
                params["modifiedSince"] = since.isoformat()
            body = self._http.json("GET", url, params=params)
            where = f"GET {url} page {page}"
            if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                raise SourceError(SYSTEM, where, f"no 'items' list in {str(body)[:200]}")
            for index, item in enumerate(body["items"]):
                yield parse(_Item(item, f"{where} item {index}"))
            following = body.get("nextPage")
            if following is not None and (not isinstance(following, int) or following <= page):
                raise SourceError(SYSTEM, where, f"bad nextPage {following!r}")
            page = following


class _Item:
    """One JSON object of an answer, read field by field with the place named on failure."""

    def __init__(self, item: object, where: str) -> None:
        if not isinstance(item, dict):
            raise SourceError(SYSTEM, where, f"not an object: {str(item)[:200]}")
        self.item: dict[str, Any] = item
        self.where = where

    def _bad(self, name: str, want: str) -> SourceError:
        return SourceError(
            SYSTEM, self.where, f"field {name!r}: want {want}, got {self.item.get(name)!r}"
        )

    def text(self, name: str) -> str:
        value = self.item.get(name)
        if not isinstance(value, str) or not value:
            raise self._bad(name, "a non-empty string")
        return value

    def optional_text(self, name: str) -> str:
        value = self.item.get(name)
        return "" if value is None else self.text(name)

    def number(self, name: str) -> float:
        value = self.item.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._bad(name, "a number")
        return float(value)

    def integer(self, name: str) -> int:
        value = self.item.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(name, "an integer")
        return value

    def instant(self, name: str) -> dt.datetime:
        value = self.item.get(name)
        try:
            instant = dt.datetime.fromisoformat(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise self._bad(name, "an ISO 8601 instant") from None
        if instant.utcoffset() is None:
            raise self._bad(name, "an ISO 8601 instant with an offset")
        return instant.astimezone(dt.UTC)

    def texts(self, name: str) -> tuple[str, ...]:
        value = self.item.get(name)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self._bad(name, "a list of strings")
        return tuple(value)


def _order(item: _Item) -> WorkOrder:
    return WorkOrder(
        work_order_id=item.text("workOrderId"),
        site_id=item.text("siteId"),
        line_id=item.text("lineId"),
        product_sku=item.text("productSku"),
        recipe_id=item.text("recipeId"),
        recipe_version=item.text("recipeVersion"),
        planned_qty=item.number("plannedQuantity"),
        status=item.text("status"),
        modified_at=item.instant("modifiedAt"),
    )


def _entry(item: _Item) -> ScheduleEntry:
    return ScheduleEntry(
        work_order_id=item.text("workOrderId"),
        line_id=item.text("lineId"),
        planned_start=item.instant("plannedStart"),
        planned_end=item.instant("plannedEnd"),
        priority=item.integer("priority"),
        modified_at=item.instant("modifiedAt"),
    )


def _recipe(item: _Item) -> Recipe:
    return Recipe(
        recipe_id=item.text("recipeId"),
        version=item.text("version"),
        product_sku=item.text("productSku"),
        line_id=item.text("lineId"),
        ideal_cycle_time_s=item.number("idealCycleTimeSeconds"),
        setup_time_s=item.number("setupTimeSeconds"),
        teardown_time_s=item.number("teardownTimeSeconds"),
        valid_from=item.instant("validFrom"),
        modified_at=item.instant("modifiedAt"),
    )


def _shift(item: _Item) -> ShiftAssignment:
    return ShiftAssignment(
        site_id=item.text("siteId"),
        line_id=item.optional_text("lineId"),
        shift_start=item.instant("shiftStart"),
        operator_ids=item.texts("operatorIds"),
        modified_at=item.instant("modifiedAt"),
    )
