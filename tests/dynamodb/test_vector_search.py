"""Vector indexes (CreateTable VectorIndexes, UpdateTable VectorIndexUpdates, DescribeTable)
and SearchVectors: exact nearest neighbours checked against numpy."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.testing import EmulatorServer

DIMS = 8


def vec_av(values: Any) -> dict[str, Any]:
    return {"L": [{"N": repr(float(v))} for v in values]}


def vector_index(name: str = "emb", distance: str = "COSINE", dims: int = DIMS, schema: list[tuple[str, str]] | None = None, projection: str = "ALL", **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "IndexName": name,
        "VectorAttribute": {"AttributeName": "embedding"},
        "Dimensions": dims,
        "DistanceFunction": distance,
        "Projection": {"ProjectionType": projection, **extra},
    }
    if schema:
        spec["SearchSchema"] = [{"AttributeName": a, "SearchSchemaElementType": r} for a, r in schema]
    return spec


def reference(distance: str, matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    m = matrix.astype(np.float32).astype(np.float64)
    q = query.astype(np.float32).astype(np.float64)
    if distance == "DOT_PRODUCT":
        return m @ q
    if distance == "EUCLIDEAN":
        return np.sqrt(((m - q) ** 2).sum(axis=1))
    return 1.0 - (m @ q) / (np.linalg.norm(m, axis=1) * np.linalg.norm(q))


def expected_order(distance: str, scores: np.ndarray, k: int) -> list[int]:
    order = np.argsort(-scores if distance == "DOT_PRODUCT" else scores, kind="stable")
    return [int(i) for i in order[:k]]


def code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


@pytest.mark.parametrize("distance", ["COSINE", "EUCLIDEAN", "DOT_PRODUCT"])
def test_search_matches_numpy_reference(ddb: Any, make_table: Callable[..., str], distance: str) -> None:
    rng = np.random.default_rng(7)
    name = make_table(VectorIndexes=[vector_index(distance=distance)])
    matrix = rng.normal(size=(60, DIMS))
    for i, row in enumerate(matrix):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"doc{i:03d}"}, "embedding": vec_av(row), "title": {"S": f"title {i}"}})
    query = rng.normal(size=DIMS)
    out = ddb.search_vectors(TableName=name, IndexName="emb", SearchVector=vec_av(query)["L"], TopK=7)
    scores = reference(distance, matrix, query)
    want = expected_order(distance, scores, 7)
    got = [int(r["Item"]["pk"]["S"][3:]) for r in out["SearchResults"]]
    assert got == want
    for r, i in zip(out["SearchResults"], want, strict=True):
        assert r["Score"] == pytest.approx(scores[i], rel=1e-5, abs=1e-5)
        assert r["Item"]["title"] == {"S": f"title {i}"}
        assert len(r["Item"]["embedding"]["L"]) == DIMS
    # Most similar first.
    s = [r["Score"] for r in out["SearchResults"]]
    assert s == sorted(s, reverse=distance == "DOT_PRODUCT")
    if distance == "COSINE":
        assert all(0.0 <= x <= 2.0 for x in s)


def test_topk_larger_than_index_and_identical_vector(ddb: Any, make_table: Callable[..., str]) -> None:
    name = make_table(VectorIndexes=[vector_index(distance="COSINE", dims=3)])
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "embedding": vec_av([1, 0, 0])})
    ddb.put_item(TableName=name, Item={"pk": {"S": "b"}, "embedding": vec_av([-1, 0, 0])})
    ddb.put_item(TableName=name, Item={"pk": {"S": "c"}})  # no vector: not indexed
    out = ddb.search_vectors(TableName=name, IndexName="emb", SearchVector=vec_av([2, 0, 0])["L"], TopK=10)
    assert [(r["Item"]["pk"]["S"], round(r["Score"], 6)) for r in out["SearchResults"]] == [("a", 0.0), ("b", 2.0)]
    out = ddb.search_vectors(TableName=name, IndexName="emb", SearchVector=vec_av([2, 0, 0])["L"], TopK=1)
    assert [r["Item"]["pk"]["S"] for r in out["SearchResults"]] == ["a"]


def test_hash_partition_and_inline_filters(ddb: Any, make_table: Callable[..., str]) -> None:
    rng = np.random.default_rng(3)
    name = make_table(
        extra_attrs={"tenant": "S", "lang": "S", "year": "N"},
        VectorIndexes=[vector_index(distance="EUCLIDEAN", schema=[("tenant", "HASH"), ("lang", "INLINE_FILTER"), ("year", "INLINE_FILTER")])],
    )
    rows: list[tuple[str, str, str, int, np.ndarray]] = []
    for i in range(40):
        tenant, lang, year = f"t{i % 2}", ["en", "fr"][i % 3 % 2], 2020 + i % 4
        v = rng.normal(size=DIMS)
        rows.append((f"d{i}", tenant, lang, year, v))
        ddb.put_item(TableName=name, Item={"pk": {"S": f"d{i}"}, "tenant": {"S": tenant}, "lang": {"S": lang}, "year": {"N": str(year)}, "embedding": vec_av(v)})
    # An item without the HASH attribute is not in the index.
    ddb.put_item(TableName=name, Item={"pk": {"S": "orphan"}, "embedding": vec_av(rng.normal(size=DIMS))})
    query = rng.normal(size=DIMS)

    def check(cond: str, values: dict[str, Any], pred: Callable[[tuple[str, str, str, int, np.ndarray]], bool], names: dict[str, str] | None = None) -> None:
        kwargs: dict[str, Any] = {"SearchConditionExpression": cond, "ExpressionAttributeValues": values}
        if names:
            kwargs["ExpressionAttributeNames"] = names
        out = ddb.search_vectors(TableName=name, IndexName="emb", SearchVector=vec_av(query)["L"], TopK=5, **kwargs)
        chosen = [r for r in rows if pred(r)]
        scores = reference("EUCLIDEAN", np.array([r[4] for r in chosen]), query)
        want = [chosen[i][0] for i in expected_order("EUCLIDEAN", scores, 5)]
        assert [r["Item"]["pk"]["S"] for r in out["SearchResults"]] == want

    check("tenant = :t", {":t": {"S": "t1"}}, lambda r: r[1] == "t1")
    check("tenant = :t AND lang = :l", {":t": {"S": "t0"}, ":l": {"S": "fr"}}, lambda r: r[1] == "t0" and r[2] == "fr")
    # Numbers compare as numbers: 2021.0 is 2021.
    check(":t = #t AND #y = :y", {":t": {"S": "t1"}, ":y": {"N": "2021.0"}}, lambda r: r[1] == "t1" and r[3] == 2021, {"#t": "tenant", "#y": "year"})
    out = ddb.search_vectors(
        TableName=name, IndexName="emb", SearchVector=vec_av(query)["L"], TopK=5, SearchConditionExpression="tenant = :t", ExpressionAttributeValues={":t": {"S": "nobody"}}
    )
    assert out["SearchResults"] == []

    with pytest.raises(ClientError) as exc:  # the HASH value is required
        ddb.search_vectors(TableName=name, IndexName="emb", SearchVector=vec_av(query)["L"], TopK=5)
    assert code(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:  # equality only
        ddb.search_vectors(
            TableName=name,
            IndexName="emb",
            SearchVector=vec_av(query)["L"],
            TopK=5,
            SearchConditionExpression="tenant = :t AND #y > :y",
            ExpressionAttributeNames={"#y": "year"},
            ExpressionAttributeValues={":t": {"S": "t1"}, ":y": {"N": "1"}},
        )
    assert code(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:  # not a search-schema attribute
        ddb.search_vectors(
            TableName=name,
            IndexName="emb",
            SearchVector=vec_av(query)["L"],
            TopK=5,
            SearchConditionExpression="tenant = :t AND title = :x",
            ExpressionAttributeValues={":t": {"S": "t1"}, ":x": {"S": "a"}},
        )
    assert code(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:  # an unused value
        ddb.search_vectors(
            TableName=name,
            IndexName="emb",
            SearchVector=vec_av(query)["L"],
            TopK=5,
            SearchConditionExpression="tenant = :t",
            ExpressionAttributeValues={":t": {"S": "t1"}, ":x": {"S": "a"}},
        )
    assert code(exc) == ("ValidationException", "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}")

    desc = ddb.describe_table(TableName=name)["Table"]
    (vi,) = desc["VectorIndexes"]
    assert vi["SearchSchema"] == [
        {"AttributeName": "tenant", "SearchSchemaElementType": "HASH"},
        {"AttributeName": "lang", "SearchSchemaElementType": "INLINE_FILTER"},
        {"AttributeName": "year", "SearchSchemaElementType": "INLINE_FILTER"},
    ]
    assert vi["ItemCount"] == 40 and vi["IndexStatus"] == "ACTIVE" and vi["DistanceFunction"] == "EUCLIDEAN" and vi["Dimensions"] == DIMS
    assert vi["IndexArn"] == f"{desc['TableArn']}/index/emb"
    assert {a["AttributeName"] for a in desc["AttributeDefinitions"]} == {"pk", "tenant", "lang", "year"}


def test_projection_and_projection_expression(ddb: Any, make_table: Callable[..., str]) -> None:
    name = make_table(
        extra_attrs={"cat": "S"},
        VectorIndexes=[vector_index(dims=2, projection="INCLUDE", NonKeyAttributes=["title"], schema=[("cat", "INLINE_FILTER")])],
    )
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "embedding": vec_av([1, 0]), "title": {"S": "A"}, "body": {"S": "long"}, "cat": {"S": "x"}})
    out = ddb.search_vectors(TableName=name, IndexName="emb", SearchVector=vec_av([1, 1])["L"], TopK=3)
    (item,) = [r["Item"] for r in out["SearchResults"]]
    assert set(item) == {"pk", "embedding", "title", "cat"}  # body is not projected
    out = ddb.search_vectors(
        TableName=name, IndexName="emb", SearchVector=vec_av([1, 1])["L"], TopK=3, ProjectionExpression="#t, pk", ExpressionAttributeNames={"#t": "title"}, ReturnConsumedCapacity="TOTAL"
    )
    assert out["SearchResults"][0]["Item"] == {"pk": {"S": "a"}, "title": {"S": "A"}}
    assert out["ConsumedCapacity"]["VectorSearchRequestBytes"] > 0
    out = ddb.put_item(TableName=name, Item={"pk": {"S": "b"}, "embedding": vec_av([0, 1])}, ReturnConsumedCapacity="INDEXES")
    assert out["ConsumedCapacity"]["VectorIndexes"] == {"emb": {"VectorWriteRequestBytes": 8.0}}
    out = ddb.put_item(TableName=name, Item={"pk": {"S": "c"}}, ReturnConsumedCapacity="INDEXES")  # no vector: not indexed
    assert "VectorIndexes" not in out["ConsumedCapacity"]


def test_update_delete_and_write_kinds_maintain_the_index(ddb: Any, make_table: Callable[..., str]) -> None:
    name = make_table(VectorIndexes=[vector_index(distance="DOT_PRODUCT", dims=2)])

    def top(k: int = 10) -> list[tuple[str, float]]:
        out = ddb.search_vectors(TableName=name, IndexName="emb", SearchVector=vec_av([1, 0])["L"], TopK=k)
        return [(r["Item"]["pk"]["S"], round(r["Score"], 4)) for r in out["SearchResults"]]

    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "embedding": vec_av([1, 0])})
    ddb.put_item(TableName=name, Item={"pk": {"S": "b"}, "embedding": vec_av([2, 0])})
    assert top() == [("b", 2.0), ("a", 1.0)]
    ddb.update_item(TableName=name, Key={"pk": {"S": "a"}}, UpdateExpression="SET embedding = :v", ExpressionAttributeValues={":v": vec_av([5, 0])})
    assert top() == [("a", 5.0), ("b", 2.0)]
    ddb.update_item(TableName=name, Key={"pk": {"S": "a"}}, UpdateExpression="SET note = :n", ExpressionAttributeValues={":n": {"S": "x"}})
    out = ddb.search_vectors(TableName=name, IndexName="emb", SearchVector=vec_av([1, 0])["L"], TopK=1)
    assert out["SearchResults"][0]["Item"]["note"] == {"S": "x"}
    ddb.update_item(TableName=name, Key={"pk": {"S": "b"}}, UpdateExpression="REMOVE embedding")
    assert top() == [("a", 5.0)]
    ddb.delete_item(TableName=name, Key={"pk": {"S": "a"}})
    assert top() == []
    ddb.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": {"pk": {"S": f"x{i}"}, "embedding": vec_av([i, 1])}}} for i in range(3)]})
    assert top() == [("x2", 2.0), ("x1", 1.0), ("x0", 0.0)]
    ddb.transact_write_items(
        TransactItems=[
            {"Delete": {"TableName": name, "Key": {"pk": {"S": "x2"}}}},
            {"Put": {"TableName": name, "Item": {"pk": {"S": "t"}, "embedding": vec_av([9, 9])}}},
        ]
    )
    assert top() == [("t", 9.0), ("x1", 1.0), ("x0", 0.0)]
    ddb.execute_statement(Statement=f"DELETE FROM \"{name}\" WHERE pk = 'x1'")
    assert top() == [("t", 9.0), ("x0", 0.0)]
    # A failed transaction leaves the index as it was.
    with pytest.raises(ClientError):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": {"pk": {"S": "new"}, "embedding": vec_av([100, 0])}}},
                {"ConditionCheck": {"TableName": name, "Key": {"pk": {"S": "t"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
            ]
        )
    assert top() == [("t", 9.0), ("x0", 0.0)]


def test_invalid_vectors_are_refused_on_write(ddb: Any, make_table: Callable[..., str]) -> None:
    name = make_table(extra_attrs={"tenant": "S"}, VectorIndexes=[vector_index(dims=3, schema=[("tenant", "HASH")])])
    for bad in (vec_av([1, 2]), {"L": [{"N": "1"}, {"S": "x"}, {"N": "2"}]}, {"S": "[1,2,3]"}, vec_av([1, 2, 1e39])):
        with pytest.raises(ClientError) as exc:
            ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "tenant": {"S": "t"}, "embedding": bad})
        assert code(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "tenant": {"N": "1"}, "embedding": vec_av([1, 2, 3])})
    assert code(exc)[0] == "ValidationException"
    assert "Item" not in ddb.get_item(TableName=name, Key={"pk": {"S": "a"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "tenant": {"S": "t"}, "embedding": vec_av([1, 2, 3])})


def test_update_table_create_backfills_and_delete(ddb: Any, make_table: Callable[..., str]) -> None:
    name = make_table()
    rng = np.random.default_rng(11)
    matrix = rng.normal(size=(25, 4))
    for i, row in enumerate(matrix):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"d{i:02d}"}, "embedding": vec_av(row)})
    ddb.put_item(TableName=name, Item={"pk": {"S": "wrong"}, "embedding": vec_av([1, 2])})  # other length: skipped
    out = ddb.update_table(TableName=name, VectorIndexUpdates=[{"Create": vector_index(name="later", distance="EUCLIDEAN", dims=4)}])
    (created,) = out["TableDescription"]["VectorIndexes"]
    assert created["IndexStatus"] == "CREATING" and created["Backfilling"] is False
    (vi,) = ddb.describe_table(TableName=name)["Table"]["VectorIndexes"]
    assert vi["IndexStatus"] == "ACTIVE" and vi["ItemCount"] == 25
    query = rng.normal(size=4)
    got = ddb.search_vectors(TableName=name, IndexName="later", SearchVector=vec_av(query)["L"], TopK=3)["SearchResults"]
    assert [r["Item"]["pk"]["S"] for r in got] == [f"d{i:02d}" for i in expected_order("EUCLIDEAN", reference("EUCLIDEAN", matrix, query), 3)]
    # Writes now validate against it.
    with pytest.raises(ClientError):
        ddb.put_item(TableName=name, Item={"pk": {"S": "x"}, "embedding": vec_av([1, 2])})
    out = ddb.update_table(TableName=name, VectorIndexUpdates=[{"Delete": {"IndexName": "later"}}])
    assert [v["IndexStatus"] for v in out["TableDescription"]["VectorIndexes"]] == ["DELETING"]
    assert "VectorIndexes" not in ddb.describe_table(TableName=name)["Table"]
    with pytest.raises(ClientError) as exc:
        ddb.search_vectors(TableName=name, IndexName="later", SearchVector=vec_av(query)["L"], TopK=3)
    assert code(exc)[0] == "ResourceNotFoundException"
    ddb.put_item(TableName=name, Item={"pk": {"S": "x"}, "embedding": vec_av([1, 2])})
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=name, VectorIndexUpdates=[{"Delete": {"IndexName": "later"}}])
    assert code(exc)[0] == "ResourceNotFoundException"


def test_errors(ddb: Any, aws_client: Callable[..., Any], make_table: Callable[..., str], new_name: Callable[..., str]) -> None:
    name = make_table(VectorIndexes=[vector_index(dims=3)])
    # What the SDK would refuse itself reaches the server too (other SDKs do not check).
    raw = aws_client("dynamodb", config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    sv = vec_av([1, 2, 3])["L"]
    with pytest.raises(ClientError) as exc:
        ddb.search_vectors(TableName=new_name(), IndexName="emb", SearchVector=sv, TopK=1)
    assert code(exc)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        ddb.search_vectors(TableName=name, IndexName="nope", SearchVector=sv, TopK=1)
    assert code(exc)[0] == "ResourceNotFoundException"
    for kwargs in ({"SearchVector": vec_av([1, 2])["L"], "TopK": 1}, {"SearchVector": sv, "TopK": 0}, {"SearchVector": [{"S": "a"}, {"N": "1"}, {"N": "1"}], "TopK": 1}):
        with pytest.raises(ClientError) as exc:
            raw.search_vectors(TableName=name, IndexName="emb", **kwargs)
        assert code(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        raw.search_vectors(TableName=name, IndexName="emb", SearchVector=sv)
    assert code(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:  # no search schema to filter on
        ddb.search_vectors(TableName=name, IndexName="emb", SearchVector=sv, TopK=1, SearchConditionExpression="a = :a", ExpressionAttributeValues={":a": {"S": "x"}})
    assert code(exc)[0] == "ValidationException"

    def create(**spec: Any) -> tuple[str, str]:
        attrs = [{"AttributeName": "pk", "AttributeType": "S"}, *spec.pop("attrs", [])]
        with pytest.raises(ClientError) as exc:
            raw.create_table(
                TableName=new_name(), KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST", VectorIndexes=[vector_index(**spec)]
            )
        return code(exc)

    assert create(dims=0)[0] == "ValidationException"
    assert create(dims=5000)[0] == "ValidationException"
    assert create(distance="MANHATTAN")[0] == "ValidationException"
    assert create(schema=[("tenant", "HASH")])[0] == "ValidationException"  # not in AttributeDefinitions
    assert create(schema=[("a", "HASH"), ("b", "HASH")], attrs=[{"AttributeName": "a", "AttributeType": "S"}, {"AttributeName": "b", "AttributeType": "S"}])[0] == "ValidationException"
    assert create(name="x")[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:  # the same attribute with other dimensions
        ddb.create_table(
            TableName=new_name(),
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            VectorIndexes=[vector_index(name="one", dims=3), vector_index(name="two", dims=4)],
        )
    assert code(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:  # a name already used
        ddb.update_table(TableName=name, VectorIndexUpdates=[{"Create": vector_index(dims=3)}])
    assert code(exc)[0] == "ValidationException"


def test_vector_index_survives_restart(tmp_path: Path) -> None:
    server = EmulatorServer(data_dir=tmp_path).start()
    try:
        ddb = server.client("dynamodb")
        ddb.create_table(
            TableName="docs",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            VectorIndexes=[vector_index(dims=2, distance="COSINE")],
        )
        ddb.put_item(TableName="docs", Item={"pk": {"S": "a"}, "embedding": vec_av([1, 0])})
        ddb.put_item(TableName="docs", Item={"pk": {"S": "b"}, "embedding": vec_av([0, 1])})
        ddb.search_vectors(TableName="docs", IndexName="emb", SearchVector=vec_av([1, 0])["L"], TopK=2)  # warms the cache
        server.kill()
    finally:
        server.stop()
    server = EmulatorServer(data_dir=tmp_path).start()
    try:
        ddb = server.client("dynamodb")
        assert ddb.describe_table(TableName="docs")["Table"]["VectorIndexes"][0]["ItemCount"] == 2
        out = ddb.search_vectors(TableName="docs", IndexName="emb", SearchVector=vec_av([0.1, 1])["L"], TopK=2)
        assert [r["Item"]["pk"]["S"] for r in out["SearchResults"]] == ["b", "a"]
    finally:
        server.stop()


def test_search_over_many_vectors_is_fast(ddb: Any, make_table: Callable[..., str]) -> None:
    dims, n = 128, 800
    name = make_table(VectorIndexes=[vector_index(dims=dims, distance="COSINE")])
    rng = np.random.default_rng(5)
    matrix = rng.normal(size=(n, dims)).astype(np.float32)
    for start in range(0, n, 25):
        ddb.batch_write_item(
            RequestItems={name: [{"PutRequest": {"Item": {"pk": {"S": f"d{i}"}, "embedding": vec_av(matrix[i])}}} for i in range(start, min(n, start + 25))]}
        )
    query = rng.normal(size=dims)
    ddb.search_vectors(TableName=name, IndexName="emb", SearchVector=vec_av(query)["L"], TopK=5)  # builds the matrix
    began = time.perf_counter()
    for _ in range(5):
        out = ddb.search_vectors(TableName=name, IndexName="emb", SearchVector=vec_av(query)["L"], TopK=5)
    per_search = (time.perf_counter() - began) / 5
    want = [f"d{i}" for i in expected_order("COSINE", reference("COSINE", matrix, query), 5)]
    assert [r["Item"]["pk"]["S"] for r in out["SearchResults"]] == want
    assert per_search < 0.5


def test_replicas_carry_vector_indexes(aws_client: Callable[..., Any], new_name: Callable[..., str]) -> None:
    from emulator.testing.wait import wait_for

    east, west = aws_client("dynamodb", region_name="us-east-1"), aws_client("dynamodb", region_name="eu-west-1")
    name = new_name("vgt")
    east.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        VectorIndexes=[vector_index(dims=2, distance="EUCLIDEAN")],
    )
    try:
        east.put_item(TableName=name, Item={"pk": {"S": "before"}, "embedding": vec_av([0, 0])})
        east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}])
        wait_for(lambda: east.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE", timeout=20)
        east.put_item(TableName=name, Item={"pk": {"S": "after"}, "embedding": vec_av([3, 4])})

        def search(client: Any) -> list[tuple[str, float]]:
            out = client.search_vectors(TableName=name, IndexName="emb", SearchVector=vec_av([0, 0])["L"], TopK=5)
            return [(r["Item"]["pk"]["S"], round(r["Score"], 4)) for r in out["SearchResults"]]

        assert search(west) == [("before", 0.0), ("after", 5.0)]
        west.delete_item(TableName=name, Key={"pk": {"S": "before"}})
        assert search(east) == [("after", 5.0)]
    finally:
        for client in (west, east):
            try:
                client.delete_table(TableName=name)
            except ClientError:
                pass


def test_update_table_creates_a_partitioned_index_with_new_attribute_definitions(ddb: Any, make_table: Callable[..., str]) -> None:
    name = make_table()
    for i, (tenant, v) in enumerate([("a", [1, 0]), ("a", [0, 1]), ("b", [1, 0]), (None, [1, 0])]):
        item: dict[str, Any] = {"pk": {"S": f"d{i}"}, "embedding": vec_av(v)}
        if tenant:
            item["tenant"] = {"S": tenant}
        ddb.put_item(TableName=name, Item=item)
    ddb.update_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "tenant", "AttributeType": "S"}],
        VectorIndexUpdates=[{"Create": vector_index(name="by-tenant", dims=2, distance="DOT_PRODUCT", schema=[("tenant", "HASH")], projection="KEYS_ONLY")}],
    )
    desc = ddb.describe_table(TableName=name)["Table"]
    assert {"AttributeName": "tenant", "AttributeType": "S"} in desc["AttributeDefinitions"]
    assert desc["VectorIndexes"][0]["ItemCount"] == 3  # the item without a tenant is not in it
    out = ddb.search_vectors(
        TableName=name, IndexName="by-tenant", SearchVector=vec_av([1, 0])["L"], TopK=5, SearchConditionExpression="tenant = :t", ExpressionAttributeValues={":t": {"S": "a"}}
    )
    assert [(r["Item"], r["Score"]) for r in out["SearchResults"]] == [
        ({"pk": {"S": "d0"}, "tenant": {"S": "a"}, "embedding": {"L": [{"N": "1"}, {"N": "0"}]}}, 1.0),
        ({"pk": {"S": "d1"}, "tenant": {"S": "a"}, "embedding": {"L": [{"N": "0"}, {"N": "1"}]}}, 0.0),
    ]
    # Moving an item to another partition moves its row.
    ddb.update_item(TableName=name, Key={"pk": {"S": "d0"}}, UpdateExpression="SET tenant = :b", ExpressionAttributeValues={":b": {"S": "b"}})
    out = ddb.search_vectors(
        TableName=name, IndexName="by-tenant", SearchVector=vec_av([1, 0])["L"], TopK=5, SearchConditionExpression="tenant = :t", ExpressionAttributeValues={":t": {"S": "b"}}
    )
    assert sorted(r["Item"]["pk"]["S"] for r in out["SearchResults"]) == ["d0", "d2"]


def test_create_table_answer_lists_vector_indexes(ddb: Any, new_name: Callable[..., str]) -> None:
    name = new_name()
    out = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        VectorIndexes=[vector_index(dims=16)],
    )["TableDescription"]
    try:
        (vi,) = out["VectorIndexes"]
        assert vi["IndexStatus"] == "CREATING" and vi["Dimensions"] == 16 and vi["VectorAttribute"] == {"AttributeName": "embedding"}
        assert vi["Projection"] == {"ProjectionType": "ALL"} and "SearchSchema" not in vi
        assert ddb.describe_table(TableName=name)["Table"]["VectorIndexes"][0]["IndexStatus"] == "ACTIVE"
    finally:
        ddb.delete_table(TableName=name)
