"""The ground floor: engine and session, synced-model bases, HLC, change log, write helpers.

Knows no feature. Import the submodules (`pm_cli.store.write` …) inside commands, not at the
top of a CLI module: they load SQLAlchemy.
"""
