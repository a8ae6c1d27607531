"""`oee`: the one command-line entry point (contracts.md section 1).

Each command is a function that adds its parser and sets its handler; a new command is one such
function and one line in COMMANDS. A handler returns the exit code; an expected failure is an
`OeeError`, printed as one line (`oee: <message>`, exit 1; `--debug` shows the traceback).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeAlias

from oee_pipelines.errors import ConfigError, OeeError
from oee_pipelines.settings import Settings, check_configuration

EXIT_ERROR = 1
"""An expected failure (`OeeError`): bad configuration, unreachable or missing database, ..."""
EXIT_USAGE = 2
"""A command line that argparse refuses (its own exit code)."""
EXIT_INTERRUPTED = 130
"""Stopped by Ctrl-C or SIGTERM before the command was up (a running UI stops with 0)."""

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.handler(args, Settings.from_env())
    except OeeError as exc:
        if args.debug:
            traceback.print_exc()
        print("oee:", *str(exc).split(), file=sys.stderr)  # one line, whatever the cause says
        return EXIT_ERROR
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM where a command maps it so
        return EXIT_INTERRUPTED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oee", description=__doc__.split("\n")[0])
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    commands = parser.add_subparsers(title="commands")
    for add_command in COMMANDS:
        add_command(commands)
    return parser


def _add_demo(commands: Commands) -> None:
    demo = commands.add_parser("demo", help="run the whole flow on the simulated plant")
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from oee_pipelines.demo import run_demo

    check_configuration(settings)
    return run_demo(settings)


def _add_ui(commands: Commands) -> None:
    ui = commands.add_parser("ui", help="start the Dagster UI on workspace.yaml")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(handler=_ui)


def _ui(args: argparse.Namespace, settings: Settings) -> int:
    from oee_pipelines.dbt_project import prepare_dbt_manifest
    from oee_pipelines.services import running_services, simulated_systems
    from oee_pipelines.ui import check_port_free, serve_ui

    check_configuration(settings)
    check_port_free(args.host, args.port)
    # Until the UI runs, SIGTERM is Ctrl-C: whatever was started is stopped on the way out.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    with running_services(settings) as services, simulated_systems(settings):
        prepare_dbt_manifest()
        return serve_ui(services, args.host, args.port)


def _add_db(commands: Commands) -> None:
    db = commands.add_parser("db", help="warehouse administration")
    db_commands = db.add_subparsers(title="db commands", required=True)
    upgrade = db_commands.add_parser("upgrade", help="apply the warehouse migrations (idempotent)")
    upgrade.add_argument(
        "--create",
        action="store_true",
        help="create the OEE_DATABASE_URL database when it does not exist (needs CREATEDB)",
    )
    upgrade.set_defaults(handler=_db_upgrade)


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from oee_pipelines.services import running_services
    from oee_pipelines.warehouse.urls import display_url

    with running_services(settings, create=args.create) as services:
        print(f"warehouse {display_url(services.database_url)} is at the latest migration")
    return 0


def _add_simulate(commands: Commands) -> None:
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


def _add_realtime(commands: Commands) -> None:
    realtime = commands.add_parser("realtime", help="the realtime ingest service")
    realtime_run = realtime.add_subparsers(title="realtime commands", required=True).add_parser(
        "run", help="ingest from the configured sources until SIGTERM/SIGINT, then flush"
    )
    realtime_run.add_argument("--config", type=Path, help="default: config/realtime.yaml")
    realtime_run.set_defaults(handler=_realtime_run)


def _realtime_run(args: argparse.Namespace, settings: Settings) -> int:
    from realtime.service import run

    return run(args.config, settings)


def _instant(text: str) -> dt.datetime:
    """An ISO 8601 instant; without an offset it is taken as UTC."""
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from oee_pipelines.plant_model import load_plant_model
    from simulator import SimulatedPlant, run_live
    from simulator.servers.plcs import serving_plcs

    plant = SimulatedPlant(
        load_plant_model(args.config or settings.plant_model), seed=settings.simulator_seed
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with serving_plcs(plant) as endpoints:
        served = ", ".join(f"{protocol} {url}" for protocol, url in endpoints.items())
        print(f"simulated plant, seed {plant.seed}, serving {served}")
        print("state changes as they happen (Ctrl-C stops)")
        run_live(plant, sys.stdout, stop)
    return 0


def _simulate_truth(args: argparse.Namespace, settings: Settings) -> int:
    from oee_pipelines.plant_model import load_plant_model
    from simulator import truth_report

    path = args.config or settings.plant_model
    plant = load_plant_model(path)
    machine_ids = [machine.id for _, _, machine in plant.machines()]
    if args.machine not in machine_ids:
        raise ConfigError(
            f"--machine {args.machine}: no such machine in {path}; it has {', '.join(machine_ids)}"
        )
    report = truth_report(plant, settings.simulator_seed, args.machine, args.start, args.end)
    print(json.dumps(report, indent=2))
    return 0


def _add_import(commands: Commands) -> None:
    load = commands.add_parser(
        "import", help="validate and load one CSV/Excel file, printing the reject report"
    )
    load.add_argument("file", type=Path)
    load.add_argument("--template", help="downtime, sensor_log, production_counts or schedule")
    load.add_argument("--site", help="site id for rows whose site column is blank or missing")
    load.add_argument("--dry-run", action="store_true", help="report only, write nothing")
    load.set_defaults(handler=_import)


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from oee_pipelines.imports import import_file, max_bytes_from_env, template_named
    from oee_pipelines.services import running_services
    from oee_pipelines.warehouse import Plausibility, open_pool

    if args.template:
        template_named(args.template)
    try:
        data = args.file.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read {args.file}: {error.strerror}") from None
    with running_services(settings) as services, open_pool(services.database_url) as pool:
        report = import_file(
            pool,
            args.file.name,
            data,
            template=args.template,
            site=args.site,
            dry_run=args.dry_run,
            plausibility=Plausibility(
                earliest=settings.earliest_timestamp,
                clock_skew=dt.timedelta(seconds=settings.clock_skew_s),
            ),
            max_bytes=max_bytes_from_env(),
        )
    print(report.text() + ("\n(dry run: nothing was written)" if args.dry_run else ""))
    return 0 if report.readable else EXIT_ERROR


def _add_templates(commands: Commands) -> None:
    templates = commands.add_parser("templates", help="write the blank import templates to DIR")
    templates.add_argument("dir", type=Path)
    templates.set_defaults(handler=_templates)


def _templates(args: argparse.Namespace, settings: Settings) -> int:
    from oee_pipelines.imports import write_templates

    for path in write_templates(args.dir):
        print(path)
    return 0


COMMANDS: tuple[Callable[[Commands], None], ...] = (
    _add_demo,
    _add_ui,
    _add_db,
    _add_simulate,
    _add_realtime,
    _add_import,
    _add_templates,
)


if __name__ == "__main__":
    sys.exit(main())
