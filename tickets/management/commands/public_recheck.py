"""``python manage.py public_recheck [--apply] [--reviewed]``: look again at what is public."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tickets.publication import public_records_recheck


class Command(BaseCommand):
    help = (
        "用现行脱敏规则复核已公开的记录：自动公开的记录如今会脱敏出不同内容或仍有疑似个人信息的，"
        "重新脱敏并退回待审核；人工批准的记录只列出（加 --reviewed 则一并退回待审核）。"
        "不加 --apply 时只统计，不写入。"
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--apply", action="store_true", help="写入（默认只统计）")
        parser.add_argument(
            "--reviewed", action="store_true", help="人工批准但仍有疑似个人信息的，也退回待审核"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        summary = public_records_recheck(apply=options["apply"], reviewed=options["reviewed"])
        verb = "已退回" if options["apply"] else "将退回"
        self.stdout.write(f"复核已公开记录 {summary['checked']} 条。")
        self.stdout.write(
            f"  自动公开的：{verb}待审核 {summary['automatic_to_review']} 条，"
            f"按现行规则更新公开文本 {summary['automatic_renewed']} 条"
        )
        self.stdout.write(
            f"  人工批准但仍有疑似个人信息的：{summary['approved_with_suspects']} 条，"
            f"{verb}待审核 {summary['approved_to_review']} 条"
        )
        if not options["apply"]:
            self.stdout.write("（未写入；加 --apply 执行。）")
