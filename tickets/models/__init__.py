"""The queue's models (a package: choices, people, the ticket, its records, public records).

Everything is importable from ``tickets.models`` as before."""

from tickets.models.choices import (
    OPEN_STATES,
    RESOLUTION_CLOCK_STATES,
    Channel,
    RequestType,
    Role,
    State,
    Urgency,
)
from tickets.models.insights import CaseLink, HotIssue, HotIssueMember, HotspotRun, RoutingModel
from tickets.models.people import Category, Citizen, CitizenIdentity, Department, StaffProfile
from tickets.models.records import (
    AppendOnlyQuerySet,
    Attachment,
    CaseNumberCounter,
    ExtensionRequest,
    Feedback,
    Reply,
    StaffNotification,
    TicketEvent,
)
from tickets.models.ticket import Ticket, new_query_code
from tickets.models_public import Open311ApiKey, PublicRecord

__all__ = [
    "OPEN_STATES",
    "RESOLUTION_CLOCK_STATES",
    "AppendOnlyQuerySet",
    "Attachment",
    "CaseLink",
    "CaseNumberCounter",
    "Category",
    "Channel",
    "Citizen",
    "CitizenIdentity",
    "Department",
    "ExtensionRequest",
    "Feedback",
    "HotIssue",
    "HotIssueMember",
    "HotspotRun",
    "Open311ApiKey",
    "PublicRecord",
    "Reply",
    "RequestType",
    "Role",
    "RoutingModel",
    "StaffNotification",
    "StaffProfile",
    "State",
    "Ticket",
    "TicketEvent",
    "Urgency",
    "new_query_code",
]
