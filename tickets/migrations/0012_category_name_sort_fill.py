# Data: the pinyin sort key of every existing category (new ones get it when saved).

from django.db import migrations


def fill(apps, schema_editor):
    from tickets.text import pinyin_sort_key

    Category = apps.get_model("tickets", "Category")
    categories = list(Category.objects.only("pk", "name"))
    for category in categories:
        category.name_sort = pinyin_sort_key(category.name)
    Category.objects.bulk_update(categories, ["name_sort"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0011_category_name_sort"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
