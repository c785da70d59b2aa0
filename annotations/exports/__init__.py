"""Data out: exports of a project's (or batch's) submissions in the formats training pipelines
and other tools load (see formats.py for the registry and how to add a format)."""

from .formats import FORMATS, ExportFormat, export_format, formats_for, labelstudio_result
from .options import ExportOptions, parse_options
from .service import export_check, export_create, export_filename, export_run, export_spec, exports_purge_files
from .writer import ExportSpec, export_write

__all__ = [
    "FORMATS",
    "ExportFormat",
    "ExportOptions",
    "ExportSpec",
    "export_check",
    "export_create",
    "export_filename",
    "export_format",
    "export_run",
    "export_spec",
    "export_write",
    "exports_purge_files",
    "formats_for",
    "labelstudio_result",
    "parse_options",
]
