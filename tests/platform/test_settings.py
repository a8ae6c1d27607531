"""Settings from the environment: every bad value is refused by name, never half-used."""

from __future__ import annotations

import datetime as dt

import pytest

from oee_pipelines.errors import ConfigError
from oee_pipelines.settings import Settings
from oee_pipelines.warehouse.urls import display_url


def test_defaults_when_nothing_is_set() -> None:
    settings = Settings.from_env({})
    assert settings.database_url is None
    assert (settings.demo_days, settings.simulator_seed, settings.clock_skew_s) == (3, 7, 300.0)
    assert settings.earliest_timestamp == dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def test_values_are_read() -> None:
    settings = Settings.from_env(
        {
            "OEE_DATABASE_URL": "postgres://oee:pw@db:5433/plant",
            "OEE_DEMO_DAYS": "90",
            "OEE_SIMULATOR_SEED": "-3",
            "OEE_CLOCK_SKEW_S": "0.5",
            "OEE_EARLIEST_TIMESTAMP": "2015-06-01T00:00:00+02:00",
        }
    )
    assert settings.database_url == "postgresql://oee:pw@db:5433/plant"
    assert (settings.demo_days, settings.simulator_seed, settings.clock_skew_s) == (90, -3, 0.5)
    assert settings.earliest_timestamp == dt.datetime(2015, 5, 31, 22, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OEE_DEMO_DAYS", "three"),
        ("OEE_DEMO_DAYS", "0"),
        ("OEE_DEMO_DAYS", "91"),
        ("OEE_DEMO_DAYS", "2.5"),
        ("OEE_SIMULATOR_SEED", "seven"),
        ("OEE_CLOCK_SKEW_S", "-1"),
        ("OEE_CLOCK_SKEW_S", "nan"),
        ("OEE_EARLIEST_TIMESTAMP", "2000-01-01T00:00:00"),  # no offset: which zone?
        ("OEE_EARLIEST_TIMESTAMP", "yesterday"),
    ],
)
def test_a_bad_value_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{variable}='{value}' is not valid: expected"):
        Settings.from_env({variable: value})


@pytest.mark.parametrize(
    "url", ["http://oee:s3cret@db/oee", "mysql://oee:s3cret@db/oee", "oee:s3cret@db/oee"]
)
def test_a_url_that_is_not_postgresql_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(ConfigError, match="^OEE_DATABASE_URL is ") as refused:
        Settings.from_env({"OEE_DATABASE_URL": url})
    assert "s3cret" not in str(refused.value)


def test_urls_are_shown_without_their_password() -> None:
    assert display_url("postgresql://oee:s3cret@db:5432/oee") == "postgresql://oee:***@db:5432/oee"
    # No password: nothing masked, so nothing suggests there is one.
    assert display_url("postgresql://oee@/oee?host=/run") == "postgresql://oee@/oee?host=%2Frun"
