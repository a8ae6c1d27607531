"""An MES's SOAP service (zeep, from its WSDL), with messages modelled on B2MML V0600.

GetProductionSchedule answers ShowProductionSchedule: ProductionRequests (work orders) with their
SegmentRequirement (planned window) and MaterialProducedRequirement (product and quantity).
GetOperationsDefinition answers the recipes, GetShiftAssignment (an extension) the operators
of each shift; ProcessProductionPerformance writes actuals back and is acknowledged. The answers
become the same plain records as the REST client's.

Hostile XML is refused, never parsed: a DTD (the way in for external entities and entity
expansion such as the billion laughs), entities and external references are forbidden, and the
HTTP layer refuses bodies above its size limit before lxml sees them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import httpx
import zeep
from zeep import exceptions as zeep_errors

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

BINDING = "{urn:oee:mes:service}MesBinding"
SAFE_XML = zeep.Settings(
    strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True, xml_huge_tree=False
)
_HOSTILE = (
    zeep_errors.DTDForbidden,
    zeep_errors.EntitiesForbidden,
    zeep_errors.ExternalReferenceForbidden,
)
T = TypeVar("T")


class _GuardedTransport(zeep.Transport):
    """zeep's transport over the guarded HTTP calls: retries, size limit, errors named."""

    def __init__(self, http: GuardedHttp) -> None:
        super().__init__()
        self._guarded = http

    def load(self, url: str) -> bytes:
        if not url.startswith(("http://", "https://")):
            raise SourceError(SYSTEM, url, "only http(s) documents are loaded")
        return self._guarded.request("GET", url).content

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> httpx.Response:
        return self._guarded.request(
            "POST", address, content=message, headers=headers, answered=_soap_fault
        )


def _soap_fault(response: httpx.Response) -> bool:
    """A 500 carrying XML is a SOAP fault: an answer for zeep to read, not a failure to retry."""
    return response.status_code == 500 and "xml" in response.headers.get("Content-Type", "")


class MesSoapClient:
    """Reads the MES's B2MML messages; writes production performance back."""

    def __init__(self, url: str, http: GuardedHttp | None = None) -> None:
        """`http`: how calls are made (auth, timeout, retries, size limit); defaults otherwise."""
        self.url = url
        self._http = http or GuardedHttp.open(SYSTEM)
        self._service: Any = None

    def __enter__(self) -> MesSoapClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    @property
    def service(self) -> Any:
        """The service from the MES's WSDL, loaded on first use, bound to the configured URL."""
        if self._service is None:
            client = self._call(
                "WSDL",
                lambda: zeep.Client(
                    f"{self.url}?wsdl", transport=_GuardedTransport(self._http), settings=SAFE_XML
                ),
            )
            self._service = client.create_service(BINDING, self.url)
        return self._service

    def changes(self, since: Mapping[str, dt.datetime | None]) -> MesChanges:
        """Every record changed at or after its watermark: a work order and its schedule entry
        are one ProductionRequest, so both are asked for since the older of their marks."""
        try:
            return self._changes(since)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise SourceError(SYSTEM, f"SOAP {self.url}", f"unexpected answer: {exc!r}") from exc

    def _changes(self, since: Mapping[str, dt.datetime | None]) -> MesChanges:
        marks = [since.get("work_orders"), since.get("schedule")]
        order_since = None if None in marks else min(m for m in marks if m is not None)
        requests = [
            (schedule, request)
            for schedule in self._pages(
                "GetProductionSchedule", order_since, "ProductionSchedule", b2mml=True
            )
            for request in schedule.ProductionRequest
        ]
        return MesChanges(
            work_orders=[_order(schedule, request) for schedule, request in requests],
            schedule=[_entry(schedule, request) for schedule, request in requests],
            recipes=[
                _recipe(definition)
                for definition in self._pages(
                    "GetOperationsDefinition",
                    since.get("recipes"),
                    "OperationsDefinition",
                    b2mml=True,
                )
            ],
            shifts=[
                _shift(assignment)
                for assignment in self._pages(
                    "GetShiftAssignment", since.get("shifts"), "ShiftAssignment", b2mml=False
                )
            ],
        )

    def report(self, actual: WorkOrderActual) -> None:
        """ProcessProductionPerformance with one ProductionResponse; the MES acknowledges it."""
        quantity = {"QuantityString": _number(actual.produced_qty), "UnitOfMeasure": "EA"}
        answer = self._call(
            "ProcessProductionPerformance",
            lambda: self.service.ProcessProductionPerformance(
                ApplicationArea=_application_area(),
                DataArea={
                    "Process": "",
                    "ProductionPerformance": {
                        "ID": f"PERF-{actual.work_order_id}",
                        "ProductionResponse": [
                            {
                                "ID": f"RESP-{actual.work_order_id}",
                                "ProductionRequestID": actual.work_order_id,
                                "SegmentResponse": {
                                    "ID": actual.work_order_id,
                                    "ActualStartTime": actual.actual_start,
                                    "ActualEndTime": actual.actual_end,
                                    "MaterialProducedActual": {"Quantity": quantity},
                                },
                            }
                        ],
                    },
                },
            ),
        )
        acknowledged = answer.DataArea.ProductionPerformance.ID
        if acknowledged != f"PERF-{actual.work_order_id}":
            raise SourceError(
                SYSTEM,
                f"SOAP ProcessProductionPerformance {self.url}",
                f"acknowledged {acknowledged!r}",
            )

    def _pages(
        self, operation: str, since: dt.datetime | None, noun: str, *, b2mml: bool
    ) -> Iterator[Any]:
        page: int | None = 1
        while page is not None:
            get = {"Page": page, **({"ModifiedSince": since} if since else {})}
            call = getattr(self.service, operation)
            arguments = (
                {"ApplicationArea": _application_area(), "DataArea": {"Get": get}} if b2mml else get
            )
            answer = self._call(operation, lambda: call(**arguments))  # noqa: B023
            body = answer.DataArea if b2mml else answer
            yield from getattr(body, noun) or []
            following = getattr(body.Show if b2mml else body, "NextPage", None)
            if following is not None and following <= page:
                raise SourceError(
                    SYSTEM, f"SOAP {operation} {self.url}", f"bad NextPage {following}"
                )
            page = following

    def _call(self, operation: str, call: Callable[[], T]) -> T:
        """Run a zeep call; its failures become SourceErrors naming the operation and cause."""
        endpoint = f"SOAP {operation} {self.url}"
        try:
            return call()
        except zeep_errors.Fault as fault:
            raise SourceError(
                SYSTEM, endpoint, f"SOAP fault {fault.code}: {fault.message}"
            ) from fault
        except _HOSTILE as exc:
            raise SourceError(SYSTEM, endpoint, f"hostile XML refused: {exc!r}") from exc
        except (zeep_errors.Error, ValueError) as exc:
            raise SourceError(SYSTEM, endpoint, f"{type(exc).__name__}: {exc}") from exc


def _application_area() -> dict[str, dt.datetime]:
    return {"CreationDateTime": dt.datetime.now(dt.UTC)}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _utc(instant: dt.datetime) -> dt.datetime:
    if instant.tzinfo is None:
        raise ValueError(f"instant {instant.isoformat()} has no offset")
    return instant.astimezone(dt.UTC)


def _order(schedule: Any, request: Any) -> WorkOrder:
    produced = request.SegmentRequirement.MaterialProducedRequirement
    return WorkOrder(
        work_order_id=request.ID,
        site_id=schedule.HierarchyScope.EquipmentID,
        line_id=request.HierarchyScope.EquipmentID,
        product_sku=produced.MaterialDefinitionID,
        recipe_id=request.OperationsDefinitionID,
        recipe_version=request.OperationsDefinitionVersion,
        planned_qty=float(produced.Quantity.QuantityString),
        status=request.RequestState,
        modified_at=_utc(request.LastModified),
    )


def _entry(schedule: Any, request: Any) -> ScheduleEntry:
    segment = request.SegmentRequirement
    return ScheduleEntry(
        work_order_id=request.ID,
        line_id=request.HierarchyScope.EquipmentID,
        planned_start=_utc(segment.EarliestStartTime),
        planned_end=_utc(segment.LatestEndTime),
        priority=request.Priority,
        modified_at=_utc(request.LastModified),
    )


def _recipe(definition: Any) -> Recipe:
    durations = {
        segment.ID: segment.Duration.total_seconds() for segment in definition.OperationsSegment
    }
    return Recipe(
        recipe_id=definition.ID,
        version=definition.Version,
        product_sku=definition.MaterialDefinitionID,
        line_id=definition.HierarchyScope.EquipmentID,
        ideal_cycle_time_s=durations["cycle"],
        setup_time_s=durations.get("setup", 0.0),
        teardown_time_s=durations.get("teardown", 0.0),
        valid_from=_utc(definition.PublishedDate),
        modified_at=_utc(definition.LastModified),
    )


def _shift(assignment: Any) -> ShiftAssignment:
    return ShiftAssignment(
        site_id=assignment.SiteID,
        line_id=assignment.LineID or "",
        shift_start=_utc(assignment.ShiftStart),
        operator_ids=tuple(assignment.PersonID),
        modified_at=_utc(assignment.LastModified),
    )
