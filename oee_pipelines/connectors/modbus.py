"""Modbus register map entries: where a value lives in a unit, and how its words encode it.

A tag map address reads `unit=1;hr=10;float32;order=CDAB;scale=0.1;offset=-40`:

- `unit`: the unit (slave) id; one of `hr` (holding register), `ir` (input register), `co`
  (coil) or `di` (discrete input) with the 0-based address;
- the type: `int16`, `uint16` (default), `int32`, `uint32`, `float32`, or `bool` (coils and
  discrete inputs);
- `order`: the byte order of a 32-bit value on the wire, as the positions of the big-endian bytes
  ABCD: `ABCD` (default, big-endian words), `CDAB` (little-endian words), `BADC`, `DCBA`;
- `scale` and `offset`: engineering value = raw * scale + offset.

An integer without scale or offset stays an integer (a counter must be a whole number). Shared by
the realtime source and the simulated plant's Modbus server, so both read the words the same way.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

TABLES = ("hr", "ir", "co", "di")
TYPES = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "float32": "f", "bool": "?"}
ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")
BIT_TABLES = ("co", "di")


@dataclass(frozen=True, slots=True)
class RegisterAddress:
    unit: int
    table: str
    address: int
    type: str = "uint16"
    order: str = "ABCD"
    scale: float = 1.0
    offset: float = 0.0

    @classmethod
    def parse(cls, text: str) -> RegisterAddress:
        """The entry an address names; a ValueError says which part is wrong."""
        fields: dict[str, str] = {}
        kind = None
        for part in filter(None, (p.strip() for p in text.split(";"))):
            key, sep, value = part.partition("=")
            if not sep:
                if key not in TYPES:
                    raise ValueError(f"modbus address {text!r}: unknown type {key!r}")
                kind = key
            elif key in fields:
                raise ValueError(f"modbus address {text!r}: {key} given twice")
            else:
                fields[key] = value
        tables = [t for t in TABLES if t in fields]
        unknown = set(fields) - {"unit", "order", "scale", "offset", *TABLES}
        if len(tables) != 1 or "unit" not in fields or unknown:
            raise ValueError(
                f"modbus address {text!r}: needs unit=<id> and one of hr/ir/co/di=<address>"
                + (f"; unknown {', '.join(sorted(unknown))}" if unknown else "")
            )
        table = tables[0]
        bits = table in BIT_TABLES
        kind = kind or ("bool" if bits else "uint16")
        if bits != (kind == "bool"):
            raise ValueError(
                f"modbus address {text!r}: {table} holds {'bits' if bits else 'words'}"
            )
        order = fields.get("order", "ABCD").upper()
        if order not in ORDERS:
            raise ValueError(f"modbus address {text!r}: order {order} is not one of {ORDERS}")
        try:
            entry = cls(
                int(fields["unit"]),
                table,
                int(fields[table]),
                kind,
                order,
                float(fields.get("scale", 1)),
                float(fields.get("offset", 0)),
            )
        except ValueError:
            raise ValueError(
                f"modbus address {text!r}: unit, address, scale, offset are numbers"
            ) from None
        if not (0 <= entry.unit <= 255 and 0 <= entry.address <= 65535) or entry.scale == 0:
            raise ValueError(f"modbus address {text!r}: unit 0-255, address 0-65535, scale != 0")
        return entry

    @property
    def size(self) -> int:
        """Registers (or bits) it spans."""
        return 2 if self.type.endswith("32") else 1

    @property
    def _scaled(self) -> bool:
        return self.scale != 1 or self.offset != 0

    def decode(self, words: Sequence[int | bool]) -> int | float | None:
        """The engineering value of the entry's words (None for a float NaN: no value)."""
        if self.type == "bool":
            return int(bool(words[0]))
        wire = struct.pack(">" + "H" * self.size, *words)
        raw = struct.unpack(">" + TYPES[self.type], self._reorder(wire, inverse=True))[0]
        if self.type == "float32" and not math.isfinite(raw):
            return None
        if not self._scaled:
            return raw
        return raw * self.scale + self.offset

    def encode(self, value: float) -> list[int]:
        """The words (or bit) that hold `value`: what a PLC writes."""
        if self.type == "bool":
            return [int(bool(value))]
        raw: float = (value - self.offset) / self.scale
        packed = struct.pack(">" + TYPES[self.type], raw if self.type == "float32" else round(raw))
        return list(struct.unpack(">" + "H" * self.size, self._reorder(packed, inverse=False)))

    def _reorder(self, data: bytes, inverse: bool) -> bytes:
        if self.size == 1:
            return data
        positions = [ord(letter) - ord("A") for letter in self.order]
        if inverse:  # wire -> ABCD
            out = bytearray(4)
            for wire_index, position in enumerate(positions):
                out[position] = data[wire_index]
            return bytes(out)
        return bytes(data[position] for position in positions)
