-- Production context from the MES, the ERP and the operators' files (contracts.md section 2).
-- Several systems write these tables; `source` says which one wrote a row last.

-- Recipe versions are history: a new version is a new row, an old one is never overwritten.
CREATE TABLE curated.recipe (
    recipe_id           text NOT NULL,
    version             text NOT NULL,
    product_sku         text NOT NULL,
    line_id             text REFERENCES curated.line,
    ideal_cycle_time_s  double precision NOT NULL CHECK (ideal_cycle_time_s > 0),
    setup_time_s        double precision CHECK (setup_time_s >= 0),
    teardown_time_s     double precision CHECK (teardown_time_s >= 0),
    valid_from          timestamptz NOT NULL,
    source              text NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (recipe_id, version)
);

CREATE TABLE curated.work_order (
    work_order_id   text PRIMARY KEY,
    site_id         text NOT NULL REFERENCES curated.site,
    line_id         text REFERENCES curated.line,
    product_sku     text NOT NULL,
    recipe_id       text,
    recipe_version  text,
    planned_start   timestamptz,
    planned_end     timestamptz,
    actual_start    timestamptz,
    actual_end      timestamptz,
    planned_qty     double precision CHECK (planned_qty >= 0),
    produced_qty    double precision CHECK (produced_qty >= 0),
    status          text NOT NULL CHECK (status IN ('planned', 'released', 'running', 'completed',
                        'closed', 'cancelled')),
    priority        smallint CHECK (priority BETWEEN 1 AND 10),
    source          text NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (planned_end IS NULL OR planned_start IS NULL OR planned_end > planned_start),
    CHECK (actual_end IS NULL OR actual_start IS NULL OR actual_end > actual_start)
);
CREATE INDEX work_order_line_planned ON curated.work_order (line_id, planned_start);

-- Stops as operators and the MES report them (machine_state says what the machine did).
CREATE TABLE curated.downtime_event (
    machine_id   text NOT NULL REFERENCES curated.machine,
    start_ts     timestamptz NOT NULL,
    end_ts       timestamptz NOT NULL,
    duration_s   double precision GENERATED ALWAYS AS (extract(epoch FROM end_ts - start_ts)) STORED,
    category     text NOT NULL CHECK (category IN ('planned', 'unplanned')),
    reason_code  text,
    reason       text,
    source       text NOT NULL,
    comment      text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (machine_id, start_ts),
    CHECK (end_ts > start_ts)
);

-- Who worked a shift occurrence; dbt joins it onto the calendar's curated.shift rows.
-- line_id '' stands for the whole site (a key column cannot be NULL).
CREATE TABLE curated.shift_assignment (
    site_id       text NOT NULL REFERENCES curated.site,
    line_id       text NOT NULL DEFAULT '',
    shift_start   timestamptz NOT NULL,
    operator_ids  text[] NOT NULL,
    source        text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, line_id, shift_start)
);

-- Where a line of machines in series counts its parts (the plant model's `output_machine`):
-- its line rollups are measured at that machine. NULL: the machines work in parallel, summed.
ALTER TABLE curated.line ADD COLUMN output_machine_id text;
