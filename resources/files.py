"""The drop folder of operators' files: its inbox, archive and quarantine.

    <folder>/inbox/             drop any template here: it is recognised from the header
    <folder>/inbox/<template>/  or here, to say which template it is
    <folder>/archive/           imported files (with a report when rows were rejected)
    <folder>/quarantine/        files refused or rejected whole, beside their report

Files that are still being written by their program are not offered: temporary and lock files
(`~$book.xlsx`, `.~lock.book.ods#`, `*.tmp`, `*.part`), hidden files and anything that is not
a plain file (a symbolic link could point anywhere).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from oee_pipelines.imports import MAX_BYTES, TEMPLATES, ImportReport, Refused

_TEMPORARY = re.compile(r"^(~\$|\.~lock\.|\.)|(\.(tmp|part|crdownload|partial|swp)|~|#)$", re.I)


@dataclass(frozen=True)
class Drop:
    """A file seen in the inbox: its path relative to the inbox, size and mtime."""

    name: str
    size: int
    mtime_ns: int

    @property
    def template(self) -> str | None:
        """The template its folder names, if it was dropped in one."""
        folder = Path(self.name).parent.name
        return folder if folder in TEMPLATES else None


class FileDropResource(ConfigurableResource):
    folder: str = Field(description="The drop folder (OEE_IMPORT_DIR).")
    max_bytes: int = Field(
        default=MAX_BYTES, gt=0, description="Largest file accepted (OEE_IMPORT_MAX_BYTES)."
    )

    @property
    def inbox(self) -> Path:
        return Path(self.folder) / "inbox"

    def drops(self) -> Iterator[Drop]:
        """The files waiting in the inbox and its template folders, by name."""
        folders = [self.inbox, *(self.inbox / name for name in TEMPLATES)]
        for folder in folders:
            try:
                entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
            except FileNotFoundError:
                continue
            for entry in entries:
                if _TEMPORARY.search(entry.name) or not entry.is_file(follow_symlinks=False):
                    continue
                stat = entry.stat(follow_symlinks=False)
                name = str(Path(entry.path).relative_to(self.inbox))
                yield Drop(name, stat.st_size, stat.st_mtime_ns)

    def path(self, name: str) -> Path:
        """The inbox file `name` (relative); refuses names that leave the inbox."""
        parts = Path(name).parts
        inside = 0 < len(parts) <= 2 and not {".", ".."} & set(parts) and "/" not in parts
        if not inside or (len(parts) == 2 and parts[0] not in TEMPLATES):
            raise Refused(f"{name!r} is not a file of the inbox")
        return self.inbox / name

    def settle(self, name: str, report: ImportReport) -> Path:
        """Move an imported file to the archive, or to the quarantine when it was rejected
        whole, with its report beside it when anything was rejected; returns where it went."""
        source = self.path(name)
        rejected = report.status == "rejected"
        folder = Path(self.folder) / ("quarantine" if rejected else "archive")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{report.file_hash[:12]}-{source.name}"
        shutil.move(source, target)
        if rejected or report.status == "partial":
            Path(f"{target}.report.txt").write_text(report.text(limit=10_000) + "\n", "utf-8")
        return target
