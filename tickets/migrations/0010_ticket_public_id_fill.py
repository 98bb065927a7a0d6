# Data: every case the public can already address gets its public id on the ticket.
# - A case with a public record takes the record's id (its public page keeps its address).
# - A case filed through Open311 without a record yet gets a fresh id (clients read it back).
# Other existing cases stay NULL: when one is replied, its new record gets an id as before.

from django.db import migrations
from django.db.models import OuterRef, Subquery

BATCH = 2000


def fill(apps, schema_editor):
    from tickets.models_public import new_public_id

    Ticket = apps.get_model("tickets", "Ticket")
    PublicRecord = apps.get_model("tickets", "PublicRecord")
    Ticket.objects.filter(public_id__isnull=True, public_record__isnull=False).update(
        public_id=Subquery(
            PublicRecord.objects.filter(ticket_id=OuterRef("pk")).values("public_id")[:1]
        )
    )
    pending = Ticket.objects.filter(public_id__isnull=True, channel="open311")
    while True:
        batch = list(pending.only("pk")[:BATCH])
        if not batch:
            break
        for ticket in batch:
            ticket.public_id = new_public_id()
        Ticket.objects.bulk_update(batch, ["public_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0009_ticket_public_id"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
