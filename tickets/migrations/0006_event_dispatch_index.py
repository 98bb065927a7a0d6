# The metrics' dispatch figures (assigned / returned) probe TicketEvent once per ticket for two
# kinds; a partial index per kind makes each probe an index-only look-up.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0005_open311_identity_kind"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ticketevent",
            index=models.Index(
                condition=models.Q(("kind", "assign")),
                fields=["ticket", "created_at"],
                name="event_assign_time",
            ),
        ),
        migrations.AddIndex(
            model_name="ticketevent",
            index=models.Index(
                condition=models.Q(("kind", "return_to_dispatch")),
                fields=["ticket", "created_at"],
                name="event_return_time",
            ),
        ),
    ]
