"""Operators' spreadsheets into the warehouse: templates, reading, validation, loading.

Dagster-free, so `oee import` and the file-drop assets run exactly the same code.
"""

from oee_pipelines.imports.loading import ImportReport, content_hash, import_file
from oee_pipelines.imports.reading import MAX_BYTES, Refused, check_name
from oee_pipelines.imports.templates import TEMPLATES, write_templates

__all__ = [
    "MAX_BYTES",
    "TEMPLATES",
    "ImportReport",
    "Refused",
    "check_name",
    "content_hash",
    "import_file",
    "write_templates",
]
