"""Public ids that begin with "-" are formulas to a spreadsheet: give those records (and their
tickets, which carry the same id since 0009) a new one. Their old public address stops
working; nothing else refers to it."""

from typing import Any

from django.db import migrations

FORMULA_START = ("=", "+", "-", "@")


def reissue(apps: Any, schema_editor: Any) -> None:
    from tickets.models_public import new_public_id

    PublicRecord = apps.get_model("tickets", "PublicRecord")
    Ticket = apps.get_model("tickets", "Ticket")
    for start in FORMULA_START:
        for ticket in Ticket.objects.filter(public_id__startswith=start).only("id"):
            fresh = new_public_id()
            Ticket.objects.filter(pk=ticket.pk).update(public_id=fresh)
            PublicRecord.objects.filter(ticket_id=ticket.pk).update(public_id=fresh)
        for record in PublicRecord.objects.filter(public_id__startswith=start).only("id"):
            PublicRecord.objects.filter(pk=record.pk).update(public_id=new_public_id())


class Migration(migrations.Migration):
    dependencies = [("tickets", "0012_category_name_sort_fill")]

    operations = [migrations.RunPython(reissue, migrations.RunPython.noop)]
