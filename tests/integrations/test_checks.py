"""The deploy check warns when SMS would only be logged."""

from integrations.checks import sms_backend_check


def test_it_warns_in_production_without_an_sms_provider(settings, monkeypatch):
    settings.DEBUG, settings.DEMO_MODE = False, False
    monkeypatch.delenv("SMS_BACKEND", raising=False)
    assert [w.id for w in sms_backend_check()] == ["integrations.W001"]
    monkeypatch.setenv("SMS_BACKEND", "aliyun")
    assert sms_backend_check() == []
    settings.DEMO_MODE = True
    monkeypatch.delenv("SMS_BACKEND", raising=False)
    assert sms_backend_check() == []
