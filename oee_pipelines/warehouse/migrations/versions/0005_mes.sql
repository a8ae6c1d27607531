-- A line's changeover from one work order to the next, derived from the work orders and the
-- recipes in force: planned to last the outgoing recipe's teardown plus the incoming one's setup.
-- (Machine states say how long it really took.)
CREATE TABLE curated.changeover (
    line_id            text NOT NULL REFERENCES curated.line,
    start_ts           timestamptz NOT NULL,
    planned_end_ts     timestamptz NOT NULL,
    from_work_order_id text NOT NULL,
    to_work_order_id   text NOT NULL,
    from_recipe_id     text,
    from_recipe_version text,
    to_recipe_id       text,
    to_recipe_version  text,
    recipe_changed     boolean NOT NULL,
    planned_duration_s double precision NOT NULL CHECK (planned_duration_s >= 0),
    source             text NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (line_id, start_ts)
);
