// The AWS SDK for JavaScript v3 beyond the smoke test: the paths its users hit first, each
// asserted here. Run by tests/clients/test_clients.py:
//   EMULATOR_ENDPOINT=... AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... node sdk_paths.mjs [dynamodb] [cloudwatch]
// S3: default CRC32 checksums (an aws-chunked body with a trailer for a stream), checksums
// validated on GetObject, composite checksums of multipart uploads, GetObjectAttributes (the SDK
// joins its list header with ", "), DeleteObjects in quiet mode, paginators and waiters.
// DynamoDB through lib-dynamodb: NumberValue, removeUndefinedValues, sets, paginateQuery/Scan.
// CloudWatch over smithy-rpc-v2-cbor: timestamps, blobs, waiters, modeled errors.
// Prints one JSON object of what it checked; exits non-zero on the first failure.
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import {
  S3Client, CreateBucketCommand, DeleteBucketCommand, PutObjectCommand, GetObjectCommand, HeadObjectCommand,
  GetObjectAttributesCommand, DeleteObjectsCommand, ListObjectsV2Command, CreateMultipartUploadCommand, UploadPartCommand,
  CompleteMultipartUploadCommand, paginateListObjectsV2, waitUntilBucketExists, waitUntilObjectExists, waitUntilObjectNotExists,
} from "@aws-sdk/client-s3";

const config = {
  endpoint: process.env.EMULATOR_ENDPOINT,
  region: process.env.AWS_REGION || "us-east-1",
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY },
  maxAttempts: 1,
};
const stamp = `${Date.now()}-${process.pid}`;
const out = {};

async function rejects(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail("expected an error");
}

// --- S3 ---------------------------------------------------------------------------------
{
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const Bucket = `js-paths-${stamp}`;
  await s3.send(new CreateBucketCommand({ Bucket }));
  await waitUntilBucketExists({ client: s3, maxWaitTime: 10, minDelay: 1 }, { Bucket });

  // The SDK computes a CRC32 of every body by default; S3 answers with the same value.
  const put = await s3.send(new PutObjectCommand({ Bucket, Key: "hello.txt", Body: "hello world", ContentType: "text/plain", Metadata: { Owner: "js" } }));
  assert.equal(put.ChecksumCRC32, "DUoRhQ==");
  // A stream of known length goes as aws-chunked with the checksum in a trailer.
  const streamed = await s3.send(new PutObjectCommand({ Bucket, Key: "stream.bin", Body: Readable.from([Buffer.from("abc"), Buffer.from("def")]), ContentLength: 6 }));
  assert.equal(streamed.ChecksumCRC32, "S4457w==");
  const got = await s3.send(new GetObjectCommand({ Bucket, Key: "stream.bin", ChecksumMode: "ENABLED" }));
  assert.equal(await got.Body.transformToString(), "abcdef");
  assert.equal(got.ChecksumCRC32, "S4457w==");
  assert.equal(got.ChecksumType, "FULL_OBJECT");
  const sha = await s3.send(new PutObjectCommand({ Bucket, Key: "sha.txt", Body: "sha body", ChecksumAlgorithm: "SHA256" }));
  assert.ok(sha.ChecksumSHA256);
  const bad = await rejects(s3.send(new PutObjectCommand({ Bucket, Key: "bad.txt", Body: "x", ChecksumCRC32: "AAAAAA==" })));
  assert.equal(bad.name, "BadDigest");

  const head = await s3.send(new HeadObjectCommand({ Bucket, Key: "hello.txt" }));
  assert.equal(head.ContentLength, 11);
  assert.deepEqual(head.Metadata, { owner: "js" });
  const attrs = await s3.send(new GetObjectAttributesCommand({ Bucket, Key: "hello.txt", ObjectAttributes: ["ETag", "Checksum", "ObjectSize"] }));
  assert.equal(attrs.ObjectSize, 11);
  assert.deepEqual(attrs.Checksum, { ChecksumCRC32: "DUoRhQ==", ChecksumType: "FULL_OBJECT" });
  assert.equal(attrs.ETag, put.ETag.replaceAll('"', ""));
  assert.equal((await rejects(s3.send(new HeadObjectCommand({ Bucket, Key: "missing" })))).name, "NotFound");
  const missing = await rejects(s3.send(new GetObjectCommand({ Bucket, Key: "missing" })));
  assert.equal(missing.name, "NoSuchKey");
  assert.equal(missing.$metadata.httpStatusCode, 404);

  // A multipart upload with CRC32 parts: the object's checksum is COMPOSITE, "<crc of crcs>-N".
  const Key = "multipart.bin";
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ChecksumAlgorithm: "CRC32" }));
  const parts = [];
  for (const [PartNumber, Body] of [[1, Buffer.alloc(5 * 1024 * 1024, 97)], [2, Buffer.from("tail")]]) {
    const part = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body, ChecksumAlgorithm: "CRC32" }));
    parts.push({ PartNumber, ETag: part.ETag, ChecksumCRC32: part.ChecksumCRC32 });
  }
  const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
  assert.match(done.ETag, /-2"$/);
  assert.deepEqual([done.ChecksumCRC32, done.ChecksumType], ["4fn9rQ==-2", "COMPOSITE"]);
  const whole = await s3.send(new GetObjectCommand({ Bucket, Key, ChecksumMode: "ENABLED" }));
  assert.equal((await whole.Body.transformToByteArray()).length, 5 * 1024 * 1024 + 4);
  assert.equal(whole.ChecksumCRC32, done.ChecksumCRC32);
  assert.equal(whole.ChecksumType, "COMPOSITE");

  for (let i = 0; i < 7; i++) await s3.send(new PutObjectCommand({ Bucket, Key: `page/${i}`, Body: `${i}` }));
  const pages = [];
  for await (const page of paginateListObjectsV2({ client: s3, pageSize: 3 }, { Bucket, Prefix: "page/" })) pages.push(page.Contents.map((o) => o.Key));
  assert.deepEqual(pages.map((p) => p.length), [3, 3, 1]);
  const folders = await s3.send(new ListObjectsV2Command({ Bucket, Delimiter: "/" }));
  assert.deepEqual(folders.CommonPrefixes, [{ Prefix: "page/" }]);
  await waitUntilObjectExists({ client: s3, maxWaitTime: 10, minDelay: 1 }, { Bucket, Key: "page/6" });

  // Quiet mode: only the keys S3 failed to delete come back.
  const all = (await s3.send(new ListObjectsV2Command({ Bucket }))).Contents.map((o) => ({ Key: o.Key }));
  const quiet = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: all, Quiet: true } }));
  assert.equal(quiet.Deleted, undefined);
  assert.equal(quiet.Errors, undefined);
  await waitUntilObjectNotExists({ client: s3, maxWaitTime: 10, minDelay: 1 }, { Bucket, Key: "hello.txt" });
  await s3.send(new DeleteBucketCommand({ Bucket }));
  out.s3 = { checksum: put.ChecksumCRC32, composite: whole.ChecksumCRC32, pages: pages.length, attributes: attrs.ObjectSize };
}

// --- DynamoDB through lib-dynamodb ------------------------------------------------------------
if (process.argv.includes("dynamodb")) {
  const { DynamoDBClient, CreateTableCommand, DeleteTableCommand, waitUntilTableExists, waitUntilTableNotExists } = await import("@aws-sdk/client-dynamodb");
  const { DynamoDBDocumentClient, PutCommand, GetCommand, UpdateCommand, BatchWriteCommand, paginateQuery, paginateScan, NumberValue } = await import("@aws-sdk/lib-dynamodb");
  const ddb = new DynamoDBClient(config);
  // Each document client shares its DynamoDBClient's config, translate options included: one each.
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient(config), { marshallOptions: { removeUndefinedValues: true } });
  const wrapped = DynamoDBDocumentClient.from(new DynamoDBClient(config), { unmarshallOptions: { wrapNumbers: true } });
  const TableName = `js-paths-${stamp}`;
  await ddb.send(new CreateTableCommand({
    TableName,
    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "N" }],
    BillingMode: "PAY_PER_REQUEST",
  }));
  await waitUntilTableExists({ client: ddb, maxWaitTime: 20, minDelay: 1 }, { TableName });

  const big = "12345678901234567890123.5";
  await doc.send(new PutCommand({ TableName, Item: {
    pk: "doc", sk: 0, big: NumberValue.from(big), gone: undefined, nested: { gone: undefined, kept: 1 }, list: [1, undefined, "a"],
    ss: new Set(["a", "b"]), ns: new Set([1, 2]), bs: new Set([new Uint8Array([1]), new Uint8Array([2])]), bin: new Uint8Array([0, 255]),
    nothing: null, empty: "", emptyList: [], emptyMap: {},
  } }));
  const item = (await wrapped.send(new GetCommand({ TableName, Key: { pk: "doc", sk: 0 }, ConsistentRead: true }))).Item;
  assert.equal(item.big.toString(), big);
  assert.equal("gone" in item, false);
  assert.deepEqual(Object.keys(item.nested), ["kept"]);
  assert.equal(item.list.length, 2);
  const plain = (await doc.send(new GetCommand({ TableName, Key: { pk: "doc", sk: 0 }, ProjectionExpression: "ss, ns, bs, bin, nothing, #e, emptyList, emptyMap", ExpressionAttributeNames: { "#e": "empty" } }))).Item;
  assert.deepEqual([...plain.ss].sort(), ["a", "b"]);
  assert.deepEqual([...plain.ns].sort(), [1, 2]);
  assert.equal(plain.bs.size, 2);
  assert.deepEqual([...plain.bin], [0, 255]);
  assert.deepEqual([plain.nothing, plain.empty, plain.emptyList, plain.emptyMap], [null, "", [], {}]);
  const updated = await doc.send(new UpdateCommand({
    TableName, Key: { pk: "doc", sk: 0 }, UpdateExpression: "ADD ss :s SET emptyList = list_append(emptyList, :l)",
    ExpressionAttributeValues: { ":s": new Set(["c"]), ":l": [1] }, ReturnValues: "UPDATED_NEW",
  }));
  assert.deepEqual([...updated.Attributes.ss].sort(), ["a", "b", "c"]);

  for (let i = 0; i < 50; i += 25) {
    await doc.send(new BatchWriteCommand({ RequestItems: { [TableName]: Array.from({ length: 25 }, (_, j) => ({ PutRequest: { Item: { pk: "q", sk: i + j } } })) } }));
  }
  const keys = [];
  for await (const page of paginateQuery({ client: doc, pageSize: 20 }, { TableName, KeyConditionExpression: "pk = :p", ExpressionAttributeValues: { ":p": "q" }, ScanIndexForward: false })) {
    keys.push(...page.Items.map((i) => i.sk));
  }
  assert.deepEqual(keys, Array.from({ length: 50 }, (_, i) => 49 - i));
  let scanned = 0;
  for await (const page of paginateScan({ client: doc, pageSize: 15 }, { TableName, FilterExpression: "sk >= :n", ExpressionAttributeValues: { ":n": 40 } })) scanned += page.Count;
  assert.equal(scanned, 10);
  await ddb.send(new DeleteTableCommand({ TableName }));
  await waitUntilTableNotExists({ client: ddb, maxWaitTime: 20, minDelay: 1 }, { TableName });
  out.dynamodb = { big: item.big.toString(), queried: keys.length, scanned };
}

// --- CloudWatch (smithy-rpc-v2-cbor) -----------------------------------------------------
if (process.argv.includes("cloudwatch")) {
  const {
    CloudWatchClient, PutMetricDataCommand, GetMetricDataCommand, PutMetricAlarmCommand, DescribeAlarmsCommand, DeleteAlarmsCommand,
    GetDashboardCommand, GetMetricWidgetImageCommand, waitUntilAlarmExists,
  } = await import("@aws-sdk/client-cloudwatch");
  const cw = new CloudWatchClient(config);
  const Namespace = `JsPaths/${stamp}`;
  const now = new Date();
  await cw.send(new PutMetricDataCommand({ Namespace, MetricData: [
    { MetricName: "Latency", Dimensions: [{ Name: "Svc", Value: "a" }], Value: 12.5, Unit: "Milliseconds", Timestamp: now },
    { MetricName: "Latency", Dimensions: [{ Name: "Svc", Value: "a" }], Values: [1, 2], Counts: [1, 3], Unit: "Milliseconds", Timestamp: now },
  ] }));
  const data = await cw.send(new GetMetricDataCommand({ StartTime: new Date(now - 600e3), EndTime: new Date(+now + 600e3), MetricDataQueries: [
    { Id: "m1", MetricStat: { Metric: { Namespace, MetricName: "Latency", Dimensions: [{ Name: "Svc", Value: "a" }] }, Period: 60, Stat: "Sum" } },
    { Id: "e1", Expression: "m1 * 2" },
  ] }));
  const sums = Object.fromEntries(data.MetricDataResults.map((r) => [r.Id, r.Values]));
  assert.deepEqual(sums, { m1: [19.5], e1: [39] });
  assert.ok(data.MetricDataResults[0].Timestamps[0] instanceof Date);
  const AlarmName = `js-paths-${stamp}`;
  await cw.send(new PutMetricAlarmCommand({ AlarmName, Namespace, MetricName: "Latency", Statistic: "Average", Period: 60, EvaluationPeriods: 1, Threshold: 100, ComparisonOperator: "GreaterThanThreshold" }));
  await waitUntilAlarmExists({ client: cw, maxWaitTime: 10, minDelay: 1 }, { AlarmNames: [AlarmName] });
  const alarm = (await cw.send(new DescribeAlarmsCommand({ AlarmNames: [AlarmName] }))).MetricAlarms[0];
  assert.equal(alarm.Threshold, 100);
  assert.ok(alarm.StateUpdatedTimestamp instanceof Date);
  const image = await cw.send(new GetMetricWidgetImageCommand({ MetricWidget: JSON.stringify({ metrics: [[Namespace, "Latency", "Svc", "a"]], start: "-PT1H" }) }));
  assert.equal(Buffer.from(image.MetricWidgetImage.subarray(1, 4)).toString(), "PNG");
  const noDashboard = await rejects(cw.send(new GetDashboardCommand({ DashboardName: `none-${stamp}` })));
  assert.equal(noDashboard.name, "ResourceNotFound");
  assert.equal(noDashboard.$metadata.httpStatusCode, 404);
  await cw.send(new DeleteAlarmsCommand({ AlarmNames: [AlarmName] }));
  out.cloudwatch = { sums, alarm: alarm.AlarmName === AlarmName };
}

console.log(JSON.stringify(out));
