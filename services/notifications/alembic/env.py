from notifications.models import SCHEMA, Base
from shared.migrations import run_migrations

run_migrations(Base.metadata, SCHEMA)
