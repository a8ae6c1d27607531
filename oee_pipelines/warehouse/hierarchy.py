"""The plant model in the warehouse: the ISA-95 hierarchy and the shift calendars.

A plain module, so the plant model asset, the benchmarks and the tests share one writer of it.
"""

from __future__ import annotations

from psycopg import Connection

from oee_pipelines.plant_model import PlantModel


def upsert_hierarchy(conn: Connection, model: PlantModel) -> dict[str, int]:
    """Write the model; a site's shift calendar (with its breaks) is replaced whole, the rest
    upserted."""
    cursor = conn.cursor()
    cursor.executemany(
        """
        INSERT INTO curated.site (site_id, name, timezone, micro_stop_threshold_s,
            changeover_loss, excluded_states, excluded_reason_codes,
            breaks_are_planned_downtime, loss_model)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (site_id) DO UPDATE SET name = EXCLUDED.name, timezone = EXCLUDED.timezone,
            micro_stop_threshold_s = EXCLUDED.micro_stop_threshold_s,
            changeover_loss = EXCLUDED.changeover_loss,
            excluded_states = EXCLUDED.excluded_states,
            excluded_reason_codes = EXCLUDED.excluded_reason_codes,
            breaks_are_planned_downtime = EXCLUDED.breaks_are_planned_downtime,
            loss_model = EXCLUDED.loss_model, updated_at = now()
        """,
        [
            (
                site.id,
                site.name,
                site.timezone,
                site.loss_model.micro_stop_threshold_s,
                site.loss_model.changeover,
                list(site.loss_model.excluded_states),
                list(site.loss_model.excluded_reason_codes),
                site.loss_model.breaks_are_planned_downtime,
                site.loss_model.fingerprint,
            )
            for site in model.sites
        ],
    )
    cursor.executemany(
        """
        INSERT INTO curated.line (line_id, site_id, name, output_machine_id)
        VALUES (%s, %s, %s, %s)
        ON CONFLICT (line_id) DO UPDATE SET site_id = EXCLUDED.site_id, name = EXCLUDED.name,
            output_machine_id = EXCLUDED.output_machine_id, updated_at = now()
        """,
        [(line.id, site.id, line.name, line.output_machine) for site, line in model.lines()],
    )
    cursor.executemany(
        """
        INSERT INTO curated.machine (machine_id, line_id, site_id, name, ideal_cycle_time_s)
        VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (machine_id) DO UPDATE SET line_id = EXCLUDED.line_id,
            site_id = EXCLUDED.site_id, name = EXCLUDED.name,
            ideal_cycle_time_s = EXCLUDED.ideal_cycle_time_s, updated_at = now()
        """,
        [
            (m.id, line.id, site.id, m.name, m.ideal_cycle_time_s)
            for site, line, m in model.machines()
        ],
    )
    cursor.execute(
        "DELETE FROM curated.shift_pattern WHERE site_id = ANY(%s)", ([s.id for s in model.sites],)
    )
    shifts = [
        (site.id, shift.name, shift.start, shift.end, list(shift.isodays))
        for site in model.sites
        for shift in site.shifts
    ]
    cursor.executemany(
        "INSERT INTO curated.shift_pattern (site_id, shift_name, start_local, end_local, isodays)"
        " VALUES (%s, %s, %s, %s, %s)",
        shifts,
    )
    breaks = [
        (site.id, shift.name, one.start, one.end)
        for site in model.sites
        for shift in site.shifts
        for one in shift.breaks
    ]
    cursor.executemany(
        "INSERT INTO curated.shift_break (site_id, shift_name, start_local, end_local)"
        " VALUES (%s, %s, %s, %s)",
        breaks,
    )
    return {
        "site": len(model.sites),
        "line": len(model.lines()),
        "machine": len(model.machines()),
        "shift_pattern": len(shifts),
        "shift_break": len(breaks),
    }
