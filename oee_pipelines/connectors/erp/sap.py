"""SAP S/4HANA as an `ErpMapping`: the OData v2 services of its Production Planning APIs.

- production orders: `API_PRODUCTION_ORDER_2_SRV`, entity set `A_ProductionOrder_2`; planned
  dates and times are in the plant's local time (`Edm.DateTime` date + `Edm.Time` time);
  `LastChangeDateTime` (UTC) drives incremental pulls. The line is read from `ProductionLine`
  (the repetitive-manufacturing line; a system that plans by work center maps that instead).
- materials: `API_PRODUCT_SRV`, entity set `A_Product`.
- labor: the confirmations with a personnel number of `API_PROD_ORDER_CONFIRMATION_2_SRV`,
  entity set `ProdnOrdConf2`, with the labor time as activity 3 of the standard value key SAP1
  (1 setup, 2 machine, 3 labor). Production quantities are confirmed to the same entity set.

The ERP plant code is the site id of the plant model.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from oee_pipelines.connectors.erp.mapping import (
    Confirmation,
    ConfirmationMapping,
    EntityMapping,
    ErpMapping,
    Plants,
    duration_s,
    number,
    plant_time,
    status,
    text,
)
from oee_pipelines.connectors.erp.odata import format_datetime, format_time

PRODUCTION_ORDER_SERVICE = "API_PRODUCTION_ORDER_2_SRV"
PRODUCT_SERVICE = "API_PRODUCT_SRV"
CONFIRMATION_SERVICE = "API_PROD_ORDER_CONFIRMATION_2_SRV"
CONFIRMATION_SET = "ProdnOrdConf2"
OPERATION = "0010"
"""The operation that production is confirmed against: the orders' one (or last) operation."""


def _date_and_time(instant_utc: dt.datetime, plant: str, plants: Plants) -> tuple[str, str]:
    """An instant as SAP's pair of local date (`Edm.DateTime` at midnight) and `Edm.Time`."""
    local = instant_utc.astimezone(plants.zone(plant)).replace(tzinfo=None)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return format_datetime(midnight.replace(tzinfo=dt.UTC)), format_time(local - midnight)


def _confirmation_body(confirmation: Confirmation, plants: Plants) -> dict[str, Any]:
    """A `ProdnOrdConf2` to create: yield and scrap of the order, executed start to end."""
    start_date, start_time = _date_and_time(confirmation.start, confirmation.plant, plants)
    end_date, end_time = _date_and_time(confirmation.end, confirmation.plant, plants)
    return {
        "OrderID": confirmation.work_order_id,
        "OrderOperation": OPERATION,
        "Plant": confirmation.plant,
        "ConfirmationYieldQuantity": f"{confirmation.yield_qty:g}",
        "ConfirmationScrapQuantity": f"{confirmation.scrap_qty:g}",
        "FinalConfirmationType": "1" if confirmation.final else "",
        "ConfirmedExecutionStartDate": start_date,
        "ConfirmedExecutionStartTime": start_time,
        "ConfirmedExecutionEndDate": end_date,
        "ConfirmedExecutionEndTime": end_time,
        "ConfirmationText": "OEE platform: quantities counted at the line",
    }


SAP_S4HANA = ErpMapping(
    system="sap",
    production_orders=EntityMapping(
        service=PRODUCTION_ORDER_SERVICE,
        entity_set="A_ProductionOrder_2",
        key="ManufacturingOrder",
        changed_field="LastChangeDateTime",
        columns={
            "work_order_id": text("ManufacturingOrder"),
            "site_id": text("ProductionPlant"),
            "line_id": text("ProductionLine", optional=True),
            "product_sku": text("Material"),
            "planned_start": plant_time(
                "MfgOrderPlannedStartDate", "MfgOrderPlannedStartTime", "ProductionPlant"
            ),
            "planned_end": plant_time(
                "MfgOrderPlannedEndDate", "MfgOrderPlannedEndTime", "ProductionPlant"
            ),
            "planned_qty": number("TotalQuantity"),
            "status": status(
                [
                    ("OrderIsMarkedForDeletion", "cancelled"),
                    ("OrderIsClosed", "closed"),
                    ("OrderIsTechnicallyCompleted", "completed"),
                    ("OrderIsConfirmed", "completed"),
                    ("OrderIsPartiallyConfirmed", "running"),
                    ("OrderIsReleased", "released"),
                ],
                default="planned",
            ),
        },
    ),
    materials=EntityMapping(
        service=PRODUCT_SERVICE,
        entity_set="A_Product",
        key="Product",
        changed_field="LastChangeDateTime",
        columns={
            "material_id": text("Product"),
            "material_type": text("ProductType"),
            "material_group": text("ProductGroup", optional=True),
            "base_unit": text("BaseUnit"),
        },
    ),
    labor=EntityMapping(
        service=CONFIRMATION_SERVICE,
        entity_set=CONFIRMATION_SET,
        key="ConfirmationCount",
        keep=lambda record: bool(record.get("Personnel")),
        columns={
            "confirmation_group": text("ConfirmationGroup"),
            "confirmation_count": text("ConfirmationCount"),
            "work_order_id": text("OrderID"),
            "operation": text("OrderOperation"),
            "work_center": text("WorkCenter", optional=True),
            "personnel_id": text("Personnel"),
            "start_ts": plant_time(
                "ConfirmedExecutionStartDate", "ConfirmedExecutionStartTime", "Plant"
            ),
            "end_ts": plant_time("ConfirmedExecutionEndDate", "ConfirmedExecutionEndTime", "Plant"),
            "labor_s": duration_s("OpConfirmedWorkQuantity3", "OpWorkQuantityUnit3"),
            "yield_qty": number("ConfirmationYieldQuantity", optional=True),
            "scrap_qty": number("ConfirmationScrapQuantity", optional=True),
        },
    ),
    confirmations=ConfirmationMapping(
        service=CONFIRMATION_SERVICE, entity_set=CONFIRMATION_SET, body=_confirmation_body
    ),
    confirmed_yield="MfgOrderConfirmedYieldQty",
    confirmed_scrap="MfgOrderConfirmedScrapQty",
)
