"""Settings for the test suite: the real settings, with a throw-away key and fast hashing."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnop")

from config.settings import *

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEMO_MODE = True  # the demo loader and demo-traffic page are under test

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # One test database per pytest process, so parallel runs on one server never collide.
    DATABASES["default"]["TEST"] = {
        "NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}",
    }

# A number taken in a transaction of its own would outlive the test's rolled-back transaction;
# the suite numbers inside the caller's transaction, and tests/tickets/test_concurrency.py
# turns the production path on where it tests it.
CASE_NUMBERS_OWN_TRANSACTION = False

# Spooled pushes are replayed by the test that spools them (spool_drain), not by a thread of
# its own that would race the test's transaction.
INBOUND_SPOOL_AUTODRAIN = False
