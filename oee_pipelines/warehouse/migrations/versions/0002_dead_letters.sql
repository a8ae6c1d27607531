-- Dead letters keep any payload exactly (bytea) beside the readable, escaped `record` (jsonb
-- holds no NUL byte and no lone surrogate), say where it came from (`context`: topic, file,
-- row, tag), and are stored once: `fingerprint` is a SHA-256 of source, target, reason, payload
-- and context, computed by the writer. Rows from before this migration keep a NULL fingerprint.
ALTER TABLE raw.dead_letter
    ADD COLUMN payload         bytea,
    ADD COLUMN payload_format  text CHECK (payload_format IN ('bytes', 'text', 'json')),
    ADD COLUMN context         jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN fingerprint     bytea UNIQUE;

UPDATE raw.dead_letter SET payload = convert_to(record::text, 'UTF8'), payload_format = 'json';
