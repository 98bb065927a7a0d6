"""Public ids that begin with "-" are formulas to a spreadsheet: give those records a new id
(their old public address stops working; nothing else refers to it)."""

from typing import Any

from django.db import migrations

FORMULA_START = ("=", "+", "-", "@")


def reissue(apps: Any, schema_editor: Any) -> None:
    from tickets.models_public import new_public_id

    PublicRecord = apps.get_model("tickets", "PublicRecord")
    for start in FORMULA_START:
        for record in PublicRecord.objects.filter(public_id__startswith=start).only("id"):
            PublicRecord.objects.filter(pk=record.pk).update(public_id=new_public_id())


class Migration(migrations.Migration):
    dependencies = [("tickets", "0008_ticket_search_document")]

    operations = [migrations.RunPython(reissue, migrations.RunPython.noop)]
