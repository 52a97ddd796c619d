// AWS SDK for JavaScript v3 against the emulator. Run by tests/clients/test_clients.py:
//   EMULATOR_ENDPOINT=... AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... node smoke.mjs [dynamodb]
// Prints one JSON object with what each client got back; exits non-zero on any error.
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { DynamoDBClient, CreateTableCommand, DeleteTableCommand, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, GetCommand } from "@aws-sdk/lib-dynamodb";

const config = {
  endpoint: process.env.EMULATOR_ENDPOINT,
  region: process.env.AWS_REGION || "us-east-1",
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY },
  maxAttempts: 1,
};
const out = {};

const sts = new STSClient(config);
const ident = await sts.send(new GetCallerIdentityCommand({}));
out.sts = { Account: ident.Account, Arn: ident.Arn, RequestId: ident.$metadata.requestId };

if (process.argv.includes("dynamodb")) {
  const ddb = new DynamoDBClient(config);
  const doc = DynamoDBDocumentClient.from(ddb);
  const TableName = `js-smoke-${Date.now()}`;
  await ddb.send(new CreateTableCommand({
    TableName,
    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
    BillingMode: "PAY_PER_REQUEST",
  }));
  await waitUntilTableExists({ client: ddb, maxWaitTime: 30, minDelay: 1 }, { TableName });
  await doc.send(new PutCommand({ TableName, Item: { pk: "k1", n: 42, tags: new Set(["a", "b"]), nested: { ok: true } } }));
  const got = await doc.send(new GetCommand({ TableName, Key: { pk: "k1" }, ConsistentRead: true }));
  out.dynamodb = { Item: { ...got.Item, tags: [...got.Item.tags].sort() } };
  await ddb.send(new DeleteTableCommand({ TableName }));
}

console.log(JSON.stringify(out));
