"""Compute benchmark: LLM decode speed through the emulator vs llama-cpp-python in-process.

    python -m bench.compute_bench [--tokens 128] [--runs 3] [--no-append]

Same model (SmolLM2-135M-Instruct Q4_1), prompt, context size, thread count and
greedy settings for every path, in the same run:

1. single-stream decode tokens/s and time to first token (TTFT):
   llama-cpp-python called directly in this process, Bedrock ConverseStream
   (boto3) and OpenAI streaming chat completions (openai client), and the same
   two requests from a raw HTTP client (http.client; the ConverseStream one
   signed with SigV4 before the clock starts, event-stream frames split by their
   length prefix), which leaves out the client libraries' own costs: what the
   server adds is raw TTFT minus direct TTFT;
2. aggregate decode tokens/s with 1, 2 and 4 concurrent OpenAI streams.

Tokens are counted as streamed text chunks (one per generated token). Results go
to stdout, bench/out/compute.json and a section appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."
N_CTX = 1024


def _threads() -> int:
    # What a serving instance gives each of its slots by default on this host (cores // slots, here 2 slots).
    return int(os.environ.get("BENCH_THREADS", "0")) or max(1, (os.cpu_count() or 1) // 2)


def direct(model_path: Path, tokens: int, runs: int) -> list[tuple[float, float, int]]:
    """(ttft_s, decode_tok_s, n) per run, llama-cpp-python in-process, chat template applied."""
    import llama_cpp

    from emulator.compute.engines.llama import (
        install_model_params_patch,
        resolve_extra_bufts,
    )

    install_model_params_patch(resolve_extra_bufts("auto"))  # the same buffers the engine uses
    llm = llama_cpp.Llama(str(model_path), n_ctx=N_CTX, n_threads=_threads(), n_threads_batch=_threads(), verbose=False)
    out = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        first = last = 0.0
        n = 0
        for part in llm.create_chat_completion([{"role": "user", "content": PROMPT}], max_tokens=tokens, temperature=0, stream=True):
            delta: Any = part["choices"][0]["delta"]  # type: ignore[index]
            if delta.get("content"):
                now = time.perf_counter()
                first = first or now
                last = now
                n += 1
        out.append((first - start, (n - 1) / (last - first) if n > 1 else 0.0, n))
    llm.close()
    return out[1:]  # the first run warms caches


def bedrock_stream(client: Any, model: str, tokens: int, runs: int) -> list[tuple[float, float, int]]:
    out = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        first = last = 0.0
        n = 0
        resp = client.converse_stream(modelId=model, messages=[{"role": "user", "content": [{"text": PROMPT}]}],
                                      inferenceConfig={"maxTokens": tokens, "temperature": 0})
        for event in resp["stream"]:
            if "contentBlockDelta" in event:
                now = time.perf_counter()
                first = first or now
                last = now
                n += 1
        out.append((first - start, (n - 1) / (last - first) if n > 1 else 0.0, n))
    return out[1:]


def openai_stream(client: Any, model: str, tokens: int) -> tuple[float, float, int, float, float]:
    start = time.perf_counter()
    first = last = 0.0
    n = 0
    for chunk in client.chat.completions.create(model=model, messages=[{"role": "user", "content": PROMPT}], max_tokens=tokens,
                                                temperature=0, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            now = time.perf_counter()
            first = first or now
            last = now
            n += 1
    return first - start, (n - 1) / (last - first) if n > 1 else 0.0, n, start, last


def _raw_stream(port: int, path: str, body: bytes, headers: Callable[[], dict[str, str]], tokens: Callable[[http.client.HTTPResponse], Iterator[None]], runs: int) -> list[tuple[float, float, int]]:
    """``runs`` streaming requests over http.client (after one warm-up): TTFT from just before
    the request is sent to the first token ``tokens`` yields, decode speed from first to last.
    ``headers`` is called before the clock starts (signing is the client's work, not the server's)."""
    out = []
    for _ in range(runs + 1):
        head = headers()
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.connect()
        start = time.perf_counter()
        first = last = 0.0
        n = 0
        conn.request("POST", path, body, head)
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()
        for _token in tokens(resp):
            now = time.perf_counter()
            first = first or now
            last = now
            n += 1
        conn.close()
        out.append((first - start, (n - 1) / (last - first) if n > 1 else 0.0, n))
    return out[1:]


def _sse_tokens(resp: http.client.HTTPResponse) -> Iterator[None]:
    """One per server-sent event line with content (http.client undoes the chunked encoding)."""
    for line in resp:
        if line.startswith(b"data: ") and b'"content":"' in line and b'"content":""' not in line:
            yield None


def _event_stream_tokens(resp: http.client.HTTPResponse) -> Iterator[None]:
    """One per contentBlockDelta event-stream message."""
    buf = b""
    while data := resp.read1(65536):
        buf += data
        # Each event-stream message starts with its total length (4 bytes, big-endian).
        while len(buf) >= 4 and len(buf) >= (total := int.from_bytes(buf[:4], "big")):
            frame, buf = buf[:total], buf[total:]
            if b"contentBlockDelta" in frame:
                yield None


def raw_openai_stream(port: int, api_key: str, model: str, tokens: int, runs: int) -> list[tuple[float, float, int]]:
    """OpenAI streaming chat completions over http.client: TTFT is the first SSE line with content."""
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": tokens,
                       "temperature": 0, "stream": True}).encode()
    headers = {"Authorization": "Bearer " + api_key, "Content-Type": "application/json"}
    return _raw_stream(port, "/v1/chat/completions", body, lambda: headers, _sse_tokens, runs)


def raw_converse_stream(port: int, access_key: str, secret_key: str, model: str, tokens: int, runs: int) -> list[tuple[float, float, int]]:
    """ConverseStream over http.client, signed before the clock starts; TTFT is the first contentBlockDelta frame."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = json.dumps({"messages": [{"role": "user", "content": [{"text": PROMPT}]}],
                       "inferenceConfig": {"maxTokens": tokens, "temperature": 0}}).encode()
    path = f"/model/{model}/converse-stream"

    def signed() -> dict[str, str]:
        req = AWSRequest("POST", f"http://127.0.0.1:{port}{path}", data=body, headers={"Content-Type": "application/json"})
        SigV4Auth(Credentials(access_key, secret_key), "bedrock", "us-east-1").add_auth(req)
        return dict(req.headers.items())

    return _raw_stream(port, path, body, signed, _event_stream_tokens, runs)


def summarize(rows: list[tuple[float, float, int]]) -> dict[str, float]:
    return {"ttft_ms": round(statistics.median(r[0] for r in rows) * 1000, 1),
            "decode_tok_s": round(statistics.median(r[1] for r in rows), 1),
            "tokens": statistics.median(r[2] for r in rows)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()

    import openai

    from emulator.compute.models import info_from_gguf, install_default
    from emulator.testing.server import EmulatorServer

    with tempfile.TemporaryDirectory(prefix="compute-bench-") as tmp:
        models = Path(tmp) / "models"
        path = install_default(models)
        model = info_from_gguf(path).model_id
        results: dict[str, Any] = {"model": model, "max_tokens": args.tokens, "n_ctx": N_CTX, "threads": _threads(), "runs": args.runs,
                                   "load_before": os.getloadavg()[0]}
        results["direct"] = summarize(direct(path, args.tokens, args.runs))
        print("direct llama-cpp-python:", results["direct"], flush=True)

        env = {"EMULATOR_MODELS_DIR": str(models), "EMULATOR_COMPUTE_N_CTX": str(N_CTX), "EMULATOR_COMPUTE_SLOTS": "4",
               "EMULATOR_COMPUTE_N_THREADS": str(_threads()), "EMULATOR_COMPUTE_QUEUE": "16", "EMULATOR_ACCESS_LOG": "false"}
        server = EmulatorServer(env=env)
        server.start()
        try:
            bedrock = server.client("bedrock-runtime")
            results["bedrock_converse_stream"] = summarize(bedrock_stream(bedrock, model, args.tokens, args.runs))
            print("Bedrock ConverseStream:", results["bedrock_converse_stream"], flush=True)
            oa = openai.OpenAI(base_url=server.endpoint + "/v1", api_key=server.secret_key, max_retries=0)
            openai_stream(oa, model, 8)  # warm
            rows = [openai_stream(oa, model, args.tokens)[:3] for _ in range(args.runs)]
            results["openai_stream"] = summarize(rows)
            print("OpenAI streaming:", results["openai_stream"], flush=True)
            results["raw_converse_stream"] = summarize(raw_converse_stream(server.port, server.access_key, server.secret_key, model, args.tokens, args.runs))
            print("ConverseStream, raw HTTP:", results["raw_converse_stream"], flush=True)
            results["raw_openai_stream"] = summarize(raw_openai_stream(server.port, f"{server.access_key}:{server.secret_key}", model, args.tokens, args.runs))
            print("OpenAI streaming, raw HTTP:", results["raw_openai_stream"], flush=True)
            aggregate = {}
            for streams in (1, 2, 4):
                done: list[tuple[float, float, int, float, float]] = []

                def worker(done: list[tuple[float, float, int, float, float]] = done) -> None:
                    done.append(openai_stream(oa, model, args.tokens))

                threads = [threading.Thread(target=worker) for _ in range(streams)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                wall = max(r[4] for r in done) - min(r[3] for r in done)
                aggregate[str(streams)] = round(sum(r[2] for r in done) / wall, 1)
                print(f"aggregate tokens/s at {streams} streams: {aggregate[str(streams)]}", flush=True)
            results["aggregate_tok_s"] = aggregate
        finally:
            server.cleanup()

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "compute.json").write_text(json.dumps(results, indent=1))
    if not args.no_append:
        d, b, o = results["direct"], results["bedrock_converse_stream"], results["openai_stream"]
        lines = [
            "", f"## Compute: LLM inference ({dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')})", "",
            (f"`python -m bench.compute_bench` — {model}, {args.tokens} new tokens, n_ctx {N_CTX}, {_threads()} threads, "
             f"greedy, median of {args.runs} runs, CPU only (no GPU on this machine); "
             f"1-minute load average before/after: {results['load_before']:.1f}/{os.getloadavg()[0]:.1f}."), "",
            "| path | TTFT (ms) | decode tokens/s |", "| --- | --- | --- |",
            f"| llama-cpp-python in-process | {d['ttft_ms']} | {d['decode_tok_s']} |",
            f"| Bedrock ConverseStream (boto3) | {b['ttft_ms']} | {b['decode_tok_s']} |",
            f"| OpenAI streaming (openai client) | {o['ttft_ms']} | {o['decode_tok_s']} |",
            f"| ConverseStream, raw HTTP client | {results['raw_converse_stream']['ttft_ms']} | {results['raw_converse_stream']['decode_tok_s']} |",
            f"| OpenAI streaming, raw HTTP client | {results['raw_openai_stream']['ttft_ms']} | {results['raw_openai_stream']['decode_tok_s']} |", "",
            "Aggregate decode tokens/s, concurrent OpenAI streams (4 slots): "
            + ", ".join(f"{k} stream{'s' if k != '1' else ''}: {v}" for k, v in results["aggregate_tok_s"].items()), "",
        ]
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
