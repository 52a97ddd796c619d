// The AWS SDK for JavaScript v3 over HTTP/2 (h2c, prior knowledge): the request handler the
// SDK's Bedrock Runtime and Kinesis clients use, NodeHttp2Handler, which speaks only HTTP/2.
// Run by tests/clients/test_clients.py:
//   EMULATOR_ENDPOINT=... AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... node h2.mjs [dynamodb]
// Prints one JSON object with what each client got back; exits non-zero on any error.
import { NodeHttp2Handler } from "@smithy/node-http-handler";
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import {
  DynamoDBClient, CreateTableCommand, DeleteTableCommand, PutItemCommand, GetItemCommand,
} from "@aws-sdk/client-dynamodb";

const config = () => ({
  endpoint: process.env.EMULATOR_ENDPOINT,
  region: process.env.AWS_REGION || "us-east-1",
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY },
  maxAttempts: 1,
  requestHandler: new NodeHttp2Handler({ requestTimeout: 30000 }),
});
const out = {};

const sts = new STSClient(config());
const ident = await sts.send(new GetCallerIdentityCommand({}));
out.sts = { Account: ident.Account, RequestId: ident.$metadata.requestId, status: ident.$metadata.httpStatusCode };
sts.destroy();

if (process.argv.includes("dynamodb")) {
  const ddb = new DynamoDBClient(config());
  const TableName = `js-h2-${Date.now()}`;
  await ddb.send(new CreateTableCommand({
    TableName,
    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
    BillingMode: "PAY_PER_REQUEST",
  }));
  // Concurrent requests: streams of the one HTTP/2 session.
  await Promise.all([...Array(10).keys()].map((i) =>
    ddb.send(new PutItemCommand({ TableName, Item: { pk: { S: `k${i}` }, n: { N: String(i) } } }))));
  const got = await Promise.all([...Array(10).keys()].map((i) =>
    ddb.send(new GetItemCommand({ TableName, Key: { pk: { S: `k${i}` } }, ConsistentRead: true }))));
  let missing = null;
  try {
    await ddb.send(new GetItemCommand({ TableName: `${TableName}-missing`, Key: { pk: { S: "x" } } }));
  } catch (err) {
    missing = { name: err.name, status: err.$metadata.httpStatusCode };
  }
  out.dynamodb = { items: got.map((r) => Number(r.Item.n.N)), missing };
  await ddb.send(new DeleteTableCommand({ TableName }));
  ddb.destroy();
}

console.log(JSON.stringify(out));
