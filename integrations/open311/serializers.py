"""Our categories as GeoReport services, our cases as GeoReport service requests.

A service request's id is the case's public id, the one ``/public/`` shows (never the sequential
case number). Only a published record shows text (its redacted copy) and a location (the street
and coordinates to about 100 m, as ``/public/`` shows them); any other case shows only what a
confidential record shows: service, agency, dates and whether it is open."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from integrations.open311.render import iso
from tickets.models import Category, RequestType, State, Ticket
from tickets.models_public import PublicRecord
from tickets.public.location import NOWHERE, public_location

CLOSED_STATES = (State.REPLIED, State.CLOSED, State.MERGED, State.INVALID)


def service(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": f"{category.parent.name} / {category.name}"
        if category.parent
        else category.name,
        "metadata": True,
        "type": "realtime",
        "keywords": "",
        "group": category.parent.name if category.parent else category.name,
    }


def service_definition(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "attributes": [
            {
                "variable": True,
                "code": "request_type",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "诉求类型，默认为求助",
                "order": 1,
                "description": "诉求类型",
                "values": [
                    {"key": value, "name": str(label)} for value, label in RequestType.choices
                ],
            }
        ],
    }


def status_of(ticket: Ticket) -> str:
    return "closed" if ticket.state in CLOSED_STATES else "open"


def request_id(ticket: Ticket, record: PublicRecord | None) -> str:
    """The id Open311 knows a case by: its public record's, else the ticket's own public id."""
    return (record.public_id if record is not None else None) or ticket.public_id or ""


def service_request(ticket: Ticket, record: PublicRecord | None) -> dict[str, Any]:
    shown = record is not None and record.status == PublicRecord.Status.PUBLISHED
    full = shown and record is not None and not record.confidential
    category = ticket.category
    notice = "" if shown else "诉求已受理，办理结果经审核后公开。"
    where = public_location(record=record, ticket=ticket) if full else NOWHERE
    return {
        "service_request_id": request_id(ticket, record),
        "status": status_of(ticket),
        "status_notes": record.reply if full and record else "",
        "service_name": category.name if category else "",
        "service_code": category.code if category else "",
        "description": record.content if full and record else "",
        "agency_responsible": ticket.department.name if ticket.department else "",
        "service_notice": notice,
        "requested_datetime": iso(ticket.received_at),
        "updated_datetime": iso(ticket.updated_at),
        "expected_datetime": iso(ticket.resolve_due_at),
        "address": where.address,
        "address_id": "",
        "zipcode": "",
        "lat": where.lat,
        "long": where.long,
        "media_url": "",
    }


def discovery(base_url: str, changeset: str) -> dict[str, Any]:
    return {
        "changeset": changeset,
        "contact": getattr(settings, "OPEN311_CONTACT", "12345 政务服务便民热线"),
        "key_service": "API 密钥由系统管理员在管理后台签发。",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base_url,
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
