from __future__ import annotations

from typing import Any


def test_put_get_through_the_wire(ddb: Any, table: str) -> None:
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "01.50"}, "b": {"B": b"\x00\x01"}})
    item = ddb.get_item(TableName=table, Key={"pk": {"S": "a"}, "sk": {"S": "1"}})["Item"]
    assert item == {"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1.5"}, "b": {"B": b"\x00\x01"}}
