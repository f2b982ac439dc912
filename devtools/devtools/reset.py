"""`make reset`: forget the local run's data (its database and demo credentials)."""

from __future__ import annotations

import sys

from devtools.up import VAR
from shared.settings import CommonSettings
from shared.testing.infra import drop_database


def main() -> int:
    settings = CommonSettings()
    drop_database(settings.database_url)
    (VAR / "demo.json").unlink(missing_ok=True)
    print("Dropped the local database and the demo credentials; `make up` starts afresh.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
