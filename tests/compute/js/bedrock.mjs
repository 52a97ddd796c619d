// Bedrock Runtime through the AWS SDK for JavaScript v3 with its DEFAULT request handler:
// BedrockRuntimeClient speaks HTTP/2 only (NodeHttp2Handler), so against the emulator's
// http:// endpoint this is h2c with prior knowledge, and the streaming operations are
// application/vnd.amazon.eventstream over HTTP/2 DATA frames.
// Run by tests/compute/test_bedrock.py:
//   EMULATOR_ENDPOINT=... AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... node bedrock.mjs MODEL_ID [timeout]
// ("timeout": only the errors that end a stream mid-way, against a server whose generations
// time out). Prints one JSON object with what each call got back; exits non-zero on an
// unexpected error.
import {
  BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, CountTokensCommand,
  InvokeModelCommand, InvokeModelWithResponseStreamCommand,
} from "@aws-sdk/client-bedrock-runtime";

const modelId = process.argv[2];
const endpoint = process.env.EMULATOR_ENDPOINT;
const client = new BedrockRuntimeClient({
  endpoint,
  region: process.env.AWS_REGION || "us-east-1",
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY },
  maxAttempts: 1,
});
const messages = [{ role: "user", content: [{ text: "Say hi" }] }];
const greedy = { maxTokens: 8, temperature: 0 };
const encode = (doc) => new TextEncoder().encode(JSON.stringify(doc));
const decode = (bytes) => JSON.parse(new TextDecoder().decode(bytes));
const out = {};

async function failure(command) {
  try {
    await client.send(command);
  } catch (err) {
    return { name: err.name, status: err.$metadata?.httpStatusCode, message: err.message, requestId: err.$metadata?.requestId };
  }
  return null;
}

async function serving() {
  // The emulator's own health page: how the model's slots are used (summed over instances).
  const health = await (await fetch(`${endpoint}/_emulator/health`)).json();
  const all = Object.values(health.components.compute.serving);
  return { inUse: all.reduce((n, s) => n + s.in_use, 0), cancelled: all.reduce((n, s) => n + s.cancelled, 0) };
}

async function streamFailure(command) {
  // Events, then the error that ends the stream: an exception frame of the stream's union
  // (a modeled exception) or an error frame (named by its :error-code).
  let events = 0;
  try {
    const response = await client.send(command);
    for await (const event of response.stream ?? response.body) events += 1;
  } catch (err) {
    return { events, name: err.name, message: err.message, fault: err.$fault ?? null };
  }
  return { events, name: null };
}

if (process.argv[3] === "timeout") {
  // The model loaded first, so that each stream starts well within the timeout.
  await client.send(new ConverseCommand({ modelId, messages, inferenceConfig: { maxTokens: 1 } }));
  const long = [{ role: "user", content: [{ text: "Tell a very long story." }] }];
  // Greedy: the same long generation every run (a sampled one may end after a few tokens,
  // before the timeout).
  out.converseStream = await streamFailure(new ConverseStreamCommand({ modelId, messages: long, inferenceConfig: { maxTokens: 2000, temperature: 0 } }));
  out.invokeModelWithResponseStream = await streamFailure(new InvokeModelWithResponseStreamCommand({
    modelId, contentType: "application/json", body: encode({ prompt: "Tell a very long story.", max_gen_len: 2000, temperature: 0 }),
  }));
  client.destroy();
  console.log(JSON.stringify(out));
  process.exit(0);
}

// --- Converse
const conv = await client.send(new ConverseCommand({ modelId, messages, system: [{ text: "You are terse." }], inferenceConfig: greedy }));
out.converse = {
  role: conv.output.message.role, text: conv.output.message.content[0].text, stopReason: conv.stopReason,
  usage: conv.usage, latencyMs: conv.metrics.latencyMs, status: conv.$metadata.httpStatusCode, requestId: conv.$metadata.requestId,
};

// --- ConverseStream: the same request, streamed
const stream = await client.send(new ConverseStreamCommand({ modelId, messages, system: [{ text: "You are terse." }], inferenceConfig: greedy }));
const events = [];
for await (const event of stream.stream) events.push(event);
out.converseStream = {
  status: stream.$metadata.httpStatusCode,
  requestId: stream.$metadata.requestId,
  kinds: events.map((e) => Object.keys(e).find((k) => e[k] !== undefined)),
  role: events[0].messageStart?.role,
  text: events.filter((e) => e.contentBlockDelta).map((e) => e.contentBlockDelta.delta.text).join(""),
  indexes: [...new Set(events.filter((e) => e.contentBlockDelta).map((e) => e.contentBlockDelta.contentBlockIndex))],
  stopReason: events.find((e) => e.messageStop)?.messageStop.stopReason,
  usage: events.find((e) => e.metadata)?.metadata.usage,
  latencyMs: events.find((e) => e.metadata)?.metadata.metrics?.latencyMs,
};

// --- InvokeModel, content type given, and omitted (the SDK then sends application/octet-stream)
const llama = { prompt: "The sky is", max_gen_len: 5, temperature: 0 };
const invoked = await client.send(new InvokeModelCommand({ modelId, contentType: "application/json", accept: "application/json", body: encode(llama) }));
out.invokeModel = { contentType: invoked.contentType, status: invoked.$metadata.httpStatusCode, body: decode(invoked.body) };
const untyped = await client.send(new InvokeModelCommand({ modelId, body: JSON.stringify(llama) }));
out.invokeModelUntyped = { contentType: untyped.contentType, body: decode(untyped.body) };

// --- InvokeModelWithResponseStream
const streamed = await client.send(new InvokeModelWithResponseStreamCommand({
  modelId, contentType: "application/json", body: encode({ prompt: "Once upon", max_gen_len: 6, temperature: 0 }),
}));
const chunks = [];
for await (const event of streamed.body) chunks.push(decode(event.chunk.bytes));
out.invokeModelWithResponseStream = { contentType: streamed.contentType, status: streamed.$metadata.httpStatusCode, chunks };

// --- CountTokens
const counted = await client.send(new CountTokensCommand({ modelId, input: { converse: { messages } } }));
const countedInvoke = await client.send(new CountTokensCommand({ modelId, input: { invokeModel: { body: encode(llama) } } }));
const plain = await client.send(new ConverseCommand({ modelId, messages, inferenceConfig: { maxTokens: 1 } }));
out.countTokens = { converse: counted.inputTokens, converseUsage: plain.usage.inputTokens, invokeModel: countedInvoke.inputTokens };

// --- Errors, plain and on the streaming operations (answered before the stream starts)
out.errors = {
  unknownModel: await failure(new ConverseCommand({ modelId: "no-such.model", messages })),
  unknownModelStream: await failure(new ConverseStreamCommand({ modelId: "no-such.model", messages })),
  badRequest: await failure(new ConverseCommand({ modelId, messages: [{ role: "assistant", content: [{ text: "x" }] }] })),
  badTemperature: await failure(new ConverseStreamCommand({ modelId, messages, inferenceConfig: { temperature: 1.5 } })),
  badBody: await failure(new InvokeModelCommand({ modelId, contentType: "application/json", body: new TextEncoder().encode("not json") })),
  badStreamBody: await failure(new InvokeModelWithResponseStreamCommand({ modelId, contentType: "application/json", body: encode({ prompt: "Hi", max_gen_len: 0 }) })),
};

// --- Concurrent calls: streams of the one HTTP/2 session, each its own answer
const together = await Promise.all([0, 1, 2].map(() => client.send(new ConverseCommand({ modelId, messages, inferenceConfig: { maxTokens: 2, temperature: 0 } }))));
out.concurrent = together.map((r) => r.usage.outputTokens);

// --- A stream aborted mid-way (AbortController): the client resets the HTTP/2 stream, the
// emulator stops the generation and frees the slot; the session goes on serving.
const before = await serving();
const controller = new AbortController();
const long = [{ role: "user", content: [{ text: "Write a long story about a dragon." }] }];
const aborted = await client.send(new ConverseStreamCommand({ modelId, messages: long, inferenceConfig: { maxTokens: 400 } }),
  { abortSignal: controller.signal });
const seen = [];
let abortError = null;
try {
  for await (const event of aborted.stream) {
    seen.push(Object.keys(event)[0]);
    if (seen.length === 3) controller.abort();
  }
} catch (err) {
  abortError = err.name;
}
const during = await serving();
let after = during;
for (let i = 0; i < 100 && !(after.inUse === 0 && after.cancelled > before.cancelled); i++) {
  await new Promise((resolve) => setTimeout(resolve, 100));
  after = await serving();
}
const again = await client.send(new ConverseCommand({ modelId, messages, inferenceConfig: { maxTokens: 2 } }));
out.abort = {
  seen, error: abortError, cancelledBefore: before.cancelled, cancelledAfter: after.cancelled, inUseAfter: after.inUse,
  again: { status: again.$metadata.httpStatusCode, outputTokens: again.usage.outputTokens },
};

client.destroy();
console.log(JSON.stringify(out));
