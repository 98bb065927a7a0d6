"""Data: the working calendar's exceptions for every year chinesecalendar knows."""

from django.db import migrations


def seed(apps, schema_editor):
    from sla.calendar_seed import seed as seed_calendar

    seed_calendar(apps.get_model("sla", "WorkingDay"), apps.get_model("sla", "CalendarYear"))


def unseed(apps, schema_editor):
    apps.get_model("sla", "WorkingDay").objects.filter(source="chinesecalendar").delete()
    apps.get_model("sla", "CalendarYear").objects.filter(source="chinesecalendar").delete()


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
