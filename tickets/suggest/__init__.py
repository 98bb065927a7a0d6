"""Routing suggestions (派单建议): the likely department and category of a new ticket, learned
from closed tickets.

``model`` is the model itself (pure), ``services`` trains it nightly, ``selectors`` reads the
suggestion for a ticket."""
