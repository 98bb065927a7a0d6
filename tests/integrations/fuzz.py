"""A seeded generator of malformed channel messages: a valid message of each channel, bent in
one or more of the ways a stranger (or a broken platform) bends it. Same seed, same bodies.

Every body stays under its endpoint's size limit: a body over the limit is refused before it
is read (413) by design, which the endpoint tests cover."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

# Strings that have broken Python services before: NUL, lone surrogates, control and format
# characters, markup and CDATA terminators, SQL and template syntax, numbers that are not.
NASTY_TEXT = [
    "\x00",
    "a\x00b",
    "\ud800",
    "\udfff\ud800",
    "\x01\x02\x1b[31m\x7f",
    "\u202e\u200b\ufeff",
    "]]>",
    "<![CDATA[x]]>",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "&lt;&#0;&#xD800;&amp;",
    "'; DROP TABLE tickets_ticket; --",
    "{{ 7*7 }}{% debug %}",
    "%(x)s %s {0}",
    "进度 20260101000001",
    "😀" * 50,
    "长" * 6000,
    "",
    " \t\r\n ",
    '=HYPERLINK("http://x")',
    "NaN",
    "-0",
    "1e309",
    "9" * 400,
]
NASTY_VALUES: list[Any] = [
    "²",  # a digit to str.isdigit, no number to int
    "１２３",
    "9" * 5000,  # past int's 4,300-digit limit
    -(2**70),
    None,
    True,
    False,
    0,
    -1,
    2**63,
    10**100,
    1.5,
    float("inf"),
    [],
    {},
    [None],
    {"": None},
    "x" * 300,
]


class Fuzzer:
    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.serial = 0

    def next_id(self) -> int:
        self.serial += 1
        return self.serial

    def text(self) -> str:
        pick = self.random.random()
        if pick < 0.6:
            return self.random.choice(NASTY_TEXT)
        if pick < 0.8:
            return "".join(self.random.choice(NASTY_TEXT) for _ in range(self.random.randint(2, 5)))
        return "".join(
            chr(self.random.randint(1, 0x2FFFF)) for _ in range(self.random.randint(1, 40))
        )

    def form_text(self) -> str:
        """Nasty text as a form can carry it (UTF-8 on the wire: no lone surrogates)."""
        return "".join(char for char in self.text() if not "\ud800" <= char <= "\udfff")

    def value(self) -> Any:
        return self.random.choice(NASTY_VALUES) if self.random.random() < 0.5 else self.text()

    def nested(self, depth: int) -> str:
        """JSON text of arrays/objects nested ``depth`` deep (written by hand: ``json.dumps``
        itself recurses, and would fail before our endpoint ever could)."""
        opens, closes = [], []
        for _ in range(depth):
            if self.random.random() < 0.5:
                opens.append("[")
                closes.append("]")
            else:
                opens.append('{"a":')
                closes.append("}")
        leaf = json.dumps(self.text(), ensure_ascii=False)
        return "".join(opens) + leaf + "".join(reversed(closes))

    # --- JSON bodies (Weibo, 12345, the website API) ---------------------------------------------

    def bend_json(self, valid: dict[str, Any], max_bytes: int) -> bytes:
        """One malformed variant of a valid JSON message."""
        data = json.loads(json.dumps(valid))
        way = self.random.randrange(12)
        keys = list(data)
        if way == 0:  # a field of the wrong type
            data[self.random.choice(keys)] = self.value()
        elif way == 1:  # nasty text in a text field
            data[self.random.choice(keys)] = self.text()
        elif way == 2:  # a field missing
            data.pop(self.random.choice(keys))
        elif way == 3:  # deep nesting in a field
            data[self.random.choice(keys)] = "@@NESTED@@"
            nested = self.nested(self.random.choice([40, 500, 3000])).encode(
                "utf-8", "surrogatepass"
            )
            return self._dumps(data).replace(b'"@@NESTED@@"', nested)
        elif way == 4:  # nasty keys
            data[self.text()] = self.value()
        elif way == 5:  # not an object at all
            if self.random.random() < 0.3:
                return self.nested(3000).encode("utf-8", "surrogatepass")
            return self._dumps(self.random.choice([[], [data], "x", 1, None]))
        elif way == 6:  # truncated
            raw = self._dumps(data)
            return raw[: self.random.randrange(1, max(len(raw), 2))]
        elif way == 7:  # not UTF-8 / an encoding declared nowhere
            raw = self._dumps(data)
            return self.random.choice(
                [raw.decode("utf-8").encode("utf-16"), b"\xff\xfe" + raw, raw + b"\xc3\x28"]
            )
        elif way == 8:  # random bytes
            return self.random.randbytes(self.random.randint(1, 2000))
        elif way == 9:  # several bends at once
            for _ in range(self.random.randint(2, 4)):
                data[self.random.choice(keys)] = self.value()
        elif way == 10:  # duplicate keys and odd numbers, by hand
            raw = self._dumps(data)[:-1] + b', "text": "\\u0000", "version": 1e999, "version": NaN}'
            return raw
        else:  # escaped surrogates and NUL, as JSON writes them
            data[self.random.choice(keys)] = "\\ud83d\\u0000"
            return self._dumps(data).replace(b"\\\\u", b"\\u")
        raw = self._dumps(data)
        return raw if len(raw) <= max_bytes else raw[:max_bytes]

    @staticmethod
    def _dumps(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, allow_nan=True).encode(
            "utf-8", "surrogatepass"
        )

    # --- XML bodies (WeChat) --------------------------------------------------------------------

    def bend_xml(self, fields: dict[str, str], max_bytes: int) -> bytes:
        """One malformed variant of a WeChat push."""
        way = self.random.randrange(11)
        fields = dict(fields)
        names = list(fields)

        def render(items: dict[str, str], cdata: bool = True) -> bytes:
            parts = [
                f"<{k}><![CDATA[{v}]]></{k}>" if cdata else f"<{k}>{v}</{k}>"
                for k, v in items.items()
            ]
            return ("<xml>" + "".join(parts) + "</xml>").encode("utf-8", "surrogatepass")

        if way == 0:
            fields[self.random.choice(names)] = self.text()
            return render(fields)
        if way == 1:  # raw (not CDATA) nasty text: entities, markup, NUL references
            fields[self.random.choice(names)] = self.random.choice(
                ["&#0;", "&#xD800;", "<b>x</b>", "&amp", "&unknown;", "]]>", "\x00", "a<b"]
            )
            return render(fields, cdata=False)
        if way == 2:
            fields.pop(self.random.choice(names))
            return render(fields)
        if way == 3:  # nesting
            depth = self.random.choice([10, 500, 5000])
            inner = "<a>" * depth + "x" + "</a>" * depth
            return render(fields)[:-6] + inner.encode() + b"</xml>"
        if way == 4:  # duplicated elements and too many of them
            extra = "".join(
                f"<{self.random.choice(names)}>1</{self.random.choice(names)}>" for _ in range(150)
            )
            return render(fields)[:-6] + extra.encode() + b"</xml>"
        if way == 5:  # DTD and entities
            return b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + render(fields)
        if way == 6:  # wrong root, no root, several roots
            return self.random.choice(
                [render(fields).replace(b"xml>", b"msg>"), b"", b"<xml/><xml/>", b"not xml"]
            )
        if way == 7:  # truncated
            raw = render(fields)
            return raw[: self.random.randrange(1, len(raw))]
        if way == 8:  # other encodings and declarations
            raw = render(fields)
            return self.random.choice(
                [
                    b'<?xml version="1.0" encoding="gbk"?>' + raw,
                    raw.decode("utf-8", "surrogatepass").encode("utf-16", "surrogatepass"),
                    raw.replace(b"<xml>", b"<xml>\xff\xfe"),
                ]
            )
        if way == 9:  # numbers that are not
            fields[self.random.choice(["CreateTime", "MsgId", "Location_X", "Scale"])] = (
                self.random.choice(["-1", "1e9", "NaN", "9" * 40, " 12 ", "0x10", "١٢٣"])
            )
            fields["MsgType"] = self.random.choice(["location", "text", "event", "image", "EVENT"])
            return render(fields)
        return self.random.randbytes(self.random.randint(1, 2000))

    def extra_query(self) -> dict[str, str]:
        """Parameters a stranger adds beside the signed ones (never covered by a signature)."""
        if self.random.random() < 0.7:
            return {}
        names = ["encrypt_type", "msg_signature", "openid", "echostr", "x", "timestamp"]
        return {
            self.random.choice(names): self.form_text() for _ in range(self.random.randint(1, 3))
        }


def corpus(make: Callable[[Fuzzer], bytes], *, seed: int, count: int) -> list[bytes]:
    fuzzer = Fuzzer(seed)
    return [make(fuzzer) for _ in range(count)]
