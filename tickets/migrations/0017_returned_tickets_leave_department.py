# Data: a case returned to dispatch (退单) no longer names the department that returned it.
#
# From now on ``Ticket.return_to_dispatch`` clears the department; this clears it on the cases
# that were returned before and are still waiting for dispatch: state ``acknowledged`` whose
# latest dispatch event is a return. (A 12345 case that arrived with a department and was never
# assigned keeps it.) The return events keep the department's name, so the timeline still says
# who returned the case. Not reversible in a meaningful way: the reverse does nothing.

from django.db import migrations
from django.db.models import OuterRef, Subquery


def clear_returned(apps, schema_editor):  # type: ignore[no-untyped-def]
    Ticket = apps.get_model("tickets", "Ticket")
    TicketEvent = apps.get_model("tickets", "TicketEvent")
    last_dispatch = (
        TicketEvent.objects.filter(
            ticket_id=OuterRef("pk"), kind__in=["assign", "return_to_dispatch", "transfer"]
        )
        .order_by("-created_at", "-id")
        .values("kind")[:1]
    )
    returned = (
        Ticket.objects.filter(state="acknowledged", department__isnull=False)
        .annotate(last_dispatch=Subquery(last_dispatch))
        .filter(last_dispatch="return_to_dispatch")
        .values_list("pk", flat=True)
    )
    Ticket.objects.filter(pk__in=list(returned)).update(department=None, assignee=None)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0016_citizen_search_indexes"),
    ]

    operations = [
        migrations.RunPython(clear_returned, migrations.RunPython.noop, elidable=True),
    ]
