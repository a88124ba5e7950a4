"""The store's connection, and its snapshot templates."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import astuple
from pathlib import Path

from emulator import store_schema
from emulator.store_schema import TEMPLATE_COLUMNS, Job, Template


def marks(row_type: type[Job] | type[Template]) -> str:
    """The `?, ?, ...` for one row of the type."""
    return ", ".join("?" * len(row_type.__dataclass_fields__))


class Database:
    """One SQLite connection, shared by the server's threads under a lock."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            # A development tool's state: speed over durability across power loss.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=OFF")
            store_schema.create(self._db)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")


class TemplateRows(Database):
    def add_template(self, template: Template) -> None:
        with self._transaction() as db:
            db.execute(f"INSERT INTO templates ({TEMPLATE_COLUMNS}) VALUES ({marks(Template)})",
                       astuple(template))

    def put_template(self, template: Template) -> None:
        """Replace the template with the same id (an update)."""
        with self._transaction() as db:
            db.execute(f"REPLACE INTO templates ({TEMPLATE_COLUMNS}) VALUES ({marks(Template)})",
                       astuple(template))

    def template(self, template_id: str) -> Template | None:
        with self._lock:
            row = self._db.execute(f"SELECT {TEMPLATE_COLUMNS} FROM templates"
                                   " WHERE template_id = ?", (template_id,)).fetchone()
        return None if row is None else Template(*row)

    def templates(self) -> list[Template]:
        """Every template, oldest first (in the order added within one millisecond)."""
        with self._lock:
            rows = self._db.execute(f"SELECT {TEMPLATE_COLUMNS} FROM templates"
                                    " ORDER BY create_time_ms, rowid").fetchall()
        return [Template(*row) for row in rows]

    def delete_template(self, template_id: str) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM templates WHERE template_id = ?",
                              (template_id,)).rowcount > 0
