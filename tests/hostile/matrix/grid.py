"""The matrix itself: one cell per endpoint and caller, written as a report when the parts end."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import httpx

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "hostile"


@dataclass
class Row:
    part: str
    endpoint: str
    caller: str
    expected: str
    got: str
    ok: bool


@dataclass
class Matrix:
    rows: list[Row] = field(default_factory=list)

    def add(self, part: str, endpoint: str, caller: str, expected: str, got: str, ok: bool) -> None:
        self.rows.append(Row(part, endpoint, caller, expected, got, ok))

    def failures(self, part: str) -> list[str]:
        return [
            f"{r.endpoint} as {r.caller}: expected {r.expected}, got {r.got}"
            for r in self.rows
            if r.part == part and not r.ok
        ]

    def write(self) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        lines = [
            "# Authorization matrix",
            "",
            "Every staff API operation, portal page and console page, asked by every kind of caller.",
            "Portal callers, one of each contact type of organization A: `portal:tenant` (with a lease),",
            "`portal:landlord` (of a property), `portal:vendor` (of another property), `portal:applicant`",
            "(linked to the vendor's property, with a viewing and an offer of their own beside another",
            "applicant's), `portal:customer` (authorised on a client group); and `portal:both orgs`, a",
            "person who is A's tenant and B's landlord.",
            "The objects are organization A's; `B:admin` is another organization's admin. Statuses",
            "are HTTP statuses; `→ /path` is a redirect's Location; notes after `;` say what else",
            "was checked. The grids show what each cell was held to; a cell that failed shows in bold",
            "what it got. The last table has every answer as received.",
            "",
        ]
        failed = sum(not r.ok for r in self.rows)
        lines.append(f"{len(self.rows)} cells, {failed} not as expected.")
        for part in dict.fromkeys(r.part for r in self.rows):
            rows = [r for r in self.rows if r.part == part]
            callers = list(dict.fromkeys(r.caller for r in rows))
            endpoints = list(dict.fromkeys(r.endpoint for r in rows))
            cell = {(r.endpoint, r.caller): r for r in rows}
            lines += ["", f"## {part}", "", "| endpoint | " + " | ".join(callers) + " |"]
            lines.append("|---|" + "---|" * len(callers))
            for endpoint in endpoints:
                cells = []
                for caller in callers:
                    r = cell.get((endpoint, caller))
                    # A cell as expected shows what was checked; "Every cell" below has the raw answer.
                    cells.append(
                        "" if r is None else (r.expected if r.ok else f"**{r.got}** (expected {r.expected})")
                    )
                lines.append(f"| `{endpoint}` | " + " | ".join(cells) + " |")
        lines += [
            "",
            "## Every cell",
            "",
            "| part | endpoint | caller | expected | got | ok |",
            "|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            ok = "yes" if r.ok else "NO"
            lines.append(f"| {r.part} | `{r.endpoint}` | {r.caller} | {r.expected} | {r.got} | {ok} |")
        (ARTIFACTS / "authorization-matrix.md").write_text("\n".join(lines) + "\n")


def described(response: httpx.Response) -> str:
    location = response.headers.get("location")
    return f"{response.status_code} → {location}" if location else str(response.status_code)
