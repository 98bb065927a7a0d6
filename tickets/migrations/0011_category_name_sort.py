from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0010_ticket_public_id_fill"),
    ]

    operations = [
        migrations.AddField(
            model_name="category",
            name="name_sort",
            field=models.CharField(
                blank=True, editable=False, max_length=255, verbose_name="拼音排序"
            ),
        ),
    ]
