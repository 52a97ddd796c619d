"""Restores keep vector indexes: RestoreTableFromBackup and RestoreTableToPointInTime bring
back the source's vector indexes, filled from the restored items (searchable at once), honour
VectorIndexOverride, and DescribeBackup lists them (SourceTableFeatureDetails.VectorIndexes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError

DIMS = 6


def vec_av(values: Any) -> dict[str, Any]:
    return {"L": [{"N": repr(float(v))} for v in values]}


def spec(name: str, distance: str, projection: str = "ALL", schema: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "IndexName": name,
        "VectorAttribute": {"AttributeName": "embedding"},
        "Dimensions": DIMS,
        "DistanceFunction": distance,
        "Projection": {"ProjectionType": projection},
    }
    if schema:
        out["SearchSchema"] = [{"AttributeName": a, "SearchSchemaElementType": r} for a, r in schema]
    return out


EMB = spec("emb", "EUCLIDEAN", schema=[("tenant", "HASH"), ("lang", "INLINE_FILTER")])
DOT = spec("emb-dot", "DOT_PRODUCT", projection="KEYS_ONLY")


def euclidean_top(rows: dict[str, np.ndarray], query: np.ndarray, k: int) -> list[str]:
    names = sorted(rows)
    m = np.array([rows[n] for n in names]).astype(np.float32).astype(np.float64)
    scores = np.sqrt(((m - query.astype(np.float32).astype(np.float64)) ** 2).sum(axis=1))
    return [names[int(i)] for i in np.argsort(scores, kind="stable")[:k]]


def dot_top(rows: dict[str, np.ndarray], query: np.ndarray, k: int) -> list[str]:
    names = sorted(rows)
    m = np.array([rows[n] for n in names]).astype(np.float32).astype(np.float64)
    scores = m @ query.astype(np.float32).astype(np.float64)
    return [names[int(i)] for i in np.argsort(-scores, kind="stable")[:k]]


@pytest.fixture
def restored(ddb: Any) -> Iterator[list[str]]:
    """Names of restored tables, deleted after the test."""
    names: list[str] = []
    yield names
    for name in names:
        try:
            ddb.delete_table(TableName=name)
        except ClientError:
            pass


def vector_table(ddb: Any, make_table: Callable[..., str]) -> str:
    """A table whose two vector indexes were added by UpdateTable after an item with a vector
    of another length was written (a backfill skips it: so must a restore)."""
    name = make_table()
    ddb.put_item(TableName=name, Item={"pk": {"S": "odd"}, "tenant": {"S": "t0"}, "embedding": vec_av([1, 2, 3])})
    ddb.update_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "tenant", "AttributeType": "S"}, {"AttributeName": "lang", "AttributeType": "S"}],
        VectorIndexUpdates=[{"Create": EMB}],
    )
    ddb.update_table(TableName=name, VectorIndexUpdates=[{"Create": DOT}])
    return name


def put_rows(ddb: Any, name: str, rng: np.random.Generator, count: int, start: int = 0) -> dict[str, tuple[str, str, np.ndarray]]:
    rows: dict[str, tuple[str, str, np.ndarray]] = {}
    for i in range(start, start + count):
        v = rng.normal(size=DIMS)
        key, tenant, lang = f"d{i:03d}", f"t{i % 2}", ["en", "fr"][i % 3 % 2]
        ddb.put_item(TableName=name, Item={"pk": {"S": key}, "tenant": {"S": tenant}, "lang": {"S": lang}, "embedding": vec_av(v), "title": {"S": f"title {i}"}})
        rows[key] = (tenant, lang, v)
    return rows


def check_searches(ddb: Any, name: str, rows: dict[str, tuple[str, str, np.ndarray]], rng: np.random.Generator, indexes: tuple[str, ...] = ("emb", "emb-dot")) -> None:
    query = rng.normal(size=DIMS)
    if "emb" in indexes:
        got = ddb.search_vectors(
            TableName=name, IndexName="emb", SearchVector=vec_av(query)["L"], TopK=5,
            SearchConditionExpression="tenant = :t AND lang = :l", ExpressionAttributeValues={":t": {"S": "t1"}, ":l": {"S": "fr"}},
        )["SearchResults"]
        chosen = {k: v for k, (t, lang, v) in rows.items() if t == "t1" and lang == "fr"}
        assert [r["Item"]["pk"]["S"] for r in got] == euclidean_top(chosen, query, 5)
        assert all(r["Item"]["title"]["S"].startswith("title ") for r in got)  # ALL projection
    if "emb-dot" in indexes:
        got = ddb.search_vectors(TableName=name, IndexName="emb-dot", SearchVector=vec_av(query)["L"], TopK=4)["SearchResults"]
        assert [r["Item"]["pk"]["S"] for r in got] == dot_top({k: v for k, (_t, _l, v) in rows.items()}, query, 4)
        assert all(set(r["Item"]) == {"pk", "embedding"} for r in got)  # KEYS_ONLY: keys and the vector


def vector_indexes(ddb: Any, name: str) -> dict[str, dict[str, Any]]:
    return {v["IndexName"]: v for v in ddb.describe_table(TableName=name)["Table"].get("VectorIndexes", [])}


def test_backup_restore_keeps_vector_indexes(ddb: Any, make_table: Callable[..., str], new_name: Callable[..., str], restored: list[str]) -> None:
    rng = np.random.default_rng(5)
    name = vector_table(ddb, make_table)
    rows = put_rows(ddb, name, rng, 36)
    arn = ddb.create_backup(TableName=name, BackupName="vec")["BackupDetails"]["BackupArn"]
    # After the backup: neither in the restored items nor in its indexes.
    put_rows(ddb, name, rng, 5, start=100)
    ddb.delete_item(TableName=name, Key={"pk": {"S": "d000"}})

    features = ddb.describe_backup(BackupArn=arn)["BackupDescription"]["SourceTableFeatureDetails"]
    assert sorted(features["VectorIndexes"], key=lambda v: v["IndexName"]) == [EMB, DOT]

    target = new_name("vec-restored")
    restored.append(target)
    out = ddb.restore_table_from_backup(TargetTableName=target, BackupArn=arn)["TableDescription"]
    assert sorted(v["IndexName"] for v in out["VectorIndexes"]) == ["emb", "emb-dot"]
    ddb.get_waiter("table_exists").wait(TableName=target, WaiterConfig={"Delay": 1})
    got = vector_indexes(ddb, target)
    assert got["emb"]["SearchSchema"] == EMB["SearchSchema"] and got["emb"]["DistanceFunction"] == "EUCLIDEAN"
    assert got["emb-dot"]["Projection"] == {"ProjectionType": "KEYS_ONLY"} and got["emb-dot"]["Dimensions"] == DIMS
    # Every restored item with a vector of the right length; "odd" (3 numbers) is restored as an item, not indexed.
    assert got["emb"]["ItemCount"] == 36 and got["emb-dot"]["ItemCount"] == 36
    assert all(v["IndexStatus"] == "ACTIVE" for v in got.values())
    assert ddb.get_item(TableName=target, Key={"pk": {"S": "odd"}})["Item"]["embedding"] == {"L": [{"N": "1"}, {"N": "2"}, {"N": "3"}]}
    assert ddb.scan(TableName=target, Select="COUNT")["Count"] == 37
    check_searches(ddb, target, rows, rng)
    # The restored indexes are maintained by later writes, and validate them.
    ddb.delete_item(TableName=target, Key={"pk": {"S": "d001"}})
    rows.pop("d001")
    rows.update(put_rows(ddb, target, rng, 4, start=200))
    check_searches(ddb, target, rows, rng)
    with pytest.raises(ClientError) as err:
        ddb.put_item(TableName=target, Item={"pk": {"S": "bad"}, "embedding": vec_av([1, 2])})
    assert err.value.response["Error"]["Code"] == "ValidationException"


def test_vector_index_override(ddb: Any, make_table: Callable[..., str], new_name: Callable[..., str], restored: list[str]) -> None:
    rng = np.random.default_rng(9)
    name = vector_table(ddb, make_table)
    rows = put_rows(ddb, name, rng, 20)
    arn = ddb.create_backup(TableName=name, BackupName="vec-override")["BackupDetails"]["BackupArn"]

    # Only the listed index is restored (the search schema's attributes go with the other).
    only_dot = new_name("vec-only")
    restored.append(only_dot)
    ddb.restore_table_from_backup(TargetTableName=only_dot, BackupArn=arn, VectorIndexOverride=[DOT])
    assert list(vector_indexes(ddb, only_dot)) == ["emb-dot"]
    assert vector_indexes(ddb, only_dot)["emb-dot"]["ItemCount"] == 20
    assert {a["AttributeName"] for a in ddb.describe_table(TableName=only_dot)["Table"]["AttributeDefinitions"]} == {"pk"}
    check_searches(ddb, only_dot, rows, rng, indexes=("emb-dot",))
    with pytest.raises(ClientError) as err:
        ddb.search_vectors(TableName=only_dot, IndexName="emb", SearchVector=vec_av(rng.normal(size=DIMS))["L"], TopK=1)
    assert err.value.response["Error"]["Code"] in ("ResourceNotFoundException", "ValidationException")

    # An empty list excludes them all.
    none = new_name("vec-none")
    restored.append(none)
    ddb.restore_table_from_backup(TargetTableName=none, BackupArn=arn, VectorIndexOverride=[])
    assert "VectorIndexes" not in ddb.describe_table(TableName=none)["Table"]
    assert ddb.scan(TableName=none, Select="COUNT")["Count"] == 21
    # Without an index, a vector of any length is just a list.
    ddb.put_item(TableName=none, Item={"pk": {"S": "short"}, "embedding": vec_av([1])})

    # The indexes given must be the source's, unchanged; nothing is created otherwise.
    bad = new_name("vec-bad")
    for override in ([spec("nope", "COSINE")], [{**DOT, "Dimensions": DIMS + 1}], [{**EMB, "DistanceFunction": "COSINE"}], [DOT, DOT]):
        with pytest.raises(ClientError) as err:
            ddb.restore_table_from_backup(TargetTableName=bad, BackupArn=arn, VectorIndexOverride=override)
        assert err.value.response["Error"]["Code"] == "ValidationException", override
        with pytest.raises(ClientError) as err:
            ddb.describe_table(TableName=bad)
        assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_pitr_restore_keeps_vector_indexes(ddb: Any, make_table: Callable[..., str], new_name: Callable[..., str], restored: list[str]) -> None:
    rng = np.random.default_rng(13)
    name = make_table(extra_attrs={"tenant": "S", "lang": "S"}, VectorIndexes=[EMB, DOT])
    ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    rows = put_rows(ddb, name, rng, 30)
    for key in ("d003", "d010"):
        ddb.delete_item(TableName=name, Key={"pk": {"S": key}})
        rows.pop(key)
    # An overwrite moves the item to the other tenant's partition of "emb".
    v = rng.normal(size=DIMS)
    ddb.put_item(TableName=name, Item={"pk": {"S": "d004"}, "tenant": {"S": "t1"}, "lang": {"S": "fr"}, "embedding": vec_av(v), "title": {"S": "title 4"}})
    rows["d004"] = ("t1", "fr", v)

    target = new_name("vec-pitr")
    restored.append(target)
    ddb.restore_table_to_point_in_time(SourceTableName=name, TargetTableName=target, UseLatestRestorableTime=True)
    got = vector_indexes(ddb, target)
    assert sorted(got) == ["emb", "emb-dot"]
    assert got["emb"]["ItemCount"] == 28 and got["emb-dot"]["ItemCount"] == 28
    check_searches(ddb, target, rows, rng)

    only_emb = new_name("vec-pitr-emb")
    restored.append(only_emb)
    ddb.restore_table_to_point_in_time(SourceTableName=name, TargetTableName=only_emb, UseLatestRestorableTime=True, VectorIndexOverride=[EMB])
    assert list(vector_indexes(ddb, only_emb)) == ["emb"]
    check_searches(ddb, only_emb, rows, rng, indexes=("emb",))
    with pytest.raises(ClientError) as err:
        ddb.restore_table_to_point_in_time(SourceTableName=name, TargetTableName=new_name("vec-pitr-bad"), UseLatestRestorableTime=True, VectorIndexOverride=[spec("other", "COSINE")])
    assert err.value.response["Error"]["Code"] == "ValidationException"
