"""OPC UA: the realtime source subscribed to the simulated plant's asyncua server."""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack
from pathlib import Path

import pytest
from asyncua.crypto import cert_gen
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import DNSName, UniformResourceIdentifier
from cryptography.x509.oid import ExtendedKeyUsageOID

from oee_pipelines.plant_model import PlantModel
from realtime.opcua import OpcUaConfig, OpcUaSource
from simulator import SimulatedPlant
from simulator.servers.opcua import OpcUaPlant, ServerSecurity, serving_opcua
from tests.plc.support import rows, running, wait_until
from tests.realtime.support import TcpProxy, free_port
from tests.simulator.test_servers_mqtt import truth_states

FILLER, CNC1 = "BER-L1-FILLER", "CHI-L1-CNC1"
OPCUA_MACHINES = (FILLER, "BER-L1-CAPPER", "BER-L1-LABELER", CNC1, "CHI-L1-CNC2")
US = dt.timedelta(microseconds=1)
T0 = dt.datetime(2026, 3, 3, 8, tzinfo=dt.UTC)


def config(port: int, **options: object) -> OpcUaConfig:
    return OpcUaConfig.model_validate(
        {
            "url": f"opc.tcp://127.0.0.1:{port}/oee/",
            "reconnect_min_s": 0.2,
            "reconnect_max_s": 1,
            "publishing_interval_ms": 50,
            # stale only after 15 s without a publish response: a CPU stall of the loaded test
            # machine must not re-create the subscription under a test of something else
            # (the stale test sets its own keepalive_count)
            "keepalive_count": 200,
            **options,
        }  # fmt: skip
    )


def stored(warehouse: str, count: int) -> bool:
    """Whether the warehouse holds `count` telemetry rows (each value written is one row)."""
    return rows(warehouse, "SELECT count(*) FROM curated.telemetry") == [(count,)]


def steps(start: dt.datetime, end: dt.datetime, step: dt.timedelta) -> list[dt.datetime]:
    return [start + step * i for i in range(1, (end - start) // step + 1)]


def test_values_arrive_once_with_their_quality_and_source_timestamps(
    sim: SimulatedPlant, plant: PlantModel, warehouse: str, tmp_path: Path
) -> None:
    end = T0 + dt.timedelta(minutes=20)
    port = free_port()
    with serving_opcua(sim, T0, port) as server:
        source = OpcUaSource(plant, config(port), clock=lambda: end)
        with running(source, warehouse, tmp_path / "spool"):
            wait_until(lambda: source.notifications == server.plant.written, what="initial values")
            for to in steps(T0, end, dt.timedelta(minutes=2)):
                server.advance(to)
            wait_until(lambda: stored(warehouse, server.plant.written), what="every value")
    expected = OpcUaPlant(sim, T0)
    written = expected.changes(T0, T0 + US) + expected.changes(T0 + US, end + US)
    found = rows(warehouse, "SELECT machine_id, tag, ts, value, quality FROM curated.telemetry")
    assert len(found) == len(written) == source.notifications
    assert source.duplicates == 0
    nodes = {
        mapping.address: (machine.id, tag)
        for _, _, machine in plant.machines()
        for tag, mapping in machine.tag_map.get("opcua", {}).items()
    }
    assert sorted(found, key=str) == sorted(
        (
            (*nodes[node.to_string()], ts, None if value is None else float(value), quality)
            for ts, node, value, _, quality in written
        ),
        key=str,
    )
    qualities = {quality for *_, quality in found}
    assert qualities == {"good", "uncertain", "bad"}


def test_state_and_count_tables_equal_the_simulators_truth(
    sim: SimulatedPlant, plant: PlantModel, warehouse: str, tmp_path: Path
) -> None:
    order = sim.work_orders("BER-L1", T0 - dt.timedelta(hours=2), T0 + dt.timedelta(days=1))[1]
    start, end = order.start - dt.timedelta(minutes=15), order.start + dt.timedelta(minutes=15)
    port = free_port()
    with serving_opcua(sim, start, port) as server:
        source = OpcUaSource(plant, config(port), clock=lambda: end)
        with running(source, warehouse, tmp_path / "spool"):
            wait_until(lambda: source.notifications == server.plant.written, what="subscribed")
            for to in steps(start, end, dt.timedelta(minutes=1)):
                server.advance(to)
            wait_until(lambda: stored(warehouse, server.plant.written), timeout=120,
                       what="every value")  # fmt: skip
    for machine_id in OPCUA_MACHINES:
        states = rows(warehouse, "SELECT start_ts, end_ts, state FROM curated.machine_state "
                                 "WHERE machine_id = %s ORDER BY start_ts", machine_id)  # fmt: skip
        truth = truth_states(sim, machine_id, start, end + US, US)
        assert states == [(s.start_ts, s.end_ts, s.state) for s in truth], machine_id
        counts = rows(
            warehouse,
            "SELECT sum(good_count), sum(reject_count) "
            "FROM curated.production_count WHERE machine_id = %s",
            machine_id,
        )
        cycles = sim.cycles(machine_id, start + US, end + US)
        good, rejects = sum(c.good for c in cycles), sum(not c.good for c in cycles)
        assert counts == [(good or None, rejects if good else None)] or counts == [(good, rejects)]
    assert sim.counters(FILLER, order.start - US)[0] > 0  # the window holds a counter reset


def test_a_server_restart_marks_the_machines_offline_and_loses_no_part(
    sim: SimulatedPlant, plant: PlantModel, warehouse: str, tmp_path: Path
) -> None:
    stopped, restarted, end = (T0 + dt.timedelta(minutes=m) for m in (10, 15, 25))
    now = [stopped]
    port = free_port()
    source = OpcUaSource(plant, config(port), clock=lambda: now[0])
    with ExitStack() as restarted_server, running(source, warehouse, tmp_path / "spool"):
        with serving_opcua(sim, T0, port) as server:
            wait_until(lambda: source.notifications == server.plant.written, what="subscribed")
            for to in steps(T0, stopped, dt.timedelta(minutes=2)):
                server.advance(to)
            wait_until(lambda: source.notifications == server.plant.written, what="values")
            first = server.plant.written
        wait_until(lambda: source.servers[0].offline_since is not None, what="the loss")
        now[0] = end
        # the service stops before this server does
        server = restarted_server.enter_context(serving_opcua(sim, restarted, port))
        wait_until(lambda: source.notifications == first + server.plant.written,
                   what="the re-subscription")  # fmt: skip
        for to in steps(restarted, end, dt.timedelta(minutes=2)):
            server.advance(to)
        wait_until(lambda: stored(warehouse, first + server.plant.written), what="all values")
    assert source.duplicates == 0
    offline = rows(warehouse, "SELECT machine_id, start_ts, end_ts FROM curated.machine_state "
                              "WHERE state = 'offline' ORDER BY machine_id")  # fmt: skip
    assert offline == [(m, stopped, restarted) for m in sorted(OPCUA_MACHINES)]
    for machine_id in OPCUA_MACHINES:
        counts = rows(
            warehouse,
            "SELECT coalesce(sum(good_count + reject_count), 0) "
            "FROM curated.production_count WHERE machine_id = %s",
            machine_id,
        )
        assert counts == [(len(sim.cycles(machine_id, T0 + US, end + US)),)], machine_id


def test_a_network_outage_without_a_state_change_is_offline_from_the_loss_to_the_reconnection(
    sim: SimulatedPlant, plant: PlantModel, warehouse: str, tmp_path: Path
) -> None:
    lost, back = T0 + dt.timedelta(minutes=5), T0 + dt.timedelta(minutes=6)
    now = [T0]
    port = free_port()
    with serving_opcua(sim, T0, port) as server:
        network = TcpProxy("127.0.0.1", port)
        network.start()
        source = OpcUaSource(plant, config(network.port), clock=lambda: now[0])
        with running(source, warehouse, tmp_path / "spool"):
            wait_until(lambda: stored(warehouse, server.plant.written), what="the values")
            before = dict(rows(warehouse, "SELECT machine_id, state FROM curated.machine_state"))
            now[0] = lost
            network.stop()
            wait_until(lambda: source.servers[0].unread, what="the loss")
            now[0] = back
            network.start()
            # the server keeps the old session: a new one sends every current value again
            wait_until(lambda: source.duplicates == server.plant.written - len(before),
                       what="the current values again")  # fmt: skip
            wait_until(lambda: rows(warehouse, "SELECT count(*) FROM curated.machine_state")
                       == [(3 * len(before),)], what="the states")  # fmt: skip
        network.stop()
    assert set(before) == set(OPCUA_MACHINES)
    for machine_id, state in before.items():
        states = rows(warehouse, "SELECT start_ts, end_ts, state FROM curated.machine_state "
                                 "WHERE machine_id = %s ORDER BY start_ts", machine_id)  # fmt: skip
        assert states == [(T0, lost, state), (lost, back, "offline"), (back, None, state)]


def test_a_stalled_subscription_is_recreated_and_values_arrive_once(
    sim: SimulatedPlant, plant: PlantModel, warehouse: str, tmp_path: Path
) -> None:
    end = T0 + dt.timedelta(minutes=4)
    port = free_port()
    with serving_opcua(sim, T0, port) as server:
        source = OpcUaSource(plant, config(port, keepalive_count=5), clock=lambda: end)
        with running(source, warehouse, tmp_path / "spool"):
            wait_until(lambda: source.notifications == server.plant.written, what="subscribed")
            server.stall()
            # the new subscription sends the current values again: seen, so dropped
            wait_until(lambda: source.duplicates == server.plant.written, what="re-creation")
            for to in steps(T0, end, dt.timedelta(minutes=2)):
                server.advance(to)
            wait_until(lambda: stored(warehouse, server.plant.written), what="values after it")


def test_a_missing_node_is_reported_per_tag_and_the_others_flow(
    sim: SimulatedPlant, plant: PlantModel, warehouse: str, tmp_path: Path
) -> None:
    document = plant.model_dump(mode="json")
    machine = document["sites"][0]["lines"][0]["machines"][0]
    machine["tag_map"]["opcua"]["ghost"] = {"address": "ns=2;s=BER/L1/FILLER/Ghost"}
    model = PlantModel.model_validate(document)
    port = free_port()
    with serving_opcua(sim, T0, port) as server:
        source = OpcUaSource(model, config(port), clock=lambda: T0)
        with running(source, warehouse, tmp_path / "spool"):
            wait_until(lambda: source.notifications == server.plant.written, what="values")
            wait_until(lambda: stored(warehouse, server.plant.written), what="the other values")
            wait_until(lambda: rows(warehouse, "SELECT 1 FROM raw.dead_letter"), what="letter")
    letters = rows(warehouse, "SELECT source, reason, context FROM raw.dead_letter")
    assert letters == [(
        "opcua",
        "ns=2;s=BER/L1/FILLER/Ghost of BER-L1-FILLER ghost: BadNodeIdUnknown",
        {"endpoint": f"opc.tcp://127.0.0.1:{port}/oee/", "machine_id": FILLER, "tag": "ghost"},
    )]  # fmt: skip
    tags = rows(warehouse, "SELECT count(DISTINCT (machine_id, tag)) FROM curated.telemetry")
    assert tags == [(server.plant.written,)]


def certificate(directory: Path, name: str, uri: str, server: bool) -> tuple[Path, Path]:
    """A self-signed application certificate (DER) and its key (PEM), as OPC UA wants them;
    the certificate goes into `directory`, the key beside it."""
    key = cert_gen.generate_private_key()
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    cert = cert_gen.generate_self_signed_app_certificate(
        key, name, {}, [UniformResourceIdentifier(uri), DNSName("127.0.0.1")], extended=[usage]
    )
    cert_file, key_file = directory / f"{name}.der", directory.parent / f"{name}.key.pem"
    cert_file.write_bytes(cert.public_bytes(Encoding.DER))
    key_file.write_bytes(cert_gen.dump_private_key_as_pem(key))
    return cert_file, key_file


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, tuple[Path, Path]]:
    for folder in ("own", "trusted"):
        (tmp_path / "pki" / folder).mkdir(parents=True)
    own, trusted = tmp_path / "pki" / "own", tmp_path / "pki" / "trusted"
    return {
        "server": certificate(own, "server", "urn:oee:simulated-plant:server", True),
        "client": certificate(trusted, "client", "urn:oee:realtime", False),
        "stranger": certificate(own, "stranger", "urn:oee:realtime", False),
    }


def test_basic256sha256_with_certificates_and_a_password(
    sim: SimulatedPlant, plant: PlantModel, warehouse: str, tmp_path: Path, pki: dict
) -> None:
    (server_cert, server_key), (client_cert, client_key) = pki["server"], pki["client"]
    security = ServerSecurity(server_cert, server_key, client_cert.parent, {"operator": "s3cret"})
    port = free_port()
    client_security = {"certificate": client_cert, "private_key": client_key,
                       "server_certificate": server_cert}  # fmt: skip
    with serving_opcua(sim, T0, port, security) as server:
        source = OpcUaSource(
            plant,
            config(port, security=client_security, username="operator"),
            password="s3cret",
            clock=lambda: T0,
        )
        with running(source, warehouse, tmp_path / "spool"):
            wait_until(lambda: stored(warehouse, server.plant.written), what="values")


@pytest.mark.parametrize("who", ["stranger", "wrong password"])
def test_a_rejected_certificate_or_password_is_a_clear_error_naming_the_endpoint(
    sim: SimulatedPlant, plant: PlantModel, warehouse: str, tmp_path: Path, pki: dict, who: str
) -> None:
    (server_cert, server_key), (client_cert, client_key) = pki["server"], pki["client"]
    if who == "stranger":
        client_cert, client_key = pki["stranger"]
    security = ServerSecurity(
        server_cert, server_key, pki["client"][0].parent, {"operator": "s3cret"}
    )
    port = free_port()
    url = f"opc.tcp://127.0.0.1:{port}/oee/"
    client_security = {"certificate": client_cert, "private_key": client_key,
                       "server_certificate": server_cert}  # fmt: skip
    with serving_opcua(sim, T0, port, security):
        source = OpcUaSource(
            plant, config(port, security=client_security, username="operator"),
            password="s3cret" if who == "stranger" else "guess", clock=lambda: T0,
        )  # fmt: skip
        with running(source, warehouse, tmp_path / "spool"):
            wait_until(lambda: url in source.errors, what="the connection error")
    error = source.errors[url]
    assert error.startswith(f"opcua {url}: the server rejected our certificate or credentials")
    assert "s3cret" not in error and "guess" not in error
    assert rows(warehouse, "SELECT count(*) FROM curated.telemetry") == [(0,)]
