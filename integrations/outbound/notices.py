"""Citizen notices (acknowledged, asked for information, extended, replied) as outbox rows.

The outbound package implements ``on_ticket_event(event)``; until then no hook is registered."""
