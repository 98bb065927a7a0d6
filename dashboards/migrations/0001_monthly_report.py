import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="MonthlyReport",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField(help_text="该月 1 日", unique=True, verbose_name="月份")),
                ("as_of", models.DateTimeField(blank=True, null=True, verbose_name="数据截至")),
                ("file", models.FileField(blank=True, upload_to="reports/", verbose_name="文件")),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "排队中"), ("running", "生成中"), ("done", "已生成"), ("failed", "生成失败")],
                        default="pending",
                        max_length=16,
                        verbose_name="状态",
                    ),
                ),
                ("progress", models.PositiveSmallIntegerField(default=0, verbose_name="进度")),
                ("step", models.CharField(blank=True, max_length=64, verbose_name="当前步骤")),
                ("error", models.TextField(blank=True, verbose_name="错误")),
                ("requested_at", models.DateTimeField(blank=True, null=True, verbose_name="请求时间")),
                ("started_at", models.DateTimeField(blank=True, null=True, verbose_name="开始时间")),
                ("finished_at", models.DateTimeField(blank=True, null=True, verbose_name="完成时间")),
                (
                    "generated_by",
                    models.ForeignKey(
                        blank=True,
                        help_text="为空表示每月自动生成",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="生成人",
                    ),
                ),
            ],
            options={
                "verbose_name": "月度报告",
                "verbose_name_plural": "月度报告",
                "ordering": ["-month"],
            },
        ),
    ]
