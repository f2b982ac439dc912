"""Where benchmarks write: results (committed), the doc they update, process logs (not committed)."""

from devtools.prepare import REPO

RESULTS = REPO / "bench" / "results"
DOC = REPO / "docs" / "performance.md"
LOGS = REPO / "var" / "bench-logs"
