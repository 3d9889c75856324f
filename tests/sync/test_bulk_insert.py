"""The server's many-row insert (`db.prepare_insert`: one json_to_recordset statement on
PostgreSQL, an executemany elsewhere) stores exactly what an insert row by row stores, and
numbers rows from the first number it is given."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pm_cli.server import db

ROWS: list[dict[str, Any]] = [
    {
        "id": "a",
        "f": 1,
        "i": None,
        "b": True,
        "j": None,
        "jb": {"x": [1, "中"]},
        "s": "中文'\"\\ tab\there",
        "schema": 1,
    },
    {"id": "b", "f": 2.5, "i": 7, "b": None, "j": [1, 2], "jb": None, "s": None, "schema": 2},
    {
        "id": "c",
        "f": None,
        "i": 2**31 - 1,
        "b": False,
        "j": "str",
        "jb": "s",
        "s": "",
        "schema": None,
    },
]


def _table(md: sa.MetaData, name: str) -> sa.Table:
    return sa.Table(
        name,
        md,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("f", sa.Float),
        sa.Column("i", sa.Integer),
        sa.Column("b", sa.Boolean),
        sa.Column("j", sa.JSON),
        sa.Column("jb", db.JSON),
        sa.Column("s", sa.Text),
        sa.Column("schema", sa.Integer),
        sa.Column("seq", sa.BigInteger),
    )


def test_many_rows_are_stored_as_one_by_one(database_url: str) -> None:
    engine = db.make_engine(database_url)
    md = sa.MetaData()
    bulk, single = _table(md, "bulk_rows"), _table(md, "single_rows")
    with engine.begin() as conn:
        md.create_all(conn)
        db.prepare_insert(conn, bulk, [dict(r) for r in ROWS], numbered="seq")(41)
        for n, r in enumerate(ROWS):
            conn.execute(single.insert(), {**r, "seq": 41 + n})
        db.insert_many(
            conn,
            bulk,
            [
                {
                    "id": "d",
                    "f": None,
                    "i": None,
                    "b": None,
                    "j": None,
                    "jb": None,
                    "s": None,
                    "schema": None,
                    "seq": 9,
                }
            ],
        )
        conn.execute(single.insert(), {"id": "d", "seq": 9, "j": None, "jb": None})

        def stored(t: sa.Table) -> list[Any]:
            rows = conn.execute(sa.select(t).order_by(t.c.id)).all()
            nulls = conn.execute(
                sa.select(t.c.id, t.c.j.is_(None), t.c.jb.is_(None)).order_by(t.c.id)
            ).all()
            return [tuple(r) for r in rows] + [tuple(r) for r in nulls]

        got = stored(bulk)
        assert got == stored(single)
        assert [r[-1] for r in got[:4]] == [41, 42, 43, 9]
        assert got[0][5] == {"x": [1, "中"]} and got[0][6] == "中文'\"\\ tab\there"
        md.drop_all(conn)
    engine.dispose()


def test_rows_of_different_keys_still_insert(database_url: str) -> None:
    engine = db.make_engine(database_url)
    md = sa.MetaData()
    t = _table(md, "mixed_rows")
    with engine.begin() as conn:
        md.create_all(conn)
        db.insert_many(conn, t, [{"id": "a", "f": 1.5}, {"id": "b", "s": "x", "f": 2.0}])
        assert conn.execute(sa.select(t.c.id, t.c.f, t.c.s).order_by(t.c.id)).all() == [
            ("a", 1.5, None),
            ("b", 2.0, "x"),
        ]
        md.drop_all(conn)
    engine.dispose()
