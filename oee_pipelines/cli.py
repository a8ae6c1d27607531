"""`oee`: the one command-line entry point (contracts.md section 1)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from oee_pipelines.settings import PROJECT_DIR, Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    return args.handler(args, Settings.from_env())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oee", description=__doc__)
    commands = parser.add_subparsers(title="commands")

    demo = commands.add_parser("demo", help="run the whole flow on the simulated plant")
    demo.set_defaults(handler=_demo)

    ui = commands.add_parser("ui", help="start the Dagster UI on workspace.yaml")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(handler=_ui)

    db = commands.add_parser("db", help="warehouse administration")
    db_commands = db.add_subparsers(title="db commands", required=True)
    db_commands.add_parser(
        "upgrade", help="apply the warehouse migrations (idempotent)"
    ).set_defaults(handler=_db_upgrade)

    simulate = commands.add_parser(
        "simulate", help="run the simulated plant in real time until stopped (or: simulate truth)"
    )
    simulate.add_argument("--config", type=Path, help="plant model file (OEE_PLANT_MODEL)")
    simulate.set_defaults(handler=_simulate)
    simulate_commands = simulate.add_subparsers(title="simulate commands")
    truth = simulate_commands.add_parser(
        "truth", help="print the true states, counts and OEE of a machine between two instants"
    )
    truth.add_argument("--machine", required=True)
    truth.add_argument("--from", dest="start", required=True, type=_instant)
    truth.add_argument("--to", dest="end", required=True, type=_instant)
    truth.set_defaults(handler=_simulate_truth)

    realtime = commands.add_parser("realtime", help="the realtime ingest service")
    realtime_run = realtime.add_subparsers(title="realtime commands", required=True).add_parser(
        "run", help="ingest from the configured sources until SIGTERM/SIGINT, then flush"
    )
    realtime_run.add_argument("--config", type=Path, help="default: config/realtime.yaml")
    realtime_run.set_defaults(handler=lambda args, settings: _realtime_run(args.config, settings))
    return parser


def _realtime_run(config: Path | None, settings: Settings) -> int:
    from realtime.service import run

    return run(config, settings)


def _instant(text: str) -> dt.datetime:
    """An ISO 8601 instant; without an offset it is taken as UTC."""
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from oee_pipelines.demo import run_demo

    return run_demo(settings)


def _ui(args: argparse.Namespace, settings: Settings) -> int:
    from oee_pipelines.dbt_project import prepare_dbt_manifest
    from oee_pipelines.services import running_services

    with running_services(settings):
        prepare_dbt_manifest()
        dagster = str(Path(sys.executable).with_name("dagster"))
        host, port = args.host, str(args.port)
        # In a session of its own, so that Ctrl-C or SIGTERM reaches `dagster dev` and its
        # webserver, daemon and code servers once, as the SIGINT of a terminal would; they all
        # stop before the embedded warehouse does.
        ui = subprocess.Popen(
            [dagster, "dev", "-w", "workspace.yaml", "-h", host, "-p", port],
            cwd=PROJECT_DIR,
            start_new_session=True,
        )
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: os.killpg(ui.pid, signal.SIGINT))
        return ui.wait()


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from oee_pipelines.services import running_services

    with running_services(settings) as services:
        print(f"warehouse is at the latest migration: {services.database_url}")
    return 0


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from oee_pipelines.plant_model import load_plant_model
    from simulator import SimulatedPlant, run_live

    plant = SimulatedPlant(
        load_plant_model(args.config or settings.plant_model), seed=settings.simulator_seed
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print(f"simulated plant, seed {plant.seed}: state changes as they happen (Ctrl-C stops)")
    run_live(plant, sys.stdout, stop)
    return 0


def _simulate_truth(args: argparse.Namespace, settings: Settings) -> int:
    from oee_pipelines.plant_model import load_plant_model
    from simulator import truth_report

    plant = load_plant_model(args.config or settings.plant_model)
    report = truth_report(plant, settings.simulator_seed, args.machine, args.start, args.end)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
