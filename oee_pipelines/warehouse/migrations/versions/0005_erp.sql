-- What the ERP knows beyond the work orders (curated.work_order), and what the sync keeps.

-- The material master of the products made.
CREATE TABLE curated.material (
    material_id     text PRIMARY KEY,
    material_type   text NOT NULL,
    material_group  text,
    base_unit       text NOT NULL,
    source          text NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Operators' hours booked against work orders in the ERP (one row per ERP confirmation).
CREATE TABLE curated.labor_confirmation (
    confirmation_group  text NOT NULL,
    confirmation_count  text NOT NULL,
    work_order_id       text NOT NULL,
    operation           text NOT NULL,
    work_center         text,
    personnel_id        text NOT NULL,
    start_ts            timestamptz NOT NULL,
    end_ts              timestamptz NOT NULL,
    labor_s             double precision NOT NULL CHECK (labor_s >= 0),
    yield_qty           double precision CHECK (yield_qty >= 0),
    scrap_qty           double precision CHECK (scrap_qty >= 0),
    source              text NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (confirmation_group, confirmation_count),
    CHECK (end_ts >= start_ts)
);
CREATE INDEX labor_confirmation_work_order ON curated.labor_confirmation (work_order_id);

-- Every production order as the ERP plans it, whoever runs it: what the MES's orders are
-- compared with (curated.work_order holds the MES's version of an order the MES runs).
CREATE TABLE curated.erp_production_order (
    work_order_id  text PRIMARY KEY,
    site_id        text NOT NULL,
    line_id        text,
    product_sku    text NOT NULL,
    planned_start  timestamptz NOT NULL,
    planned_end    timestamptz NOT NULL,
    planned_qty    double precision NOT NULL,
    status         text NOT NULL,
    source         text NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- A work order the MES and the ERP both know, with a column on which they disagree. Neither
-- value is chosen silently: the MES's stays in curated.work_order, both are shown here until
-- the systems agree again (then the row is deleted).
CREATE TABLE curated.work_order_conflict (
    work_order_id  text NOT NULL,
    column_name    text NOT NULL,
    mes_value      text,
    erp_value      text,
    detected_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (work_order_id, column_name)
);

-- Where the next incremental pull of a source system's entity starts (MES and ERP syncs):
-- the newest change seen so far.
CREATE TABLE raw.source_watermark (
    source_system  text NOT NULL,
    entity         text NOT NULL,
    watermark      timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_system, entity)
);
