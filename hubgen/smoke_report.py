"""What the smoke tests of a repository found: each check's status and detail, and the base's answers next to the
LSG model's. Read by the card and the CLI, written by `hubgen.smoke` from the fresh process's JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SmokeReport:
    ok: bool
    checks: list[dict[str, Any]]
    fill_mask: list[dict[str, Any]] = field(default_factory=list)
    summary: str | None = None

    @property
    def agreement(self) -> tuple[int, int] | None:
        """(agreeing, compared) top-1 fill-mask predictions between the LSG and the base model."""
        compared = [row for row in self.fill_mask if "agree" in row]
        return (sum(row["agree"] for row in compared), len(compared)) if compared else None

    @staticmethod
    def status(check: dict[str, Any]) -> str:
        """pass, FAIL, or what a check found that is neither (a new untrained head, a skip, an allowed difference)."""
        return check.get("status") or ("pass" if check["ok"] else "FAIL")

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": self.checks, "fill_mask": self.fill_mask, "summary": self.summary}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SmokeReport:
        return cls(data["ok"], data["checks"], data.get("fill_mask", []), data.get("summary"))
