"""Outbound WeChat: customer-service text messages and template messages (wechatpy's client).

The two ways to reach a WeChat citizen (the channel's ``SPEC.senders``), tried in this order
by the outbox worker: a customer-service message (only within 48 hours of the citizen's last
interaction), then a template message (only when the account has a template). A permanent
``DeliveryError`` tells the worker to fall back to the next way (in the end SMS).

The access token lives in Django's cache (Redis in production), one per AppID, so all workers
share one token; a cache lock keeps two workers from fetching at once (a fetch invalidates the
previous token after a grace period).

Media: ``media_fetch`` downloads a citizen's image, voice or video for the media-download job
(``integrations.media``) through ``media/get`` with the same shared access token."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

import requests
from django.core.cache import cache
from django.utils import timezone
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from integrations.media.fetch import ApiJson, Fetched, Limits, api_fetch, http_fetch
from integrations.media.sniff import kind_of_hint
from integrations.models import ChannelAccount
from integrations.outbound.base import DeliveryError, Notice

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.weixin.qq.com"
TIMEOUT = 10  # seconds per HTTP call; wechatpy's token fetch has none of its own
CUSTOM_WINDOW = dt.timedelta(hours=48)
TEMPLATE_FIELD_LIMIT = 20
CUSTOM_TEXT_LIMIT = 600
TOKEN_MARGIN = 300  # drop a cached token this many seconds before WeChat does
LOCK_SECONDS = 15

# WeChat error codes after which trying the same way again is pointless: fall back.
PERMANENT_ERRORS: dict[int, str] = {
    43004: "市民未关注公众号",
    45015: "超过 48 小时客服消息时限",
    45047: "客服消息条数超过上限",
    40003: "OpenID 无效",
    40037: "模板 ID 无效",
    48001: "接口未授权",
    # Account configuration: no retry can fix these; an administrator must.
    40013: "AppID 无效",
    40125: "AppSecret 无效",
    40164: "服务器 IP 不在公众号白名单中",
}


class CacheSessionStorage(SessionStorage):  # type: ignore[misc]
    """wechatpy's session storage on Django's cache."""

    prefix = "wechat:session:"

    def get(self, key: str, default: Any = None) -> Any:
        return cache.get(self.prefix + key, default)

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        if value is None:
            return
        timeout = max(int(ttl) - TOKEN_MARGIN, 60) if ttl else None
        cache.set(self.prefix + key, value, timeout)

    def delete(self, key: str) -> None:
        cache.delete(self.prefix + key)


class _TimeoutSession(requests.Session):
    def request(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = TIMEOUT
        return super().request(*args, **kwargs)


class Client(WeChatClient):  # type: ignore[misc]
    """wechatpy's client with an overridable API base, timeouts and a shared token."""

    def __init__(self, *, app_id: str, secret: str, api_base: str = DEFAULT_API_BASE) -> None:
        super().__init__(app_id, secret, session=CacheSessionStorage(), timeout=TIMEOUT)
        self._http = _TimeoutSession()
        self.API_BASE_URL = api_base.rstrip("/") + "/cgi-bin/"

    def _fetch(self) -> Any:
        return self._fetch_access_token(
            url=self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )

    def fetch_access_token(self) -> Any:
        stale = self.session.get(self.access_token_key)
        lock = f"wechat:token-lock:{self.appid}"
        if cache.add(lock, 1, timeout=LOCK_SECONDS):
            try:
                return self._fetch()
            finally:
                cache.delete(lock)
        # Another worker is fetching: wait for its token rather than invalidate it.
        deadline = time.monotonic() + LOCK_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.2)
            token = self.session.get(self.access_token_key)
            if token and token != stale:
                return {"access_token": token}
        return self._fetch()


def client_for(account: ChannelAccount) -> Client:
    app_id = str(account.config.get("app_id", ""))
    secret = account.secret("app_secret")
    if not app_id or not secret:
        raise DeliveryError("公众号未配置 AppID 或 AppSecret", permanent=True)
    api_base = str(account.config.get("api_base") or DEFAULT_API_BASE)
    return Client(app_id=app_id, secret=secret, api_base=api_base)


def delivery_error(exc: WeChatClientException) -> DeliveryError:
    code = exc.errcode
    if code is None:  # an HTTP error status, not a WeChat error code
        status = getattr(getattr(exc, "response", None), "status_code", "?")
        return DeliveryError(f"微信接口 HTTP {status}", permanent=False)
    if int(code) in PERMANENT_ERRORS:
        return DeliveryError(f"微信 {code}：{PERMANENT_ERRORS[int(code)]}", permanent=True)
    return DeliveryError(f"微信 {code}：{str(exc.errmsg)[:200]}", permanent=False)


def _call(send: Callable[[], Any]) -> None:
    try:
        send()
    except WeChatClientException as exc:
        raise delivery_error(exc)
    except requests.RequestException as exc:
        # Never the exception text: its URL carries the access token or the AppSecret.
        raise DeliveryError(f"网络错误（{type(exc).__name__}）", permanent=False)
    except (ValueError, KeyError, TypeError) as exc:
        raise DeliveryError(f"微信接口返回无法识别（{type(exc).__name__}）", permanent=False)


def _check_subscribed(identity: Any) -> None:
    if identity is not None and getattr(identity, "subscribed", True) is False:
        raise DeliveryError("市民已取消关注公众号", permanent=True)


def short(value: Any, limit: int = TEMPLATE_FIELD_LIMIT) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def template_data(notice: Notice) -> dict[str, dict[str, str]]:
    fields = notice.fields or {"case_no": notice.case_no, "text": notice.text}
    return {key: {"value": short(value)} for key, value in fields.items()}


def send_custom(account: ChannelAccount, openid: str, notice: Notice, identity: Any) -> str:
    """A customer-service text message, only within 48 hours of the last interaction."""
    _check_subscribed(identity)
    last_seen = getattr(identity, "last_seen_at", None)
    if last_seen is None or timezone.now() - last_seen > CUSTOM_WINDOW:
        raise DeliveryError("超过 48 小时客服消息时限", permanent=True)
    text = notice.text
    if notice.url and notice.url not in text:
        text = f"{text}\n{notice.url}"
    client = client_for(account)
    _call(lambda: client.message.send_text(openid, text[:CUSTOM_TEXT_LIMIT]))
    return "wechat:custom"


def send_template(account: ChannelAccount, openid: str, notice: Notice, identity: Any) -> str:
    """A template message, when the account has a template configured."""
    template_id = str(account.config.get("template_id") or "")
    if not template_id:
        raise DeliveryError("公众号未配置模板消息", permanent=True)
    _check_subscribed(identity)
    client = client_for(account)
    data = template_data(notice)
    _call(lambda: client.message.send_template(openid, template_id, data, url=notice.url or None))
    return "wechat:template"


# --- media -------------------------------------------------------------------------------

MEDIA_EXPIRED = 40007
# The token was refused: fetch a new one once and try again.
TOKEN_ERRORS = {40001, 40014, 42001}


def _access_token(client: Client) -> str:
    token: Any = None

    def take() -> None:
        nonlocal token
        token = client.access_token

    _call(take)
    if not token:
        raise DeliveryError("微信未返回 access_token", permanent=False)
    return str(token)


def _media_error(code: int, message: Any) -> DeliveryError:
    if code == MEDIA_EXPIRED:
        return DeliveryError(
            "微信 40007：媒体文件不存在或已过期（微信临时素材只保存 3 天）", permanent=True
        )
    if code in PERMANENT_ERRORS:
        return DeliveryError(f"微信 {code}：{PERMANENT_ERRORS[code]}", permanent=True)
    return DeliveryError(f"微信 {code}：{str(message)[:200]}", permanent=False)


def _media_get(account: Any, media_id: str, expect: str, limits: Limits) -> Fetched:
    if not isinstance(account, ChannelAccount):
        raise DeliveryError("找不到收到该消息的公众号账号", permanent=True)
    client = client_for(account)
    for first_try in (True, False):
        answer = api_fetch(
            client.API_BASE_URL + "media/get",
            limits=limits,
            expect=expect,
            params={"access_token": _access_token(client), "media_id": media_id},
        )
        if isinstance(answer, Fetched):
            answer.via = "wechat:media"
            return answer
        if not isinstance(answer, ApiJson):  # pragma: no cover - api_fetch's contract
            raise DeliveryError("微信接口返回无法识别", permanent=False)
        if answer.data.get("video_url"):
            # A video's media/get answers where to fetch it (on WeChat's CDN): guarded.
            fetched = http_fetch(str(answer.data["video_url"]), limits=limits, expect="video")
            fetched.via = "wechat:video"
            return fetched
        try:
            code = int(answer.data.get("errcode") or 0)
        except (TypeError, ValueError):
            code = 0
        if code in TOKEN_ERRORS and first_try:
            client.session.delete(client.access_token_key)
            continue
        if code == 0:
            raise DeliveryError(f"微信接口 HTTP {answer.status}，没有文件", permanent=False)
        raise _media_error(code, answer.data.get("errmsg", ""))
    raise DeliveryError("微信 access_token 连续失效", permanent=False)


def media_fetch(account: Any, attachment: Any, limits: Limits) -> Fetched:
    """A WeChat image, voice or video: ``media/get`` (temporary media live 3 days); without
    API credentials, or when WeChat no longer has the media, an image's ``PicUrl``."""
    expect = kind_of_hint(attachment.content_type)
    problem: DeliveryError | None = None
    if attachment.media_id:
        try:
            return _media_get(account, attachment.media_id, expect, limits)
        except DeliveryError as exc:
            if not exc.permanent or not attachment.source_url:
                raise
            problem = exc
    if attachment.source_url:
        try:
            fetched = http_fetch(attachment.source_url, limits=limits, expect=expect)
        except DeliveryError as exc:
            if problem is not None and exc.permanent:
                raise DeliveryError(f"{problem}；图片地址：{exc}", permanent=True) from exc
            raise
        fetched.via = "wechat:picurl"
        return fetched
    raise DeliveryError("消息没有 MediaId，也没有图片地址", permanent=True)
