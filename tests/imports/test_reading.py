"""Reading what operators produce: encodings, delimiters, title rows, workbooks, hostile files."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import zipfile

import pytest

from oee_pipelines.imports.reading import ROW, Refused, read_table
from tests.imports.conftest import csv
from tests.imports.workbooks import ods, xlsx

HEADER = "timestamp,site,line,machine,tag,value,unit,quality"


def test_utf8_with_bom_comma_separated():
    data = b"\xef\xbb\xbf" + csv(HEADER, "2026-11-20 10:00,S1,L1,M1,temp,1.5,°C,good")
    table = read_table("log.csv", data)
    assert table.template.name == "sensor_log"
    assert table.frame.select("timestamp", "unit", ROW).rows() == [("2026-11-20 10:00", "°C", 2)]


def test_windows_1252_semicolons_and_decimal_commas_keep_their_text():
    data = csv(
        "timestamp;site;line;machine;tag;value;unit;quality",
        "20.11.2026 10:00;S1;L1;M1;Temperatur;12,5;°C;",
        encoding="cp1252",
    )
    table = read_table("log.csv", data)
    assert table.frame.select("value", "unit").rows() == [("12,5", "°C")]
    assert "read as Windows-1252" in table.notes


def test_title_rows_blank_rows_quoted_newlines_and_a_totals_row():
    data = csv(
        "Downtime log, week 47",
        "exported by the shift lead",
        "",
        "Site,Line,Machine,Start_Time,End_Time,Reason_Code,Reason,Category,Comment",
        'S1,L1,M1,2026-11-20 10:00,2026-11-20 10:30,R1,Jam,unplanned,"two',
        'lines"',
        ",,,,,,,,",
        "S1,L1,M1,2026-11-20 11:00,2026-11-20 11:30,R2,Clean,planned,",
        "Total,,,,,,,,",
    )
    table = read_table("stops.csv", data)
    assert table.template.name == "downtime"
    assert table.header_row == 4
    assert table.frame.select(ROW, "comment").rows() == [(5, "two\nlines"), (7, None)]
    assert "a trailing totals row was skipped" in table.notes


def test_the_header_is_found_on_the_data_sheet_among_several():
    data = xlsx(
        {
            "Cover": [["Counts for November"], ["see the next sheet"]],
            "Counts": [
                ["Production counts"],
                [],
                ["site", "line", "machine", "start_time", "end_time", "good_count", "reject_count"],
                ["S1", "L1", "M1", dt.datetime(2026, 11, 20, 10), 46346.4375, 100, 2],
            ],
        }
    )
    table = read_table("counts.xlsx", data)
    assert (table.template.name, table.sheet, table.header_row) == (
        "production_counts",
        "Counts",
        3,
    )
    assert table.frame.select(ROW, "start_time", "end_time", "good_count").rows() == [
        (4, "2026-11-20 10:00:00", "46346.4375", "100")
    ]


def test_an_ods_spreadsheet():
    table = read_table(
        "log.ods",
        ods([HEADER.split(","), ["2026-11-20 10:00", "S1", "L1", "M1", "t", 1.5, "u", "good"]]),
    )
    assert table.frame.select("value", ROW).rows() == [("1.5", 2)]


def test_a_macro_workbook_is_read_for_its_data_only():
    data = xlsx(
        {"Data": [HEADER.split(","), ["2026-11-20 10:00", "S1", "L1", "M1", "t", 1, "u", None]]}
    )
    table = read_table("log.xlsm", data)
    assert "macros ignored (never run)" in table.notes


@pytest.mark.parametrize(
    ("name", "data", "why"),
    [
        ("log.csv", b"", "is empty"),
        ("log.csv", b"a,b\n1,2\n", "no header row with the required columns"),
        ("log.xlsx", csv(HEADER), "does not match its extension .xlsx"),
        ("log.csv", xlsx({"s": [["x"]]}), "does not match its extension .csv"),
        ("log.pdf", csv(HEADER), ".pdf is not a CSV or spreadsheet file"),
        ("../log.csv", csv(HEADER), "is refused"),
        ("~$log.xlsx", csv(HEADER), "is refused"),
        ("log\n.csv", csv(HEADER), "is refused"),
    ],
)
def test_files_refused_whole_say_why(name, data, why):
    with pytest.raises(Refused, match=why.replace(".", r"\.").replace("$", r"\$")):
        read_table(name, data)


def test_a_missing_required_column_is_named():
    with pytest.raises(Refused, match="missing.*tag"):
        read_table("log.csv", csv("timestamp,site,line,machine,value", "x,S1,L1,M1,1"))


def test_files_above_the_size_limit_are_refused():
    with pytest.raises(Refused, match="above the limit of 10"):
        read_table("log.csv", csv(HEADER), max_bytes=10)


def test_a_decompression_bomb_is_refused_before_it_is_unpacked():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (50 << 20))
    with pytest.raises(Refused, match="decompression bomb"):
        read_table("book.xlsx", buffer.getvalue())


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
@pytest.mark.parametrize("extension", ["xls", "ods", "xlsx"])
def test_workbooks_written_by_libreoffice(tmp_path, extension):
    source = tmp_path / "source.xlsx"
    source.write_bytes(
        xlsx(
            {
                "Data": [
                    HEADER.split(","),
                    [dt.datetime(2026, 11, 20, 10), "S1", "L1", "M1", "t", 1.5, "u", "good"],
                ]
            }
        )
    )
    out = tmp_path / "out"
    subprocess.run(
        ["soffice", "--headless", "--convert-to", extension, "--outdir", str(out), str(source)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    table = read_table(f"log.{extension}", (out / f"source.{extension}").read_bytes())
    assert table.frame.select("timestamp", "value").rows() == [("2026-11-20 10:00:00", "1.5")]
