"""The outbox's query conditions, apart from its model so that `pm sync` (Core tables only)
does not build it."""

UNSENT = "state != 'acked'"  # the partial index's condition, as queries must spell it
