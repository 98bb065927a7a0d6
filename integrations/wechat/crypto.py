"""Signatures and safe-mode crypto for WeChat pushes, wrapped around wechatpy.

wechatpy 1.8.18 compares signatures with ``!=``, decodes base64 leniently, never checks the
PKCS#7 padding or the length field, and draws the 16 random bytes of a reply from ``random``.
These wrappers keep its cipher and its reply format and add the missing checks, so a corrupted
ciphertext is told apart from one encrypted for another AppID."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
import time
from typing import Any

from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.crypto.cryptography import WeChatCipher

BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16


class CryptoError(ValueError):
    """The ciphertext cannot be decrypted (bad base64, length, padding or layout)."""


class ForeignAppId(Exception):
    """The ciphertext decrypts cleanly but was encrypted for another AppID."""


def signature(*parts: str) -> str:
    """SHA-1 hex of the parts sorted as plain strings and joined with nothing between."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_ok(given: str, *parts: str) -> bool:
    """Constant-time check of a signature WeChat sent."""
    return hmac.compare_digest(
        signature(*parts).encode("ascii"), given.encode("utf-8", errors="replace")
    )


def aes_key(encoding_aes_key: str) -> bytes:
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CryptoError("EncodingAESKey 不是合法的 base64") from exc
    if len(key) != 32:
        raise CryptoError("EncodingAESKey 解码后应为 32 字节")
    return key


def decrypt(encrypted: str, *, encoding_aes_key: str, app_id: str) -> bytes:
    """The message XML inside an ``Encrypt`` element (bytes, not yet decoded)."""
    key = aes_key(encoding_aes_key)
    try:
        data = base64.b64decode(encrypted.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CryptoError("Encrypt 不是合法的 base64") from exc
    if not data or len(data) % 16:
        raise CryptoError(f"密文长度 {len(data)} 不是 16 的倍数")
    plain = WeChatCipher(key).decrypt(data)
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise CryptoError("PKCS#7 填充错误")
    plain = plain[:-pad]
    if len(plain) < 20:
        raise CryptoError("解密结果过短")
    (length,) = struct.unpack(">I", plain[16:20])
    if 20 + length > len(plain):
        raise CryptoError("消息长度字段超出密文")
    message, trailer = plain[20 : 20 + length], plain[20 + length :]
    if not hmac.compare_digest(trailer, app_id.encode("utf-8")):
        raise ForeignAppId("密文中的 AppID 与本公众号不符")
    return message


class _SecurePrpCrypto(PrpCrypto):  # type: ignore[misc]
    def get_random_string(self) -> str:
        return secrets.token_hex(8)  # 16 characters from the OS's random source


class _Crypto(WeChatCrypto):  # type: ignore[misc]
    def encrypt_message(self, msg: Any, nonce: str, timestamp: str | None = None) -> str:
        return str(self._encrypt_message(msg, nonce, timestamp, _SecurePrpCrypto))


def encrypt_reply(xml: str, *, token: str, encoding_aes_key: str, app_id: str) -> str:
    """``<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>`` around a reply."""
    aes_key(encoding_aes_key)  # refuse a bad key with our error, not wechatpy's assert
    crypto = _Crypto(token, encoding_aes_key, app_id)
    return crypto.encrypt_message(xml, secrets.token_hex(5), str(int(time.time())))
