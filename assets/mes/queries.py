"""The SQL files of the MES assets, read on first use (nothing is read at import)."""

from functools import cache
from pathlib import Path


@cache
def query(name: str) -> str:
    return (Path(__file__).parent / f"{name}.sql").read_text()
