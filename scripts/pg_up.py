"""Exit 0 when the PostgreSQL URL given answers, 1 otherwise (used by `make test` outside CI)."""

import sys

from sqlalchemy import create_engine, text

try:
    with create_engine(sys.argv[1], connect_args={"connect_timeout": 3}).connect() as conn:
        conn.execute(text("SELECT 1"))
except Exception:
    sys.exit(1)
