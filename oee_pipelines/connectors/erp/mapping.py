"""How an ERP's entities become warehouse rows: declared as data, one mapping per ERP product.

The client (OData v2) and the sync assets are the same for every ERP; what differs between SAP
S/4HANA and, say, Oracle is which service and entity set holds the orders and which field feeds
which column through which converter. A second ERP is a second `ErpMapping`, not a new
pipeline. Converters read one record and return a column's value, or raise ValueError, which
`EntityMapping.row` turns into a `MappingError` naming the column and the record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from oee_pipelines.connectors.erp.odata import (
    datetime_literal,
    parse_datetime,
    parse_decimal,
    parse_time,
)


@dataclass(frozen=True)
class Plants:
    """What the mapping needs of the plant: each ERP plant's timezone (plant code = site id)."""

    zones: Mapping[str, ZoneInfo]

    def zone(self, plant: str) -> ZoneInfo:
        if plant not in self.zones:
            raise ValueError(f"unknown plant {plant!r} (no site of that id)")
        return self.zones[plant]


Converter = Callable[[Mapping[str, Any], Plants], Any]
"""One column's value from one record."""


class MappingError(ValueError):
    """A record that cannot become a row: names the record and the column."""


def _field(record: Mapping[str, Any], name: str) -> Any:
    value = record.get(name)
    if value is None or value == "":
        raise ValueError(f"{name} is missing")
    return value


def text(name: str, *, optional: bool = False) -> Converter:
    """A string field as it is."""

    def convert(record: Mapping[str, Any], _: Plants) -> str | None:
        if optional and not record.get(name):
            return None
        return str(_field(record, name)).strip()

    return convert


def number(name: str, *, optional: bool = False) -> Converter:
    """An `Edm.Decimal` (a JSON string) as a float."""

    def convert(record: Mapping[str, Any], _: Plants) -> float | None:
        if optional and record.get(name) in (None, ""):
            return None
        return float(parse_decimal(_field(record, name)))

    return convert


def instant(name: str, *, optional: bool = False) -> Converter:
    """An `Edm.DateTime(Offset)` in UTC."""

    def convert(record: Mapping[str, Any], _: Plants) -> dt.datetime | None:
        if optional and not record.get(name):
            return None
        return parse_datetime(_field(record, name))

    return convert


def plant_time(date_name: str, time_name: str, plant_name: str) -> Converter:
    """A date field and a time field in the plant's local time (as SAP keeps order dates)."""

    def convert(record: Mapping[str, Any], plants: Plants) -> dt.datetime:
        day = parse_datetime(_field(record, date_name)).date()
        local = dt.datetime.combine(day, dt.time()) + parse_time(_field(record, time_name))
        zone = plants.zone(str(_field(record, plant_name)))
        return local.replace(tzinfo=zone).astimezone(dt.UTC)

    return convert


def duration_s(quantity_name: str, unit_name: str) -> Converter:
    """A duration given as a quantity and its unit of time (H, MIN, S) in seconds."""
    factors = {"H": 3600, "HUR": 3600, "MIN": 60, "S": 1, "SEC": 1}

    def convert(record: Mapping[str, Any], _: Plants) -> float:
        unit = str(_field(record, unit_name)).upper()
        if unit not in factors:
            raise ValueError(f"{unit_name} {unit!r} is not a unit of time")
        return float(parse_decimal(_field(record, quantity_name)) * factors[unit])

    return convert


def status(flags: Sequence[tuple[str, str]], default: str) -> Converter:
    """The status of the first true flag field in `flags` (most advanced first), else default."""

    def convert(record: Mapping[str, Any], _: Plants) -> str:
        return next((value for name, value in flags if record.get(name) is True), default)

    return convert


@dataclass(frozen=True)
class EntityMapping:
    """One entity set and the columns its records fill."""

    service: str
    entity_set: str
    columns: Mapping[str, Converter]
    key: str
    """The field that names a record in errors (the order number)."""
    changed_field: str | None = None
    """An `Edm.DateTimeOffset` field of the last change: incremental pulls filter on it."""
    keep: Callable[[Mapping[str, Any]], bool] | None = None
    """Which records of the set are this entity's (None: all of them)."""

    def changed_since(self, since: dt.datetime | None) -> str | None:
        """The `$filter` of an incremental pull (None: a full one). `ge`, not `gt`: records
        changed in the same second as the last pull's newest are read again (and, unchanged,
        written as nothing), rather than lost."""
        if since is None or self.changed_field is None:
            return None
        return f"{self.changed_field} ge {datetime_literal(since)}"

    def last_change(self, record: Mapping[str, Any]) -> dt.datetime | None:
        if self.changed_field is None or not record.get(self.changed_field):
            return None
        return parse_datetime(record[self.changed_field])

    def row(self, record: Mapping[str, Any], plants: Plants) -> dict[str, Any]:
        """The record's columns; MappingError names the record and the failing column."""
        row = {}
        for column, convert in self.columns.items():
            try:
                row[column] = convert(record, plants)
            except (ValueError, TypeError) as exc:
                raise MappingError(
                    f"{self.entity_set} {record.get(self.key)!r}: {column}: {exc}"
                ) from exc
        return row


@dataclass(frozen=True)
class Confirmation:
    """Produced quantities of one order to confirm to the ERP (yield and scrap)."""

    work_order_id: str
    plant: str
    yield_qty: float
    scrap_qty: float
    start: dt.datetime
    end: dt.datetime
    final: bool


@dataclass(frozen=True)
class ConfirmationMapping:
    """Where and in which shape the ERP takes production confirmations."""

    service: str
    entity_set: str
    body: Callable[[Confirmation, Plants], dict[str, Any]]


@dataclass(frozen=True)
class ErpMapping:
    """Everything that makes one ERP product: its entities and how confirmations are posted."""

    system: str
    production_orders: EntityMapping
    materials: EntityMapping
    labor: EntityMapping
    confirmations: ConfirmationMapping
    confirmed_yield: str
    """The order field holding the yield already confirmed (what a confirmation adds to)."""
    confirmed_scrap: str
    """The order field holding the scrap already confirmed."""
