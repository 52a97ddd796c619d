"""DynamoDB Contributor Insights: UpdateContributorInsights/Describe/List, the CloudWatch managed
rules they make, and the hot keys of the data plane in GetInsightRuleReport."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.testing import EmulatorServer


@pytest.fixture(scope="module")
def cw(aws_client: Any) -> Any:
    return aws_client("cloudwatch")


def _report(cw: Any, rule: str, **kw: Any) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return dict(cw.get_insight_rule_report(RuleName=rule, StartTime=now - dt.timedelta(minutes=5), EndTime=now + dt.timedelta(minutes=2), Period=60, **kw))


def _rule(rules: list[str], kind: str) -> str:
    [name] = [r for r in rules if r.startswith(f"DynamoDBContributorInsights-{kind}-")]
    return name


def test_enable_hot_keys_disable(ddb: Any, cw: Any, make_table: Any) -> None:
    name = make_table(range=("sk", "S"))
    assert ddb.describe_contributor_insights(TableName=name)["ContributorInsightsStatus"] == "DISABLED"
    out = ddb.update_contributor_insights(TableName=name, ContributorInsightsAction="ENABLE")
    assert (out["TableName"], out["ContributorInsightsStatus"], out["ContributorInsightsMode"]) == (name, "ENABLING", "ACCESSED_AND_THROTTLED_KEYS")
    desc = ddb.describe_contributor_insights(TableName=name)
    assert desc["ContributorInsightsStatus"] == "ENABLED" and "LastUpdateDateTime" in desc
    rules = desc["ContributorInsightsRuleList"]
    assert sorted(r.split("-")[1] for r in rules) == ["PKC", "PKT", "SKC", "SKT"]
    assert all(r.startswith(f"DynamoDBContributorInsights-{r.split('-')[1]}-{name}-") for r in rules)
    # the managed rules are CloudWatch's
    described = {r["Name"]: r for r in cw.describe_insight_rules()["InsightRules"]}
    assert all(described[r]["ManagedRule"] is True and described[r]["State"] == "ENABLED" for r in rules)
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    managed = cw.list_managed_insight_rules(ResourceARN=arn)["ManagedRules"]
    assert {m["TemplateName"]: m["RuleState"]["RuleName"] for m in managed} == {f"DynamoDBContributorInsights-{r.split('-')[1]}": r for r in rules}

    # traffic: "hot" is read and written most
    for i in range(5):
        ddb.put_item(TableName=name, Item={"pk": {"S": "hot"}, "sk": {"S": f"s{i}"}})
        ddb.get_item(TableName=name, Key={"pk": {"S": "hot"}, "sk": {"S": "s0"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "cold"}, "sk": {"S": "x"}})
    ddb.query(TableName=name, KeyConditionExpression="#p = :v", ExpressionAttributeNames={"#p": "pk"}, ExpressionAttributeValues={":v": {"S": "warm"}})
    ddb.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": {"pk": {"S": "batch"}, "sk": {"S": str(i)}}}} for i in range(2)]})

    pkc = _report(cw, _rule(rules, "PKC"), Metrics=["UniqueContributors", "SampleCount"])
    keys = [c["Keys"] for c in pkc["Contributors"]]
    assert keys[0] == ["hot"], pkc
    assert {"cold", "warm", "batch"} <= {k[0] for k in keys}
    hot = pkc["Contributors"][0]
    assert hot["ApproximateAggregateValue"] == 7.5  # 5 writes of 1 unit + 5 eventually consistent reads of 0.5
    assert pkc["AggregationStatistic"] == "Sum"
    assert pkc["MetricDatapoints"][-1]["UniqueContributors"] == 4.0
    skc = _report(cw, _rule(rules, "SKC"))
    assert skc["Contributors"][0]["Keys"] == ["hot", "s0"]  # written once and read five times
    assert all(len(c["Keys"]) == 2 for c in skc["Contributors"])
    assert _report(cw, _rule(rules, "PKT"))["Contributors"] == []  # nothing throttled

    listed = ddb.list_contributor_insights(TableName=name)["ContributorInsightsSummaries"]
    assert listed == [{"TableName": name, "ContributorInsightsStatus": "ENABLED", "ContributorInsightsMode": "ACCESSED_AND_THROTTLED_KEYS"}]

    out = ddb.update_contributor_insights(TableName=name, ContributorInsightsAction="DISABLE")
    assert out["ContributorInsightsStatus"] == "DISABLING"
    desc = ddb.describe_contributor_insights(TableName=name)
    assert desc["ContributorInsightsStatus"] == "DISABLED" and "ContributorInsightsRuleList" not in desc
    assert not set(rules) & {r["Name"] for r in cw.describe_insight_rules()["InsightRules"]}
    assert all("RuleState" not in m for m in cw.list_managed_insight_rules(ResourceARN=arn)["ManagedRules"])


def test_throttled_keys_mode_and_index(ddb: Any, cw: Any, make_table: Any, aws_client: Any) -> None:
    once = aws_client("dynamodb", config=Config(retries={"total_max_attempts": 1}))  # each refusal seen, none retried
    name = make_table(
        OnDemandThroughput={"MaxWriteRequestUnits": 1}, extra_attrs={"g": "S"},
        GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}],
    )
    out = ddb.update_contributor_insights(TableName=name, ContributorInsightsAction="ENABLE", ContributorInsightsMode="THROTTLED_KEYS")
    assert out["ContributorInsightsMode"] == "THROTTLED_KEYS"
    rules = ddb.describe_contributor_insights(TableName=name)["ContributorInsightsRuleList"]
    assert [r.split("-")[1] for r in rules] == ["PKT"]  # no sort key, throttled keys only
    throttled = 0
    for i in range(8):
        try:
            once.put_item(TableName=name, Item={"pk": {"S": "busy"}, "n": {"N": str(i)}})
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
            throttled += 1
    assert throttled, "the table's maximum throughput was never exceeded"
    report = _report(cw, rules[0])
    assert report["AggregationStatistic"] == "Count"
    assert [(c["Keys"], c["ApproximateAggregateValue"]) for c in report["Contributors"]] == [(["busy"], float(throttled))]

    # a GSI has insights of its own
    idx = ddb.update_contributor_insights(TableName=name, IndexName="by-g", ContributorInsightsAction="ENABLE")
    assert idx["IndexName"] == "by-g"
    idx_rules = ddb.describe_contributor_insights(TableName=name, IndexName="by-g")["ContributorInsightsRuleList"]
    assert sorted(r.split("-")[1] for r in idx_rules) == ["PKC", "PKT"]
    ddb.query(TableName=name, IndexName="by-g", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "green"}})
    [pkc] = [r for r in idx_rules if "-PKC-" in r]
    assert [c["Keys"] for c in _report(cw, pkc)["Contributors"]] == [["green"]]
    summaries = ddb.list_contributor_insights(TableName=name)["ContributorInsightsSummaries"]
    assert [(s["TableName"], s.get("IndexName")) for s in summaries] == [(name, None), (name, "by-g")]
    # paging
    page = ddb.list_contributor_insights(TableName=name, MaxResults=1)
    assert len(page["ContributorInsightsSummaries"]) == 1 and page["NextToken"]
    rest = ddb.list_contributor_insights(TableName=name, MaxResults=1, NextToken=page["NextToken"])
    assert rest["ContributorInsightsSummaries"][0]["IndexName"] == "by-g" and "NextToken" not in rest


def test_errors(ddb: Any, make_table: Any) -> None:
    with pytest.raises(ClientError) as err:
        ddb.update_contributor_insights(TableName="no-such-table", ContributorInsightsAction="ENABLE")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        ddb.describe_contributor_insights(TableName="no-such-table")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    name = make_table()
    with pytest.raises(ClientError) as err:
        ddb.describe_contributor_insights(TableName=name, IndexName="nope")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        ddb.update_contributor_insights(TableName=name, ContributorInsightsAction="TOGGLE")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as err:
        ddb.list_contributor_insights(NextToken="garbage!")
    assert err.value.response["Error"]["Code"] == "ValidationException"


def test_table_without_insights_is_not_counted(ddb: Any, cw: Any, make_table: Any) -> None:
    on, off = make_table(), make_table()
    ddb.update_contributor_insights(TableName=on, ContributorInsightsAction="ENABLE")
    ddb.put_item(TableName=off, Item={"pk": {"S": "elsewhere"}})
    ddb.put_item(TableName=on, Item={"pk": {"S": "here"}})
    [pkc] = [r for r in ddb.describe_contributor_insights(TableName=on)["ContributorInsightsRuleList"] if "-PKC-" in r]
    assert [c["Keys"] for c in _report(cw, pkc)["Contributors"]] == [["here"]]
    # a table deleted and made again under the name starts without insights
    ddb.delete_table(TableName=on)
    ddb.create_table(TableName=on, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    assert ddb.describe_contributor_insights(TableName=on)["ContributorInsightsStatus"] == "DISABLED"


def test_insights_survive_restart(tmp_path: Path) -> None:
    server = EmulatorServer(data_dir=tmp_path / "data")
    server.start()
    try:
        ddb = server.client("dynamodb")
        ddb.create_table(TableName="keep", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        ddb.update_contributor_insights(TableName="keep", ContributorInsightsAction="ENABLE")
        ddb.put_item(TableName="keep", Item={"pk": {"S": "a"}})
        rules = ddb.describe_contributor_insights(TableName="keep")["ContributorInsightsRuleList"]
    finally:
        server.stop()
    server = EmulatorServer(data_dir=tmp_path / "data")
    server.start()
    try:
        ddb, cw = server.client("dynamodb"), server.client("cloudwatch")
        desc = ddb.describe_contributor_insights(TableName="keep")
        assert desc["ContributorInsightsStatus"] == "ENABLED" and desc["ContributorInsightsRuleList"] == rules
        ddb.put_item(TableName="keep", Item={"pk": {"S": "b"}})
        ddb.put_item(TableName="keep", Item={"pk": {"S": "b"}})
        [pkc] = [r for r in rules if "-PKC-" in r]
        assert [(c["Keys"], c["ApproximateAggregateValue"]) for c in _report(cw, pkc)["Contributors"]] == [(["b"], 2.0), (["a"], 1.0)]
    finally:
        server.cleanup()
