# The inbox's full-text search (PostgreSQL) reads a stored tsvector instead of building one per
# row: at 1,000,000 tickets building it for every open ticket took ~4 s a page.
#
# `search_document` is a generated column holding exactly the document the search matched
# before (tickets.views.queries): the title and the content, a space around every CJK character
# so the `simple` parser makes each one a token. It is stored (not an expression index alone)
# because a phrase query (`路 <-> 灯`) always rechecks the row: with an expression index every
# candidate row would be rebuilt, ~35 µs each. A GIN index answers rare terms; common terms walk
# the queue index (ticket_queue) and test the stored column on each row.
#
# PostgreSQL only; on SQLite (the embedded default) the search matches with LIKE and this
# migration does nothing. The model does not declare the column. PostgreSQL refuses to change the
# type of a column a generated column reads: a later migration that alters `title` or `content`
# must drop `search_document` first and add it again (the SQL below).
#
# On an existing database this rewrites tickets_ticket and its indexes under an exclusive lock:
# 78 s for the 1,000,000 bench tickets on the 2-core bench machine (the table grows from 429 to
# 717 MB, the GIN index is 47 MB). New rows pay ~35-60 µs each for their document.

from django.db import migrations

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
DOCUMENT = (
    "to_tsvector('simple'::regconfig, "
    f"regexp_replace(title::text || ' ' || content, '([{CJK}])', ' \\1 ', 'g'))"
)
ADD = [
    "ALTER TABLE tickets_ticket ADD COLUMN search_document tsvector "
    f"GENERATED ALWAYS AS ({DOCUMENT}) STORED",
    # The GIN build sorts every (lexeme, row) pair; more memory than the default 64 MB halves it.
    "SET LOCAL maintenance_work_mem = '256MB'",
    "CREATE INDEX ticket_search ON tickets_ticket USING gin (search_document)",
    "ANALYZE tickets_ticket",
]
DROP = [
    "DROP INDEX IF EXISTS ticket_search",
    "ALTER TABLE tickets_ticket DROP COLUMN IF EXISTS search_document",
]


def _run(statements: list[str]):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0007_ticket_queue_order_indexes"),
    ]

    operations = [
        migrations.RunPython(_run(ADD), _run(DROP), elidable=False),
    ]
