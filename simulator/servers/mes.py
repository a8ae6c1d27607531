"""The simulated plant's MES over real HTTP: a REST API and a SOAP (B2MML V0600) service.

Both serve the ground truth of the simulated plant as of `now`: the work orders the machines run
(published a day before they start, `running` from their start, `completed` at their end), their
schedule, the recipe versions of every line's catalogue and the operators of each shift. Every
record carries the MES time of its last change, which incremental pulls filter on. Write-backs
(actuals) are recorded in `reports`. `faults` makes a REST collection or a SOAP operation fail
the way real servers do: an HTTP 500, a stall past the client's timeout, malformed JSON, an HTML
page, a gigantic body, a SOAP fault, or hostile XML (entity expansion, an external entity).
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass, field, replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

import orjson
from lxml import etree  # type: ignore[import-untyped]

from oee_pipelines.connectors.mes import (
    MesChanges,
    Recipe,
    ScheduleEntry,
    ShiftAssignment,
    WorkOrder,
    WorkOrderActual,
)
from oee_pipelines.plant_model import PlantModel
from simulator import SimulatedPlant, production_day_start
from simulator import WorkOrder as SimulatedOrder
from simulator._timeline import SETUP_MINUTES, catalogue, line_rate_s

from ._http import Credentials, HttpServer

Fault = Literal[
    "error", "timeout", "malformed", "html", "huge", "soap_fault", "entities", "external"
]
WSDL_PATH = Path(__file__).with_name("mes.wsdl")
SOAP_PATH = "/mes/soap"
REST_PREFIX = "/api/v1/"
B2MML = "http://www.mesa.org/xml/B2MML-V0600"
EXTENSION = "urn:oee:mes:extension"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PUBLISHED_AHEAD = dt.timedelta(days=1)
"""Work orders, their schedule and shift rosters are published this long before they start."""
RECIPES_SINCE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
RECIPE_VERSION_EVERY = dt.timedelta(days=90)
SUPERSEDED_CYCLE_FACTOR = 1.1
"""An older recipe version ran this much slower than the current one."""
TEARDOWN_S = 300.0
OPERATORS_PER_SITE = 24
PLANNED_RATE = 0.85
"""Planned quantity of an order: its hours at this share of the ideal rate of its line."""

Reply = tuple[int, str, bytes]
"""HTTP status, content type, body."""


@dataclass
class SimulatedMes:
    """The MES of the simulated plant from production day `first_day` on, as of `now`."""

    plant: PlantModel
    seed: int
    first_day: dt.date
    now: dt.datetime
    credentials: Credentials = field(default_factory=Credentials)
    page_size: int = 100
    stall_s: float = 5.0
    faults: dict[str, Fault] = field(default_factory=dict)
    """Keyed by REST collection (`work-orders`, ...) or SOAP operation (`GetShiftAssignment`)."""
    reports: list[tuple[str, WorkOrderActual]] = field(default_factory=list)
    """Actuals received, with the protocol ('rest' or 'soap') they came by."""

    def __post_init__(self) -> None:
        self._simulated = SimulatedPlant(self.plant, self.seed)
        self._lock = threading.Lock()

    # --- ground truth -------------------------------------------------------------------------

    def holdings(self) -> MesChanges:
        """Everything the MES holds as of `now`."""
        orders = self._orders()
        return MesChanges(
            work_orders=[self._work_order(order) for order in orders],
            schedule=[_schedule_entry(order) for order in orders],
            recipes=[recipe for recipe in self._recipes() if recipe.modified_at <= self.now],
            shifts=self._shifts(),
        )

    def _orders(self) -> list[SimulatedOrder]:
        """The orders published by `now` that end after the first day starts."""
        orders = []
        for site, line in self.plant.lines():
            start, end = production_day_start(site, self.first_day), self.now + PUBLISHED_AHEAD
            if end > start:
                orders += [
                    order
                    for order in self._simulated.work_orders(line.id, start, end)
                    if order.start - PUBLISHED_AHEAD <= self.now
                ]
        return orders

    def _work_order(self, order: SimulatedOrder) -> WorkOrder:
        if self.now < order.start:
            status, modified = "released", order.start - PUBLISHED_AHEAD
        elif self.now < order.end:
            status, modified = "running", order.start
        else:
            status, modified = "completed", order.end
        line = next(line for _, line in self.plant.lines() if line.id == order.line_id)
        seconds = (order.end - order.start).total_seconds()
        return WorkOrder(
            work_order_id=order.work_order_id,
            site_id=order.site_id,
            line_id=order.line_id,
            product_sku=order.product_sku,
            recipe_id=order.recipe_id,
            recipe_version=str(order.recipe_version),
            planned_qty=float(int(seconds * PLANNED_RATE / line_rate_s(line))),
            status=status,
            modified_at=modified,
        )

    def _recipes(self) -> list[Recipe]:
        recipes = []
        for _, line in self.plant.lines():
            for product in catalogue(line):
                current = product.recipe_version
                for version in range(1, current + 1):
                    valid_from = RECIPES_SINCE + (version - 1) * RECIPE_VERSION_EVERY
                    factor = 1.0 if version == current else SUPERSEDED_CYCLE_FACTOR
                    recipes.append(
                        Recipe(
                            recipe_id=product.recipe_id,
                            version=str(version),
                            product_sku=product.product_sku,
                            line_id=line.id,
                            ideal_cycle_time_s=round(product.ideal_cycle_time_s * factor, 3),
                            setup_time_s=SETUP_MINUTES[1] * 60,
                            teardown_time_s=TEARDOWN_S,
                            valid_from=valid_from,
                            modified_at=valid_from,
                        )
                    )
        return recipes

    def _shifts(self) -> list[ShiftAssignment]:
        assignments = []
        for site in self.plant.sites:
            start = production_day_start(site, self.first_day)
            end = self.now + PUBLISHED_AHEAD
            if end <= start:
                continue
            operators = [f"OP-{site.id}-{n:03d}" for n in range(1, OPERATORS_PER_SITE + 1)]
            for window in self._simulated.shifts(site.id, start, end):
                if window.start < start or window.start - PUBLISHED_AHEAD > self.now:
                    continue
                for line in site.lines:
                    rng = random.Random(f"{self.seed}:{line.id}:{window.start.isoformat()}:crew")
                    assignments.append(
                        ShiftAssignment(
                            site_id=site.id,
                            line_id=line.id,
                            shift_start=window.start,
                            operator_ids=tuple(sorted(rng.sample(operators, 2))),
                            modified_at=window.start - PUBLISHED_AHEAD,
                        )
                    )
        return assignments

    def _since(
        self, records: list[Any], since: dt.datetime | None, page: int, size: int | None = None
    ) -> tuple[list[Any], int | None]:
        """One page of the records changed at or after `since`, in a stable order."""
        size = size or self.page_size
        chosen = sorted(
            (r for r in records if since is None or r.modified_at >= since),
            key=lambda record: (record.modified_at, astuple(record)),
        )
        first = (page - 1) * size
        following = page + 1 if first + size < len(chosen) else None
        return chosen[first : first + size], following

    def _report(self, protocol: str, actual: WorkOrderActual) -> bool:
        known = {order.work_order_id for order in self._orders()}
        if actual.work_order_id not in known:
            return False
        with self._lock:
            self.reports.append((protocol, actual))
        return True

    # --- serving ------------------------------------------------------------------------------

    def serve_rest(self, host: str = "127.0.0.1", port: int = 0) -> HttpServer:
        """The REST API on a real socket (not started); its url is the API's base URL."""
        return HttpServer(
            _handler(self._rest, self.credentials, self.stall_s, self.faults), host, port
        )

    def serve_soap(self, host: str = "127.0.0.1", port: int = 0) -> HttpServer:
        """The SOAP service (WSDL at `{url}/mes/soap?wsdl`) on a real socket (not started)."""
        return HttpServer(
            _handler(self._soap, self.credentials, self.stall_s, self.faults), host, port
        )

    def _rest(self, method: str, target: str, body: bytes, base: str) -> tuple[str, Reply]:
        parts = urlsplit(target)
        path = parts.path
        if not path.startswith(REST_PREFIX):
            return "", _json(404, {"error": f"no resource {path}"})
        resource = path[len(REST_PREFIX) :]
        if (
            method == "PUT"
            and resource.startswith("work-orders/")
            and resource.endswith("/actuals")
        ):
            order_id = unquote(resource[len("work-orders/") : -len("/actuals")])
            return "work-orders/actuals", self._rest_actuals(order_id, body)
        collections: dict[str, tuple[Callable[[], list[Any]], Callable[[Any], dict[str, Any]]]] = {
            "work-orders": (lambda: self.holdings().work_orders, _order_json),
            "production-schedule": (lambda: self.holdings().schedule, _entry_json),
            "recipes": (lambda: self.holdings().recipes, _recipe_json),
            "operator-shifts": (lambda: self.holdings().shifts, _shift_json),
        }
        if method != "GET" or resource not in collections:
            return resource, _json(404, {"error": f"no resource {method} {path}"})
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        try:
            since = (
                dt.datetime.fromisoformat(query["modifiedSince"])
                if "modifiedSince" in query
                else None
            )
            page = int(query.get("page", "1"))
            size = int(query.get("pageSize", self.page_size))
        except ValueError as exc:
            return resource, _json(400, {"error": str(exc)})
        records, to_json = collections[resource]
        items, following = self._since(records(), since, page, size)
        return resource, _json(
            200, {"items": [to_json(item) for item in items], "nextPage": following}
        )

    def _rest_actuals(self, order_id: str, body: bytes) -> Reply:
        try:
            sent = orjson.loads(body)
            actual = WorkOrderActual(
                order_id,
                dt.datetime.fromisoformat(sent["actualStart"]),
                dt.datetime.fromisoformat(sent["actualEnd"]),
                float(sent["producedQuantity"]),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            return _json(400, {"error": f"bad actuals: {exc}"})
        if not self._report("rest", actual):
            return _json(404, {"error": f"no work order {order_id}"})
        return _json(200, {"workOrderId": order_id, "status": "accepted"})

    def _soap(self, method: str, target: str, body: bytes, base: str) -> tuple[str, Reply]:
        if urlsplit(target).path != SOAP_PATH:
            return "", (404, "text/plain", b"not found")
        if method == "GET":
            wsdl = WSDL_PATH.read_text().replace("http://localhost/mes/soap", base + SOAP_PATH)
            return "wsdl", (200, "text/xml; charset=utf-8", wsdl.encode())
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        try:
            envelope = etree.fromstring(body, parser)
            if envelope.getroottree().docinfo.doctype:
                raise ValueError("a DTD in a request is refused")
            request = envelope.find(f"{{{SOAP_ENV}}}Body")[0]
        except (etree.XMLSyntaxError, ValueError, TypeError, IndexError) as exc:
            return "", _soap_fault("Client", f"unreadable request: {exc}")
        operation = etree.QName(request).localname
        answers = {
            "GetProductionSchedule": self._show_schedule,
            "GetOperationsDefinition": self._show_definitions,
            "GetShiftAssignment": self._show_shifts,
            "ProcessProductionPerformance": self._acknowledge,
        }
        if operation not in answers:
            return operation, _soap_fault("Client", f"unknown operation {operation}")
        return operation, answers[operation](request)

    def _get(self, request: Any) -> tuple[dt.datetime | None, int]:
        since = _text(request, "ModifiedSince")
        page = _text(request, "Page")
        return (dt.datetime.fromisoformat(since) if since else None), int(page or 1)

    def _show_schedule(self, request: Any) -> Reply:
        since, page = self._get(request)
        holdings = self.holdings()
        entries = {entry.work_order_id: entry for entry in holdings.schedule}
        orders = [
            _changed_order(order, entries[order.work_order_id]) for order in holdings.work_orders
        ]
        chosen, following = self._since(orders, since, page)
        schedules: dict[tuple[str, str], list[Any]] = {}
        for order in chosen:
            schedules.setdefault((order.site_id, order.line_id), []).append(order)
        body = _b2mml(
            "ShowProductionSchedule",
            _show(following),
            *(
                _b(
                    "ProductionSchedule",
                    _b("ID", f"PS-{line_id}"),
                    _scope(site_id, "Site"),
                    *(_request_xml(order, entries[order.work_order_id]) for order in line_orders),
                )
                for (site_id, line_id), line_orders in schedules.items()
            ),
        )
        return _soap_reply(body)

    def _show_definitions(self, request: Any) -> Reply:
        since, page = self._get(request)
        chosen, following = self._since(self.holdings().recipes, since, page)
        return _soap_reply(
            _b2mml("ShowOperationsDefinition", _show(following), *map(_definition_xml, chosen))
        )

    def _show_shifts(self, request: Any) -> Reply:
        since, page = self._get(request)
        chosen, following = self._since(self.holdings().shifts, since, page)
        answer = etree.Element(f"{{{EXTENSION}}}ShowShiftAssignment", nsmap={None: EXTENSION})
        if following is not None:
            _x(answer, "NextPage", str(following))
        for shift in chosen:
            node = _x(answer, "ShiftAssignment")
            _x(node, "SiteID", shift.site_id)
            if shift.line_id:
                _x(node, "LineID", shift.line_id)
            _x(node, "ShiftStart", shift.shift_start.isoformat())
            for person in shift.operator_ids:
                _x(node, "PersonID", person)
            _x(node, "LastModified", shift.modified_at.isoformat())
        return _soap_reply(answer)

    def _acknowledge(self, request: Any) -> Reply:
        performance_id = _text(request, "ProductionPerformance/ID") or ""
        try:
            actuals = [
                WorkOrderActual(
                    _text(response, "ProductionRequestID") or "",
                    dt.datetime.fromisoformat(
                        _text(response, "SegmentResponse/ActualStartTime") or ""
                    ),
                    dt.datetime.fromisoformat(
                        _text(response, "SegmentResponse/ActualEndTime") or ""
                    ),
                    float(
                        _text(
                            response,
                            "SegmentResponse/MaterialProducedActual/Quantity/QuantityString",
                        )
                        or ""
                    ),
                )
                for response in request.iter(f"{{{B2MML}}}ProductionResponse")
            ]
        except ValueError as exc:
            return _soap_fault("Client", f"bad ProductionPerformance: {exc}")
        for actual in actuals:
            if not self._report("soap", actual):
                return _soap_fault("Client", f"unknown ProductionRequest {actual.work_order_id}")
        return _soap_reply(
            _b2mml(
                "AcknowledgeProductionPerformance",
                _b("Acknowledge", ""),
                _b("ProductionPerformance", _b("ID", performance_id)),
            )
        )


@contextmanager
def serve_mes(
    plant: PlantModel, seed: int, first_day: dt.date, clock: Callable[[], dt.datetime]
) -> Iterator[dict[str, str]]:
    """The simulated REST and SOAP MES, as of `clock()` at start; yields the environment
    (`OEE_MES_URL`, `OEE_MES_SOAP_URL`) that points the code location at them."""
    mes = SimulatedMes(plant, seed, first_day, clock())
    with mes.serve_rest() as rest, mes.serve_soap() as soap:
        yield {"OEE_MES_URL": rest.url, "OEE_MES_SOAP_URL": f"{soap.url}{SOAP_PATH}"}


# --- HTTP -------------------------------------------------------------------------------------

Dispatch = Callable[[str, str, bytes, str], tuple[str, Reply]]


def _handler(
    dispatch: Dispatch, credentials: Credentials, stall_s: float, faults: dict[str, Fault]
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - the names http.server calls
            self._answer("GET")

        def do_PUT(self) -> None:  # noqa: N802
            self._answer("PUT")

        def do_POST(self) -> None:  # noqa: N802
            self._answer("POST")

        def _answer(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not credentials.allow(self.headers.get("Authorization")):
                self._send(
                    *_json(401, {"error": "Authorization has been denied for this request."})
                )
                return
            try:
                name, reply = dispatch(method, self.path, body, f"http://{self.headers['Host']}")
            except Exception as exc:  # noqa: BLE001 - a simulated server answers 500, as real ones do
                name, reply = "", _json(500, {"error": f"{type(exc).__name__}: {exc}"})
            fault = faults.get(name)
            if fault == "timeout":
                time.sleep(stall_s)
            self._send(*(_faulty(fault, reply) if fault else reply))

        def _send(self, status: int, content_type: str, payload: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="simulated MES"')
                self.end_headers()
                self.wfile.write(payload)
            except ConnectionError:
                pass  # the client gave up (a stalled answer past its timeout)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet: the tests read the answers, not an access log."""

    return Handler


_BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>&lol3;</soap:Body>
</soap:Envelope>"""
_EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>&xxe;</soap:Body>
</soap:Envelope>"""


def _faulty(fault: Fault, reply: Reply) -> Reply:
    """The reply a broken or hostile server sends instead of `reply`."""
    if fault == "error":
        return 500, "text/plain", b"Internal Server Error"
    if fault == "malformed":
        return 200, "application/json", b'{"items": [{"workOrderId": "WO-'
    if fault == "html":
        return 200, "text/html", b"<!DOCTYPE html><html><body><h1>Sign in</h1></body></html>"
    if fault == "huge":
        return 200, reply[1], b" " * (8 * 1024 * 1024) + reply[2]
    if fault == "soap_fault":
        return _soap_fault("Server", "MES database unavailable (simulated)")
    if fault == "entities":
        return 200, "text/xml; charset=utf-8", _BILLION_LAUGHS
    if fault == "external":
        return 200, "text/xml; charset=utf-8", _EXTERNAL_ENTITY
    return reply  # timeout: the answer itself, late


def _json(status: int, body: object) -> Reply:
    return status, "application/json; charset=utf-8", orjson.dumps(body)


# --- JSON -------------------------------------------------------------------------------------


def _order_json(order: WorkOrder) -> dict[str, Any]:
    return {
        "workOrderId": order.work_order_id,
        "siteId": order.site_id,
        "lineId": order.line_id,
        "productSku": order.product_sku,
        "recipeId": order.recipe_id,
        "recipeVersion": order.recipe_version,
        "plannedQuantity": order.planned_qty,
        "status": order.status,
        "modifiedAt": order.modified_at.isoformat(),
    }


def _entry_json(entry: ScheduleEntry) -> dict[str, Any]:
    return {
        "workOrderId": entry.work_order_id,
        "lineId": entry.line_id,
        "plannedStart": entry.planned_start.isoformat(),
        "plannedEnd": entry.planned_end.isoformat(),
        "priority": entry.priority,
        "modifiedAt": entry.modified_at.isoformat(),
    }


def _recipe_json(recipe: Recipe) -> dict[str, Any]:
    return {
        "recipeId": recipe.recipe_id,
        "version": recipe.version,
        "productSku": recipe.product_sku,
        "lineId": recipe.line_id,
        "idealCycleTimeSeconds": recipe.ideal_cycle_time_s,
        "setupTimeSeconds": recipe.setup_time_s,
        "teardownTimeSeconds": recipe.teardown_time_s,
        "validFrom": recipe.valid_from.isoformat(),
        "modifiedAt": recipe.modified_at.isoformat(),
    }


def _shift_json(shift: ShiftAssignment) -> dict[str, Any]:
    return {
        "siteId": shift.site_id,
        "lineId": shift.line_id or None,
        "shiftStart": shift.shift_start.isoformat(),
        "operatorIds": list(shift.operator_ids),
        "modifiedAt": shift.modified_at.isoformat(),
    }


# --- B2MML ------------------------------------------------------------------------------------


def _schedule_entry(order: SimulatedOrder) -> ScheduleEntry:
    return ScheduleEntry(
        work_order_id=order.work_order_id,
        line_id=order.line_id,
        planned_start=order.start,
        planned_end=order.end,
        priority=min(10, int(order.work_order_id.rsplit("-", 1)[1])),
        modified_at=order.start - PUBLISHED_AHEAD,
    )


def _changed_order(order: WorkOrder, entry: ScheduleEntry) -> WorkOrder:
    """A ProductionRequest changes when its order or its schedule entry does."""
    return replace(order, modified_at=max(order.modified_at, entry.modified_at))


def _b(name: str, *children: Any) -> Any:
    """A B2MML element with child elements, or with text when given one string."""
    element = etree.Element(f"{{{B2MML}}}{name}", nsmap={None: B2MML})
    for child in children:
        if isinstance(child, str):
            element.text = child
        else:
            element.append(child)
    return element


def _x(parent: Any, name: str, text: str | None = None) -> Any:
    element = etree.SubElement(parent, f"{{{EXTENSION}}}{name}")
    element.text = text
    return element


def _b2mml(name: str, *data: Any) -> Any:
    return _b(
        name,
        _b("ApplicationArea", _b("CreationDateTime", dt.datetime.now(dt.UTC).isoformat())),
        _b("DataArea", *data),
    )


def _show(following: int | None) -> Any:
    return _b("Show", *([_b("NextPage", str(following))] if following is not None else []))


def _scope(equipment_id: str, level: str) -> Any:
    return _b("HierarchyScope", _b("EquipmentID", equipment_id), _b("EquipmentElementLevel", level))


def _request_xml(order: WorkOrder, entry: ScheduleEntry) -> Any:
    return _b(
        "ProductionRequest",
        _b("ID", order.work_order_id),
        _scope(order.line_id, "ProductionLine"),
        _b("OperationsDefinitionID", order.recipe_id),
        _b("OperationsDefinitionVersion", order.recipe_version),
        _b("Priority", str(entry.priority)),
        _b("RequestState", order.status),
        _b(
            "SegmentRequirement",
            _b("ID", order.work_order_id),
            _b("EarliestStartTime", entry.planned_start.isoformat()),
            _b("LatestEndTime", entry.planned_end.isoformat()),
            _b(
                "MaterialProducedRequirement",
                _b("MaterialDefinitionID", order.product_sku),
                _b(
                    "Quantity",
                    _b("QuantityString", f"{order.planned_qty:g}"),
                    _b("UnitOfMeasure", "EA"),
                ),
            ),
        ),
        _b("LastModified", order.modified_at.isoformat()),
    )


def _definition_xml(recipe: Recipe) -> Any:
    return _b(
        "OperationsDefinition",
        _b("ID", recipe.recipe_id),
        _b("Version", recipe.version),
        _scope(recipe.line_id, "ProductionLine"),
        _b("MaterialDefinitionID", recipe.product_sku),
        _b("PublishedDate", recipe.valid_from.isoformat()),
        *(
            _b("OperationsSegment", _b("ID", name), _b("Duration", _duration(seconds)))
            for name, seconds in (
                ("setup", recipe.setup_time_s),
                ("cycle", recipe.ideal_cycle_time_s),
                ("teardown", recipe.teardown_time_s),
            )
        ),
        _b("LastModified", recipe.modified_at.isoformat()),
    )


def _duration(seconds: float) -> str:
    return f"PT{seconds:g}S"


def _text(element: Any, path: str) -> str | None:
    """The text of the first descendant at `path` (local names), None when there is none."""
    steps = "/".join(f"*[local-name()='{step}']" for step in path.split("/"))
    found = element.xpath(f".//{steps}")
    return found[0].text if found else None


def _envelope(body: Any) -> bytes:
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body").append(body)
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def _soap_reply(body: Any) -> Reply:
    return 200, "text/xml; charset=utf-8", _envelope(body)


def _soap_fault(code: str, message: str) -> Reply:
    fault = etree.Element(f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = f"soap:{code}"
    etree.SubElement(fault, "faultstring").text = message
    return 500, "text/xml; charset=utf-8", _envelope(fault)
