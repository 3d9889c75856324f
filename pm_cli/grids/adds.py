"""What grids add to the features below them, registered when the root app builds those
commands: a staff member who owns a grid is not removed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pm_cli.staff import removal

if TYPE_CHECKING:
    from sqlmodel import Session

    from pm_cli.staff.models import Staff


@removal.check
def owns_no_grid(session: Session, staff: Staff) -> None:
    """Refuse removing a staff member while they own grids (name the first five)."""
    from sqlmodel import select

    from pm_cli.errors import ConflictError
    from pm_cli.grids.models import Grid

    owned = list(
        session.exec(
            select(Grid.code)
            .where(Grid.owner_id == staff.id, Grid.deleted == False)  # noqa: E712
            .order_by(Grid.code)
        )
    )
    if owned:
        shown = ", ".join(owned[:5]) + (" …" if len(owned) > 5 else "")
        raise ConflictError(
            f"staff {staff.code} still owns {len(owned)} grid(s): {shown}",
            hint="give them another owner first: pm grid assign GRID STAFF",
        )
