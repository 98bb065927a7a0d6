"""The project keeps its own copy of the shared channel fixtures (``tests/fixtures/channels``),
so the suite runs from a checkout alone; when the shared folder is next to the project, the
copy must be identical to it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings

PROJECT_ROOT = Path(settings.BASE_DIR)
COPY = PROJECT_ROOT / "tests" / "fixtures" / "channels"
SHARED = PROJECT_ROOT.parent / "shared" / "fixtures"
CHANNELS = ("wechat", "weibo", "hotline")
DOCUMENTED_KEYS = {"channel", "schema", "about", "expect_keys", "accounts", "scenarios"}


def _files(folder: Path) -> set[str]:
    return {item.name for item in folder.iterdir() if item.is_file()}


def test_it_keeps_a_copy_of_every_channel_fixture() -> None:
    assert COPY.is_dir(), f"missing {COPY}"
    assert {f"{channel}.json" for channel in CHANNELS} <= _files(COPY)


@pytest.mark.parametrize("channel", CHANNELS)
def test_it_has_copies_that_parse_with_the_documented_keys(channel: str) -> None:
    data = json.loads((COPY / f"{channel}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    assert DOCUMENTED_KEYS <= set(data), DOCUMENTED_KEYS - set(data)
    assert data["channel"] == channel
    assert str(data["schema"]).startswith("minsheng-channel-fixtures/")
    assert isinstance(data["about"], str) and data["about"]
    assert isinstance(data["expect_keys"], dict)
    assert isinstance(data["accounts"], list)
    assert isinstance(data["scenarios"], list) and data["scenarios"]


@pytest.mark.skipif(
    not SHARED.is_dir(),
    reason=f"no shared fixtures at {SHARED}: a clone alone has nothing to compare its copy with",
)
def test_it_matches_the_shared_fixtures_byte_for_byte() -> None:
    shared, copied = _files(SHARED), _files(COPY)
    assert shared - copied == set(), f"missing from {COPY}: {sorted(shared - copied)}"
    assert copied - shared == set(), f"not in {SHARED}: {sorted(copied - shared)}"
    differ = sorted(
        name for name in shared if (SHARED / name).read_bytes() != (COPY / name).read_bytes()
    )
    assert differ == [], f"differ from {SHARED}: {differ} (copy them again)"
