-- The dbt staging models became ephemeral (CTEs compiled into the models that read them): the
-- views that earlier builds left in the schema staging are read by nothing, and a view over a
-- curated table would block a later migration that changes a column's type.
DROP SCHEMA IF EXISTS staging CASCADE;
