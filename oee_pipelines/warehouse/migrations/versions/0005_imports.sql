-- Every file operators dropped or imported, keyed by its content hash (the same file twice is
-- one row), with what became of it; and every row it had that could not be loaded.
CREATE TABLE curated.import_file (
    file_hash      text PRIMARY KEY,
    file_name      text NOT NULL,
    template       text,
    site_id        text,
    sheet          text,
    status         text NOT NULL CHECK (status IN ('loaded', 'partial', 'rejected')),
    rows_read      bigint NOT NULL DEFAULT 0,
    rows_loaded    bigint NOT NULL DEFAULT 0,
    rows_rejected  bigint NOT NULL DEFAULT 0,
    message        text,
    imported_at    timestamptz NOT NULL DEFAULT now()
);

-- One row per rejected cell: its spreadsheet row number (1 = the first line of the file or
-- sheet) and column, the value as written, the reason category of contracts.md section 4.
CREATE TABLE curated.import_reject (
    file_hash        text NOT NULL REFERENCES curated.import_file ON DELETE CASCADE,
    sheet            text NOT NULL DEFAULT '',
    row_number       bigint NOT NULL,
    column_name      text NOT NULL,
    value            text,
    reason_category  text NOT NULL CHECK (reason_category IN ('missing_value', 'bad_number',
                         'bad_timestamp', 'end_before_start', 'negative_count', 'out_of_range',
                         'duplicate', 'unknown_reference')),
    message          text NOT NULL,
    PRIMARY KEY (file_hash, sheet, row_number, column_name)
);
