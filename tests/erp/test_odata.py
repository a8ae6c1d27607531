"""OData v2 values as SAP writes them, the SAP mapping of one order, and where paging may go."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from oee_pipelines.connectors.erp import SAP_S4HANA, MappingError, ODataClient, Plants
from oee_pipelines.connectors.erp.odata import (
    format_datetime,
    format_time,
    parse_datetime,
    parse_decimal,
    parse_time,
)
from oee_pipelines.errors import SourceError
from simulator.servers._http import Credentials, JsonServer

BERLIN = Plants({"BER": ZoneInfo("Europe/Berlin")})
ORDER = {
    "ManufacturingOrder": "1000042",
    "ProductionPlant": "BER",
    "ProductionLine": "BER-L1",
    "Material": "FG-0815",
    "TotalQuantity": "1200.000",
    "MfgOrderPlannedStartDate": "/Date(1774742400000)/",  # 2026-03-29, the spring-forward day
    "MfgOrderPlannedStartTime": "PT01H30M00S",
    "MfgOrderPlannedEndDate": "/Date(1774742400000)/",
    "MfgOrderPlannedEndTime": "PT15H51M04S",
    "OrderIsReleased": True,
    "OrderIsPartiallyConfirmed": True,
}


def test_values_are_read_as_odata_v2_json_writes_them() -> None:
    assert parse_datetime("/Date(1492041600000)/") == dt.datetime(2017, 4, 13, tzinfo=dt.UTC)
    assert parse_datetime("/Date(1492041600000+0120)/") == dt.datetime(2017, 4, 13, tzinfo=dt.UTC)
    assert parse_time("PT15H51M04S") == dt.timedelta(hours=15, minutes=51, seconds=4)
    assert parse_time("PT0S") == dt.timedelta(0)
    assert parse_decimal(" 12.500 ") == Decimal("12.5")
    instant = dt.datetime(2026, 11, 23, 6, 10, 5, tzinfo=dt.UTC)
    assert parse_datetime(format_datetime(instant)) == instant
    assert format_time(dt.timedelta(hours=15, minutes=51, seconds=4)) == "PT15H51M04S"


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (parse_datetime, "2026-11-23"),
        (parse_datetime, "/Date(abc)/"),
        (parse_time, "15:51:04"),
        (parse_time, "PT"),
        (parse_decimal, "12,5"),
        (parse_decimal, "NaN"),
    ],
)
def test_a_malformed_value_is_an_error(parse: object, text: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        parse(text)  # type: ignore[operator]


def test_an_order_maps_to_the_columns_the_erp_owns_in_the_plants_local_time() -> None:
    row = SAP_S4HANA.production_orders.row(ORDER, BERLIN)
    assert row == {
        "work_order_id": "1000042",
        "site_id": "BER",
        "line_id": "BER-L1",
        "product_sku": "FG-0815",
        "planned_start": dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC),  # CET, +01:00
        "planned_end": dt.datetime(2026, 3, 29, 13, 51, 4, tzinfo=dt.UTC),  # CEST, +02:00
        "planned_qty": 1200.0,
        "status": "running",
    }


def test_a_record_that_does_not_map_names_the_order_and_the_column() -> None:
    with pytest.raises(MappingError, match=r"A_ProductionOrder_2 '1000042': planned_qty: "):
        SAP_S4HANA.production_orders.row(ORDER | {"TotalQuantity": "lots"}, BERLIN)
    with pytest.raises(MappingError, match="site_id|unknown plant 'XXXX'"):
        SAP_S4HANA.production_orders.row(ORDER | {"ProductionPlant": "XXXX"}, BERLIN)


def test_a_next_link_to_another_server_is_refused() -> None:
    """`__next` must stay on the server the credentials were given to."""

    def route(path: str, params: list[tuple[str, str]]) -> tuple[int, object]:
        page = {"results": [{"Product": "A"}], "__next": "http://evil.example/odata/Set?p=2"}
        return 200, {"d": page}

    with JsonServer(route, Credentials()) as server, ODataClient("erp", server.url) as client:
        entities = client.entities("SRV", "Set")
        assert next(entities) == {"Product": "A"}
        with pytest.raises(SourceError, match="__next points to another server"):
            next(entities)
