"""The Core copy of the tables (`store.tables`, what `pm sync` queries) matches the models."""

from pathlib import Path

from pm_cli.store import tablegen, tables


def test_core_tables_are_current_with_the_models():
    text = Path(tables.__file__).read_text(encoding="utf-8")
    assert text == tablegen.render(), (
        "pm_cli/store/tables.py is stale: run `python -m pm_cli.store.tablegen`"
    )


def test_core_tables_have_every_column_of_the_models():
    from pm_cli.schema import metadata

    core_tables = tables.every()
    assert sorted(core_tables) == sorted(metadata.tables)
    for name, model in metadata.tables.items():
        core = core_tables[name]
        got = [(c.key, c.name, c.primary_key, c.nullable) for c in core.c]
        assert got == [(c.key, c.name, c.primary_key, c.nullable) for c in model.c], name


def test_a_table_is_built_once_when_first_named():
    grid = tables.grid
    assert tables.grid is grid is tables.every()["grid"]
    assert "id" in grid.c and grid.c.tags.type.__class__.__name__ == "JSON"
