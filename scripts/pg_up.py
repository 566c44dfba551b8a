"""Exit 0 when the PostgreSQL URL given answers, 1 otherwise (used by `make test` outside CI, and by
`make bench` to decide whether the engine case also runs on PostgreSQL: :func:`answers`)."""

import sys

from sqlalchemy import create_engine, text


def answers(url: str) -> bool:
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure to connect means no
        return False
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(0 if answers(sys.argv[1]) else 1)
