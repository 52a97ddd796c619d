// A representative DynamoDB session through the AWS SDK for JavaScript v3.
// Usage: node dynamodb_smoke.mjs <endpoint> <table>; prints "OK" on success.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.cwd(), "package.json"));
const {
  DynamoDBClient, CreateTableCommand, DescribeTableCommand, DeleteTableCommand,
  TransactWriteItemsCommand, waitUntilTableExists,
} = require("@aws-sdk/client-dynamodb");
const {
  DynamoDBDocumentClient, PutCommand, GetCommand, UpdateCommand, QueryCommand, BatchWriteCommand, DeleteCommand,
} = require("@aws-sdk/lib-dynamodb");

const [endpoint, table] = process.argv.slice(2);
const client = new DynamoDBClient({ endpoint, region: "us-east-1" });
const doc = DynamoDBDocumentClient.from(client);

await client.send(new CreateTableCommand({
  TableName: table,
  KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
  AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "N" }],
  BillingMode: "PAY_PER_REQUEST",
}));
await waitUntilTableExists({ client, maxWaitTime: 10, minDelay: 1 }, { TableName: table });
const desc = await client.send(new DescribeTableCommand({ TableName: table }));
assert.equal(desc.Table.TableStatus, "ACTIVE");

await doc.send(new PutCommand({ TableName: table, Item: { pk: "u1", sk: 1, name: "Ann", tags: new Set(["a", "b"]), doc: { n: [1, 2] } } }));
const got = await doc.send(new GetCommand({ TableName: table, Key: { pk: "u1", sk: 1 } }));
assert.equal(got.Item.name, "Ann");
assert.deepEqual([...got.Item.tags].sort(), ["a", "b"]);
assert.deepEqual(got.Item.doc, { n: [1, 2] });

const upd = await doc.send(new UpdateCommand({
  TableName: table, Key: { pk: "u1", sk: 1 },
  UpdateExpression: "SET visits = if_not_exists(visits, :z) + :one", ExpressionAttributeValues: { ":z": 0, ":one": 1 },
  ReturnValues: "ALL_NEW",
}));
assert.equal(upd.Attributes.visits, 1);

await doc.send(new BatchWriteCommand({ RequestItems: { [table]: [2, 3, 4].map((sk) => ({ PutRequest: { Item: { pk: "u1", sk } } })) } }));
const q = await doc.send(new QueryCommand({
  TableName: table, KeyConditionExpression: "pk = :p AND sk >= :s", ExpressionAttributeValues: { ":p": "u1", ":s": 2 }, ScanIndexForward: false,
}));
assert.deepEqual(q.Items.map((i) => i.sk), [4, 3, 2]);

try {
  await doc.send(new PutCommand({ TableName: table, Item: { pk: "u1", sk: 1 }, ConditionExpression: "attribute_not_exists(pk)" }));
  assert.fail("expected a ConditionalCheckFailedException");
} catch (err) {
  assert.equal(err.name, "ConditionalCheckFailedException");
}
try {
  await client.send(new TransactWriteItemsCommand({ TransactItems: [
    { Put: { TableName: table, Item: { pk: { S: "u2" }, sk: { N: "1" } } } },
    { ConditionCheck: { TableName: table, Key: { pk: { S: "u1" }, sk: { N: "2" } }, ConditionExpression: "attribute_not_exists(pk)" } },
  ] }));
  assert.fail("expected a TransactionCanceledException");
} catch (err) {
  assert.equal(err.name, "TransactionCanceledException");
  assert.deepEqual(err.CancellationReasons.map((r) => r.Code), ["None", "ConditionalCheckFailed"]);
}
const none = await doc.send(new GetCommand({ TableName: table, Key: { pk: "u2", sk: 1 } }));
assert.equal(none.Item, undefined);

await doc.send(new DeleteCommand({ TableName: table, Key: { pk: "u1", sk: 1 } }));
await client.send(new DeleteTableCommand({ TableName: table }));
console.log("OK");
