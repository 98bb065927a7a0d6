# The public id of a case on the ticket itself (Open311 answers a POST with it before any public
# record exists). Added without a default so existing rows get NULL rather than one shared value;
# the default (a fresh id per new ticket) is Python-side only. 0010 fills the rows that need one.

from django.db import migrations, models

import tickets.models_public


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0008_ticket_search_document"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="public_id",
            field=models.CharField(
                blank=True,
                editable=False,
                max_length=16,
                null=True,
                unique=True,
                verbose_name="公开编号",
            ),
        ),
        migrations.AlterField(
            model_name="ticket",
            name="public_id",
            field=models.CharField(
                blank=True,
                default=tickets.models_public.new_public_id,
                editable=False,
                max_length=16,
                null=True,
                unique=True,
                verbose_name="公开编号",
            ),
        ),
    ]
