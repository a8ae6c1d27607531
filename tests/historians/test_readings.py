"""A page of history as the API sent it becomes columns; a value that is none of a number, a
text or a digital state is a dead letter naming its tag and instant, and no row."""

from __future__ import annotations

import datetime as dt

import polars as pl

from oee_pipelines.connectors.historian import readings, samples, unreadable

START = dt.datetime(2026, 3, 3, tzinfo=dt.UTC)
END = START + dt.timedelta(hours=1)


def _page() -> pl.DataFrame:
    values: list[object] = [1.5, "open", {"Name": "Pt Created", "IsSystem": True}, [1, 2], None]
    return readings(
        pl.Series(["T1", "T2", "T3", "T4", "T5"]),
        [f"2026-03-03T00:0{k}:00Z" for k in range(5)],
        values,
        pl.Series(["192", "192", "0", "192", "0"]),
        dt.timedelta(0),
        "pi",
        "/streamsets/recorded",
    )


def test_numbers_texts_and_digital_states_are_read_and_an_odd_value_is_set_apart():
    page = _page()
    assert page["value"].to_list() == [1.5, None, None, None, None]
    assert page["value_text"].to_list() == [None, "open", "Pt Created", None, None]
    assert page["unreadable"].to_list() == [None, None, None, "[1, 2]", None]
    assert set(samples(page)) == {"T1", "T2", "T3", "T5"}


def test_an_odd_value_is_a_dead_letter_naming_tag_and_instant():
    (letter,) = unreadable("pi", _page(), START, END)
    assert letter.reason == "value is no number, text or digital state"
    assert letter.context == {"tag": "T4", "ts": "2026-03-03T00:03:00+00:00"}
    assert letter.payload == {"tag": "T4", "ts": "2026-03-03T00:03:00+00:00", "value": "[1, 2]"}
    assert unreadable("pi", _page(), END, END + dt.timedelta(hours=1)) == []  # outside: not ours
