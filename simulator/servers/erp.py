"""The simulated plant's ERP: SAP S/4HANA production orders, products and confirmations over
OData v2 on real HTTP, from the plant's ground truth.

Its production orders are the work orders the simulated machines run (same numbers, products
and times), each created in the ERP `LEAD` before it starts; an order is visible once created,
so the ERP also holds the orders planned for the next day. Planned quantity: what the line
makes at its ideal rate over the order's duration, at `PLANNED_EFFICIENCY`. Products are the
materials of those orders; labor confirmations are the crew's hours per order and shift, posted
when the shift's part of the order has ended.

Served under `/sap/opu/odata/sap`: `GET API_PRODUCTION_ORDER_2_SRV/A_ProductionOrder_2`,
`GET API_PRODUCT_SRV/A_Product` (both with `$filter=LastChangeDateTime ge
datetimeoffset'...'`), `GET` and `POST API_PROD_ORDER_CONFIRMATION_2_SRV/ProdnOrdConf2` (with
the CSRF token of a GET of the service document); server-driven paging of `page_size` entities
with `__next`. A posted confirmation adds to the order's confirmed yield and scrap, changes its
`LastChangeDateTime`, and a final one confirms the order.
`fault` makes the requests after the first `fault_after` fail (`fault_times` of them, or all) in
one of the ways a real system or its gateway does.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from oee_pipelines.connectors.erp.odata import (
    format_datetime,
    format_time,
    parse_datetime,
    parse_decimal,
)
from oee_pipelines.connectors.erp.sap import (
    CONFIRMATION_SERVICE,
    CONFIRMATION_SET,
    OPERATION,
    PRODUCT_SERVICE,
    PRODUCTION_ORDER_SERVICE,
)
from oee_pipelines.plant_model import Line, PlantModel, Site
from simulator import SimulatedPlant, WorkOrder

from ._http import Answer, Credentials, JsonServer, Raw

PREFIX = "/sap/opu/odata/sap"
ORDERS = f"{PREFIX}/{PRODUCTION_ORDER_SERVICE}/A_ProductionOrder_2"
PRODUCTS = f"{PREFIX}/{PRODUCT_SERVICE}/A_Product"
CONFIRMATIONS = f"{PREFIX}/{CONFIRMATION_SERVICE}/{CONFIRMATION_SET}"
LEAD = dt.timedelta(days=1)
PLANNED_EFFICIENCY = Decimal("0.85")
CREW = 2
"""Operators per line and shift: the labor hours are the shift's part of the order times this."""
Fault = Literal["error", "timeout", "malformed", "html", "odata_error"]


@dataclass
class _Posted:
    """What the ERP recorded of one order's confirmations."""

    confirmations: list[dict[str, Any]] = field(default_factory=list)
    yield_qty: Decimal = Decimal(0)
    scrap_qty: Decimal = Decimal(0)
    final: bool = False
    changed: dt.datetime | None = None


class SimulatedErp:
    """The ERP of the plant: orders of the work orders overlapping [since, now + LEAD)."""

    def __init__(
        self,
        plant: PlantModel,
        seed: int,
        since: dt.datetime,
        now: dt.datetime | None = None,
        *,
        page_size: int = 100,
        credentials: Credentials | None = None,
    ) -> None:
        self.plant = plant
        self.simulated = SimulatedPlant(plant, seed)
        self.since = since
        self.now = now
        """The ERP's now; None: the wall clock (`oee demo`)."""
        self.page_size = page_size
        self.credentials = credentials or Credentials()
        self.fault: Fault | None = None
        self.fault_after = 0
        """Requests answered normally before the fault applies."""
        self.fault_times: int | None = None
        """How many requests the fault fails (None: every one)."""
        self.delay_s = 5.0
        """How long a `timeout` fault keeps the client waiting."""
        self.requests = 0
        self.edits: dict[str, dict[str, Any]] = {}
        """Fields of orders (by number) served other than the truth: broken records."""
        self.posted: dict[str, _Posted] = {}
        self._lock = threading.Lock()

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> JsonServer:
        """A server on a real socket (not started); the services are under `url + PREFIX`."""
        return JsonServer(self.route, self.credentials, host, port, post=self.post)

    # --- what the ERP holds -------------------------------------------------------------------

    def current(self) -> dt.datetime:
        return self.now or dt.datetime.now(dt.UTC)

    def orders(self) -> list[dict[str, Any]]:
        """Every production order created by now, as `A_ProductionOrder_2` entities."""
        now = self.current()
        orders = (
            self._order(site, line, order, now)
            for site, line, order in self._work_orders(now)
            if order.start - LEAD <= now
        )
        return sorted(
            (order | self.edits.get(order["ManufacturingOrder"], {}) for order in orders),
            key=lambda entity: entity["ManufacturingOrder"],
        )

    def products(self) -> list[dict[str, Any]]:
        """The materials of the orders, created with their first order."""
        first: dict[str, dt.datetime] = {}
        for order in self.orders():
            created = parse_datetime(order["MfgOrderCreationDate"])
            first[order["Material"]] = min(created, first.get(order["Material"], created))
        return [
            {
                "Product": material,
                "ProductType": "FERT",
                "ProductGroup": "FINISHED",
                "BaseUnit": "PC",
                "LastChangeDateTime": _offset(created),
            }
            for material, created in sorted(first.items())
        ]

    def confirmations(self) -> list[dict[str, Any]]:
        """Labor confirmations of the crews, then the confirmations posted to the ERP."""
        now = self.current()
        labor = [
            entity
            for site, line, order in self._work_orders(now)
            for entity in self._labor(site, line, order, now)
        ]
        with self._lock:
            posted = [c for record in self.posted.values() for c in record.confirmations]
        return labor + posted

    def _work_orders(self, now: dt.datetime) -> Iterator[tuple[Site, Line, WorkOrder]]:
        for site, line in self.plant.lines():
            for order in self.simulated.work_orders(line.id, self.since, now + LEAD):
                yield site, line, order

    def _order(self, site: Site, line: Line, order: WorkOrder, now: dt.datetime) -> dict[str, Any]:
        created = order.start - LEAD
        with self._lock:
            posted = self.posted.get(order.work_order_id, _Posted())
        start_date, start_time = _local(order.start, site)
        end_date, end_time = _local(order.end, site)
        return {
            "ManufacturingOrder": order.work_order_id,
            "ManufacturingOrderType": "PP01",
            "ProductionPlant": site.id,
            "ProductionLine": line.id,
            "Material": order.product_sku,
            "TotalQuantity": str(self.planned_quantity(line, order)),
            "ProductionUnit": "PC",
            "MfgOrderPlannedStartDate": start_date,
            "MfgOrderPlannedStartTime": start_time,
            "MfgOrderPlannedEndDate": end_date,
            "MfgOrderPlannedEndTime": end_time,
            "MfgOrderCreationDate": _local(created, site)[0],
            "MfgOrderConfirmedYieldQty": str(posted.yield_qty),
            "MfgOrderConfirmedScrapQty": str(posted.scrap_qty),
            "OrderIsReleased": True,
            "OrderIsPartiallyConfirmed": bool(posted.confirmations) and not posted.final,
            "OrderIsConfirmed": posted.final,
            "LastChangeDateTime": _offset(max(created, posted.changed or created)),
        }

    def planned_quantity(self, line: Line, order: WorkOrder) -> int:
        """Parts the line makes at its ideal rate over the order, at the planned efficiency."""
        machines = [m for m in line.machines if m.id == line.output_machine] or line.machines
        rate = sum(Decimal(1) / Decimal(str(m.ideal_cycle_time_s)) for m in machines)
        seconds = Decimal((order.end - order.start).total_seconds())
        return int(seconds * rate * PLANNED_EFFICIENCY)

    def _labor(
        self, site: Site, line: Line, order: WorkOrder, now: dt.datetime
    ) -> Iterator[dict[str, Any]]:
        """One confirmation per shift the order ran in, once that part of it is over."""
        group = _confirmation_group(order.work_order_id)
        for count, shift in enumerate(self.simulated.shifts(site.id, order.start, order.end), 1):
            start, end = max(shift.start, order.start), min(shift.end, order.end)
            if end > now:
                break
            personnel = 50_000_000 + zlib.crc32(f"{line.id}:{shift.shift_name}".encode()) % 10**6
            hours = Decimal((end - start).total_seconds()) / 3600 * CREW
            start_date, start_time = _local(start, site)
            end_date, end_time = _local(end, site)
            yield {
                "ConfirmationGroup": group,
                "ConfirmationCount": str(count),
                "OrderID": order.work_order_id,
                "OrderOperation": OPERATION,
                "Plant": site.id,
                "WorkCenter": line.id,
                "Personnel": str(personnel),
                "ConfirmedExecutionStartDate": start_date,
                "ConfirmedExecutionStartTime": start_time,
                "ConfirmedExecutionEndDate": end_date,
                "ConfirmedExecutionEndTime": end_time,
                "OpConfirmedWorkQuantity3": f"{hours:.3f}",
                "OpWorkQuantityUnit3": "H",
                "ConfirmationYieldQuantity": "0",
                "ConfirmationScrapQuantity": "0",
                "FinalConfirmationType": "",
            }

    # --- HTTP ---------------------------------------------------------------------------------

    def route(self, path: str, params: list[tuple[str, str]]) -> Answer:
        failed = self._fault()
        if failed:
            return failed
        collections = {
            ORDERS: self.orders,
            PRODUCTS: self.products,
            CONFIRMATIONS: self.confirmations,
        }
        sets = [c.rsplit("/", 1) for c in collections]
        documents = {f"{service}/": entity_set for service, entity_set in sets}
        if path in documents:  # the service document, where clients fetch a CSRF token
            return 200, {"d": {"EntitySets": [documents[path]]}}
        if path not in collections:
            return _error(404, "/IWFND/CM_MGW/020", f"Resource not found for segment '{path}'")
        query = dict(params)
        entities = collections[path]()
        if "$filter" in query:
            since = _changed_since(query["$filter"])
            if since is None:
                return _error(
                    400, "/IWBEP/CM_MGW_RT/004", f"Unsupported $filter {query['$filter']}"
                )
            entities = [e for e in entities if parse_datetime(e["LastChangeDateTime"]) >= since]
        skip = int(query.get("$skiptoken") or 0)
        page = entities[skip : skip + self.page_size]
        body: dict[str, Any] = {"results": page}
        if skip + self.page_size < len(entities):
            following = {key: value for key, value in query.items() if key != "$skiptoken"}
            following["$skiptoken"] = str(skip + self.page_size)
            body["__next"] = f"{path}?{urlencode(following)}"
        return 200, {"d": body}

    def post(self, path: str, document: object) -> Answer:
        failed = self._fault()
        if failed:
            return failed
        if path != CONFIRMATIONS:
            return _error(405, "/IWBEP/CM_MGW_RT/021", f"Method POST not allowed for {path}")
        if not isinstance(document, dict):
            return _error(400, "/IWBEP/CM_MGW_RT/000", "The request body is not an entity")
        order_id = str(document.get("OrderID", ""))
        if order_id not in {order["ManufacturingOrder"] for order in self.orders()}:
            return _error(400, "RU/110", f"Order {order_id} does not exist")
        try:
            yield_qty = parse_decimal(document.get("ConfirmationYieldQuantity", "0"))
            scrap_qty = parse_decimal(document.get("ConfirmationScrapQuantity", "0"))
        except ValueError as exc:
            return _error(400, "/IWBEP/CM_MGW_RT/000", str(exc))
        with self._lock:
            record = self.posted.setdefault(order_id, _Posted())
            created = {
                **document,
                "ConfirmationGroup": _confirmation_group(order_id),
                "ConfirmationCount": str(1000 + len(record.confirmations)),
                "Personnel": "",
            }
            record.confirmations.append(created)
            record.yield_qty += yield_qty
            record.scrap_qty += scrap_qty
            record.final = record.final or document.get("FinalConfirmationType") == "1"
            record.changed = self.current()
        return 201, {"d": created}

    def _fault(self) -> Answer | None:
        with self._lock:
            self.requests += 1
            failing = self.requests - self.fault_after
            if self.fault is None or failing <= 0 or failing > (self.fault_times or failing):
                return None
        if self.fault == "timeout":
            time.sleep(self.delay_s)
            return None
        if self.fault == "error":
            return _error(500, "/IWBEP/CM_MGW_RT/001", "Internal server error")
        if self.fault == "odata_error":
            return _error(400, "/IWBEP/CM_MGW_RT/004", "Order data is locked by user BATCHJOB")
        if self.fault == "html":
            page = b"<html><head><title>Logon</title></head><body>SAP NetWeaver logon</body></html>"
            return 200, Raw("text/html; charset=utf-8", page)
        return 200, Raw("application/json", b'{"d": {"results": [{"ManufacturingOrder": ')


def _error(status: int, code: str, message: str) -> Answer:
    return status, {"error": {"code": code, "message": {"lang": "en", "value": message}}}


def _local(instant: dt.datetime, site: Site) -> tuple[str, str]:
    """An instant as the plant's local date (`/Date(ms)/` at midnight) and time (`PT..`)."""
    local = instant.astimezone(ZoneInfo(site.timezone)).replace(tzinfo=None)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return format_datetime(midnight.replace(tzinfo=dt.UTC)), format_time(local - midnight)


def _offset(instant: dt.datetime) -> str:
    """An `Edm.DateTimeOffset` in UTC."""
    return format_datetime(instant).replace(")/", "+0000)/")


def _changed_since(expression: str) -> dt.datetime | None:
    """The instant of `LastChangeDateTime ge datetimeoffset'...'`, the one filter served."""
    prefix, suffix = "LastChangeDateTime ge datetimeoffset'", "'"
    if not (expression.startswith(prefix) and expression.endswith(suffix)):
        return None
    text = expression[len(prefix) : -len(suffix)].replace("Z", "+00:00")
    return dt.datetime.fromisoformat(text)


def _confirmation_group(order_id: str) -> str:
    return str(10_000_000 + zlib.crc32(order_id.encode()) % 10**7)


@contextmanager
def serve_erp(
    plant: PlantModel, seed: int, since: dt.datetime, now: dt.datetime | None = None
) -> Iterator[tuple[SimulatedErp, str]]:
    """The simulated ERP on a free local port; yields it and `OEE_ERP_URL` (up to the services)."""
    erp = SimulatedErp(plant, seed, since, now)
    with erp.serve() as server:
        yield erp, f"{server.url}{PREFIX}"
