"""``{% public_review_link %}``: the inbox's link to the review queue of public records, with
how many wait, for the roles that review (nothing for the others)."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from tickets import publication

register = template.Library()


@register.inclusion_tag("inbox/_review_link.html", takes_context=True)
def public_review_link(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    count = publication.public_review_pending_count(user=user) if user is not None else None
    return {
        "count": count,
        "url": reverse("public:review_list"),
        "current": request is not None and request.path.startswith(reverse("public:review_list")),
    }
