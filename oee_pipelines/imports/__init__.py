"""Operators' spreadsheets into the warehouse: templates, reading, validation, loading.

Dagster-free, so `oee import` and the file-drop assets run exactly the same code.
"""

from oee_pipelines.imports.loading import ImportReport, content_hash, import_file
from oee_pipelines.imports.reading import MAX_BYTES, Refused, check_name, max_bytes_from_env
from oee_pipelines.imports.templates import TEMPLATES, template_named, write_templates

__all__ = [
    "MAX_BYTES",
    "TEMPLATES",
    "ImportReport",
    "Refused",
    "check_name",
    "content_hash",
    "import_file",
    "max_bytes_from_env",
    "template_named",
    "write_templates",
]
