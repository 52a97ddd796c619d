"""A representative boto3 subset of the DynamoDB wire tests, run on PostgreSQL.

The same test functions as tests/dynamodb/ (imported, not copied); this package's
conftest points their ``ddb``/``aws_resource`` fixtures at a PostgreSQL-backed server.
The whole DynamoDB suite runs on PostgreSQL with
``EMULATOR_TEST_STORAGE=postgresql://postgres@127.0.0.1/postgres pytest tests/dynamodb``.
"""

from __future__ import annotations

from ..test_batch_transactions import *
from ..test_indexes import *
from ..test_items import *
from ..test_query_scan import *
from ..test_tables import *
