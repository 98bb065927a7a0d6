"""Public case pages (政务公开): no login, their own layout, only redacted published records."""
