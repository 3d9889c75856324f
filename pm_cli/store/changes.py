"""The local-only tables the store keeps: the change log (outbox) and this device's clock.

Apart from the synced bases so that read-only commands do not build them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import JSON, Index, text
from sqlmodel import Field, SQLModel

from pm_cli.store.outbox import UNSENT as UNSENT  # its home before store.outbox

if TYPE_CHECKING:
    from sqlalchemy import Table


class Change(SQLModel, table=True):
    """The outbox: one row per local write, made in the write's own transaction (sync.md §1)."""

    __tablename__ = "change"
    # a site's own creation, found without reading the log (pdca: has the server seen it?);
    # what is still to send, in order (push, `sync status`). Queries name the literal
    # condition (UNSENT) so SQLite can use the partial index.
    __table_args__ = (
        Index("ix_change_site_record", "record_id", sqlite_where=text("entity = 'site'")),
        Index("ix_change_unsent", "local_no", "state", sqlite_where=text("state != 'acked'")),
    )

    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[Table]

    change_id: str = Field(primary_key=True)
    local_no: int = Field(unique=True)
    site_id: str
    entity: str
    record_id: str
    op: str  # upsert | delete | restore | append
    fields: dict[str, Any] = Field(sa_type=JSON)
    base: dict[str, str] = Field(sa_type=JSON)
    hlc: str
    device_id: str
    schema_no: int = Field(sa_column_kwargs={"name": "schema"})
    state: str = Field(default="pending")  # pending | sent | acked | rejected
    seq: int | None = None
    reason: str | None = None


class SyncState(SQLModel, table=True):
    """This database's device id and clock; one row, made by `pm init`."""

    __tablename__ = "sync_state"

    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[Table]

    id: int = Field(default=1, primary_key=True)
    device_id: str
    last_hlc: str
    clock_offset_ms: int = 0
    server_epoch: str | None = None
    cursor: int = 0  # the last server seq applied here (saved with what it applied)
    last_sync_at: str | None = None
    # append-only rows (answers, visits, events) are in the change log; False until the first
    # sync, which logs them all at once (a laptop that never syncs keeps no second copy)
    appends_logged: bool = False


class SyncParked(SQLModel, table=True):
    """A pulled change this pm cannot apply yet (an entity or field from a newer pm), kept
    to replay after the upgrade that knows it (sync.md §5)."""

    __tablename__ = "sync_parked"

    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[Table]

    seq: int = Field(primary_key=True)
    change: dict[str, Any] = Field(sa_type=JSON)
    reason: str


class NumberBlock(SQLModel, table=True):
    """Improvement-item numbers the server set aside for this laptop at one site (sync.md
    §2): an item made offline takes the lowest unused, so `#17` never changes."""

    __tablename__ = "number_block"

    if TYPE_CHECKING:  # set by SQLAlchemy's declarative mapping; SQLModel does not declare it
        __table__: ClassVar[Table]

    site_id: str = Field(primary_key=True)
    first: int = Field(primary_key=True)
    last: int
    next_no: int  # the next unused number of the block (> last: used up)
