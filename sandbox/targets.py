"""A measured figure against its target, as the benchmark and the chaos run report them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    target: str
    ok: bool

    @property
    def verdict(self) -> str:
        return "ok" if self.ok else "MISSED"
