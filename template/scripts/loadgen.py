"""Load generator: many concurrent /v1/ask requests spread over one or more running replicas.

Sends --requests POST /v1/ask round-robin over the --url replicas, --concurrency at a time. With
--feedback-to-other, every answered request (HTTP 200) gets a POST /v1/feedback sent to a
*different* replica than the one that answered, which proves the replicas share one ledger.
Every request is recorded: replica, HTTP status (0 = no response: connection error, timeout),
request_id (body or X-Request-ID header), the error `code` of error bodies, and the feedback
status. Failures are data, never a crash. Prints a summary; --json writes summary and records.

Usage (or `make load URL=...`):
    python scripts/loadgen.py --url http://127.0.0.1:8001 --url http://127.0.0.1:8002 \\
        --requests 2000 --concurrency 32 --api-key KEY --feedback-to-other --json var/load.json
The API key can also come from the LOADGEN_API_KEY environment variable (keeps it out of `ps`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

DEFAULT_QUESTIONS = [
    "How many days of annual leave can I carry over?",
    "How do I reset my password?",
    "Who approves travel expenses?",
    "What is the policy for working from home?",
]


@dataclass
class Record:
    """One /v1/ask request (and its feedback, if any). Times are seconds since the run began."""

    index: int
    url: str
    started: float
    latency_ms: float = 0.0
    status: int = 0  # HTTP status; 0 = no response (connection error, timeout)
    request_id: str | None = None
    outcome: str | None = None  # answered | abstained | refused (HTTP 200 only)
    code: str | None = None  # `code` of an error body
    error: str | None = None  # transport error text when status is 0
    feedback_url: str | None = None
    feedback_status: int | None = None  # None = no feedback sent; 0 = no response
    feedback_code: str | None = None
    feedback_error: str | None = None


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


class LoadGenerator:
    def __init__(
        self,
        client: httpx.AsyncClient,
        urls: list[str],
        questions: list[str],
        *,
        feedback_to_other: bool,
    ) -> None:
        self.client = client
        self.urls = urls
        self.questions = questions
        self.feedback_to_other = feedback_to_other
        self.began = time.perf_counter()

    async def ask(self, index: int) -> Record:
        url = self.urls[index % len(self.urls)]
        question = self.questions[index % len(self.questions)]
        record = Record(index=index, url=url, started=round(time.perf_counter() - self.began, 4))
        started = time.perf_counter()
        try:
            response = await self.client.post(f"{url}/v1/ask", json={"question": question})
        except httpx.HTTPError as error:
            record.error = _describe(error)
        else:
            record.status = response.status_code
            body = _json_object(response)
            record.request_id = _text(body.get("request_id")) or response.headers.get(
                "X-Request-ID"
            )
            if response.is_success:
                record.outcome = _text(body.get("outcome"))
            else:
                record.code = _text(body.get("code"))
        record.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        if self.feedback_to_other and record.status == 200 and record.request_id:
            await self.feedback(record)
        return record

    async def feedback(self, record: Record) -> None:
        # The next replica in the list: a different one whenever there are at least two.
        url = self.urls[(self.urls.index(record.url) + 1) % len(self.urls)]
        record.feedback_url = url
        payload = {"request_id": record.request_id, "helpful": True}
        try:
            response = await self.client.post(f"{url}/v1/feedback", json=payload)
        except httpx.HTTPError as error:
            record.feedback_status, record.feedback_error = 0, _describe(error)
            return
        record.feedback_status = response.status_code
        if not response.is_success:
            record.feedback_code = _text(_json_object(response).get("code"))

    async def run(self, requests: int, concurrency: int) -> list[Record]:
        records: list[Record] = []
        next_index = iter(range(requests))

        async def worker() -> None:
            # Single-threaded event loop: pulling from the shared iterator is race-free.
            for index in next_index:
                records.append(await self.ask(index))

        self.began = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, requests)):
                group.create_task(worker())
        records.sort(key=lambda record: record.index)
        return records


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[round(fraction * (len(ordered) - 1))]


def summarise(records: list[Record], elapsed: float, urls: list[str]) -> dict[str, Any]:
    latencies = [record.latency_ms for record in records]
    feedback = [record for record in records if record.feedback_status is not None]
    return {
        "urls": urls,
        "requests": len(records),
        "elapsed_seconds": round(elapsed, 3),
        "throughput_rps": round(len(records) / elapsed, 2) if elapsed > 0 else 0.0,
        "latency_ms": {
            "p50": round(statistics.median(latencies), 2) if latencies else 0.0,
            "p95": round(percentile(latencies, 0.95), 2),
            "max": round(max(latencies, default=0.0), 2),
        },
        "by_status": dict(sorted(Counter(str(record.status) for record in records).items())),
        "by_url_status": {
            url: dict(sorted(Counter(str(r.status) for r in records if r.url == url).items()))
            for url in urls
        },
        "by_code": dict(Counter(record.code for record in records if record.code).most_common()),
        "by_outcome": dict(
            Counter(record.outcome for record in records if record.outcome).most_common()
        ),
        "feedback": {
            "sent": len(feedback),
            "by_status": dict(
                sorted(Counter(str(record.feedback_status) for record in feedback).items())
            ),
            "by_code": dict(
                Counter(r.feedback_code for r in feedback if r.feedback_code).most_common()
            ),
        },
    }


def print_summary(summary: dict[str, Any]) -> None:
    latency = summary["latency_ms"]
    print(
        f"{summary['requests']} requests in {summary['elapsed_seconds']:.1f} s "
        f"({summary['throughput_rps']:.1f} req/s)  "
        f"latency p50 {latency['p50']:.1f} ms  p95 {latency['p95']:.1f} ms  "
        f"max {latency['max']:.1f} ms"
    )
    print("  by status: " + ", ".join(f"{k}: {v}" for k, v in summary["by_status"].items()))
    for url, counts in summary["by_url_status"].items():
        print(f"    {url}: " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    if summary["by_code"]:
        print("  error codes: " + ", ".join(f"{k}: {v}" for k, v in summary["by_code"].items()))
    if summary["by_outcome"]:
        print("  outcomes: " + ", ".join(f"{k}: {v}" for k, v in summary["by_outcome"].items()))
    feedback = summary["feedback"]
    if feedback["sent"]:
        statuses = ", ".join(f"{k}: {v}" for k, v in feedback["by_status"].items())
        print(f"  feedback sent: {feedback['sent']} ({statuses})")
        if feedback["by_code"]:
            codes = ", ".join(f"{k}: {v}" for k, v in feedback["by_code"].items())
            print(f"  feedback error codes: {codes}")


async def generate(args: argparse.Namespace, api_key: str) -> tuple[list[Record], float]:
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with httpx.AsyncClient(
        headers={"X-API-Key": api_key}, timeout=args.timeout, limits=limits
    ) as client:
        questions = args.question or DEFAULT_QUESTIONS
        generator = LoadGenerator(
            client, args.url, questions, feedback_to_other=args.feedback_to_other
        )
        began = time.perf_counter()
        records = await generator.run(args.requests, args.concurrency)
        return records, time.perf_counter() - began


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", action="append", required=True, help="replica base URL; repeat")
    parser.add_argument("--requests", type=int, default=2000, help="total /v1/ask requests")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight at once")
    parser.add_argument("--api-key", help="API key (default: $LOADGEN_API_KEY)")
    parser.add_argument("--question", action="append", help="question to ask; repeat to rotate")
    parser.add_argument(
        "--feedback-to-other",
        action="store_true",
        help="send feedback for every answered request to a different replica",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout (s)")
    parser.add_argument("--json", type=Path, help="write the summary and every record here")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1:
        parser.error("--requests and --concurrency must be at least 1")
    args.url = [url.rstrip("/") for url in args.url]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    api_key = args.api_key or os.environ.get("LOADGEN_API_KEY", "")
    if not api_key:
        print("an API key is required: --api-key or LOADGEN_API_KEY", file=sys.stderr)
        return 2
    records, elapsed = asyncio.run(generate(args, api_key))
    summary = summarise(records, elapsed, args.url)
    print_summary(summary)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        document = {"summary": summary, "records": [asdict(record) for record in records]}
        args.json.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        print(f"  records written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
