"""Channel accounts: created and updated by the command, secrets never printed."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from integrations.models import ChannelAccount
from integrations.registry import channel_spec
from tests.integrations.replay import create_accounts, load


@pytest.mark.parametrize("channel", ["wechat", "weibo", "hotline"])
def test_it_creates_every_fixture_account_without_printing_secrets(channel, db, capsys):
    create_accounts(channel)
    out = capsys.readouterr().out
    for entry in load(channel)["accounts"]:
        account = ChannelAccount.objects.get(slug=entry["slug"])
        assert account.kind == entry["kind"]
        spec = channel_spec(account.kind)
        for key in spec.secret_keys:
            if key in entry:
                assert account.secret(key) == str(entry[key])
                assert str(entry[key]) not in out
                assert str(entry[key]) not in repr(account)
        for key in spec.public_keys:
            if key in entry:
                assert account.config[key] == str(entry[key])


def test_it_updates_only_the_given_options(db):
    call_command(
        "channel_account",
        "hotline",
        "--slug",
        "h",
        "--secret",
        "s1",
        "--callback-base",
        "http://127.0.0.1:9/a/",
    )
    call_command(
        "channel_account", "hotline", "--slug", "h", "--callback-base", "http://127.0.0.1:9/b"
    )
    account = ChannelAccount.objects.get(slug="h")
    assert account.secret("secret") == "s1"
    assert account.config["callback_base"] == "http://127.0.0.1:9/b"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["wechat", "--slug", "w", "--mode", "loud"], "--mode"),
        (["wechat", "--slug", "w", "--mode", "safe", "--token", "t"], "EncodingAESKey"),
        (["wechat", "--slug", "w", "--encoding-aes-key", "short"], "--encoding-aes-key"),
        (["weibo", "--slug", "w", "--uid", "abc"], "--uid"),
        (["hotline", "--slug", "h", "--callback-base", "ftp://x"], "--callback-base"),
        (["hotline", "--slug", "h", "--token", "t"], "不接受"),
        (["hotline", "--slug", "bad slug", "--secret", "s"], "--slug"),
    ],
)
def test_it_refuses_bad_options_and_saves_nothing(args, message, db):
    with pytest.raises(CommandError, match=message):
        call_command("channel_account", *args)
    assert not ChannelAccount.objects.filter(slug__in=["w", "h", "bad slug"]).exists()
