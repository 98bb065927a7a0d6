# Each timeline event stamps the ticket's department, category, request type and resolution
# deadline as they stood right after it, so that figures for a past moment use what was true
# then (dashboards/past.py). Nullable columns or a constant database default: existing events
# stay as they are (no rewrite of the table; writers that name only the old columns, such as
# the bench data's COPY, still work); the metrics fall back to the ticket's current values for
# events without stamps.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0014_attachment_download_state"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticketevent",
            name="after_department_id",
            field=models.IntegerField(blank=True, null=True, verbose_name="事件后承办部门"),
        ),
        migrations.AddField(
            model_name="ticketevent",
            name="after_category_id",
            field=models.IntegerField(blank=True, null=True, verbose_name="事件后分类"),
        ),
        migrations.AddField(
            model_name="ticketevent",
            name="after_request_type",
            field=models.CharField(
                blank=True, db_default="", max_length=16, verbose_name="事件后诉求类型"
            ),
        ),
        migrations.AddField(
            model_name="ticketevent",
            name="after_resolve_due_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="事件后办结时限"),
        ),
    ]
