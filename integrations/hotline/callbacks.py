"""12345 callbacks (accepted, returned, extension_requested, replied) as outbox rows.

The hotline package implements ``on_ticket_event(event)``; until then no hook is registered."""
