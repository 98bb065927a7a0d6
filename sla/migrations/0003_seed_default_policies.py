"""Data: the default resolution limits of specs/sla.md (administrators edit them later)."""

from django.db import migrations

DEFAULTS = [
    ("咨询：2个工作日", "resolution", "consult", "", "working_days", 2),
    ("求助：10个工作日", "resolution", "help", "", "working_days", 10),
    ("建议：10个工作日", "resolution", "suggest", "", "working_days", 10),
    ("投诉：15个工作日", "resolution", "complaint", "", "working_days", 15),
    ("举报：15个工作日", "resolution", "report", "", "working_days", 15),
    ("紧急：24小时", "resolution", "", "urgent", "hours", 24),
    ("重办：5个工作日", "redo", "", "", "working_days", 5),
]


def seed(apps, schema_editor):
    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    for name, kind, request_type, urgency, unit, amount in DEFAULTS:
        SlaPolicy.objects.get_or_create(
            kind=kind,
            request_type=request_type,
            urgency=urgency,
            category=None,
            defaults={"name": name, "unit": unit, "amount": amount, "counting": "next_day"},
        )


def unseed(apps, schema_editor):
    apps.get_model("sla", "SlaPolicy").objects.filter(category=None).delete()


class Migration(migrations.Migration):
    dependencies = [("sla", "0002_seed_working_calendar")]
    operations = [migrations.RunPython(seed, unseed)]
