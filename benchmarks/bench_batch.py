"""Parse-stage benchmark on PostgreSQL: lease, parse, quality, mentions, persist, route.

Starts a throwaway PostgreSQL and redis-server, migrates, seeds the S&P 500 universe (with
aliases), ingests N synthetic documents (a mix of news JSON, filing HTML and macro entries
assembled from the sample corpus so that each is unique), then times
``stonks.parsing.process.process_documents`` over all of them. A small warm-up batch runs
first; GC is off while timing.

Usage: .venv/bin/python benchmarks/bench_batch.py [--quick] [--docs N]
The last line printed is one JSON object; ``parse_docs_per_s`` is the figure (target ≥ 200).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from stonks.config import load_settings  # noqa: E402
from stonks.db import dispose_engines, get_engine  # noqa: E402
from stonks.db.migrate import upgrade  # noqa: E402
from stonks.embedded import RedisServer  # noqa: E402
from stonks.ingestion.companies import seed_companies  # noqa: E402
from stonks.ingestion.dedupe import DedupeMarkers  # noqa: E402
from stonks.ingestion.object_store import LocalObjectStore  # noqa: E402
from stonks.ingestion.store import begin_run, ensure_source, store_documents  # noqa: E402
from stonks.models import DocumentKind  # noqa: E402
from stonks.models.sources import SourceKind  # noqa: E402
from stonks.parsing.process import process_documents  # noqa: E402
from stonks.redis_client import connect  # noqa: E402
from stonks.sample_data import filings as sample_filings  # noqa: E402
from stonks.sample_data import news as sample_news  # noqa: E402
from stonks.sources.records import FetchedDocument, canonical_json  # noqa: E402
from stonks.universe import DEFAULT_TRACKED, load_universe  # noqa: E402
from tests.harness.postgres import PostgresServer, free_port  # noqa: E402

BASE = datetime(2010, 1, 4, tzinfo=UTC)


def synthetic_documents(count: int, seed: int = 7) -> list[FetchedDocument]:
    """Unique documents: 70% news JSON, 15% filing HTML, 15% macro entries."""
    rng = random.Random(seed)
    sentences = [s.strip() + "." for a in sample_news.articles()
                 for s in str(a["description"]).split(". ") if s.strip()]
    names = [c.name for c in load_universe()]
    documents = []
    for n in range(count):
        published = BASE + timedelta(minutes=17 * n)
        body = " ".join(rng.sample(sentences, 5)) + (
            f" Analysts also mentioned {rng.choice(names)} and {rng.choice(names)}"
            f" in note {n}.")
        roll = rng.random()
        if roll < 0.70:
            item = {"id": f"bench-{n}", "title": f"Market update {n}: {rng.choice(names)}",
                    "published_utc": published.isoformat(), "description": body,
                    "tickers": [rng.choice(DEFAULT_TRACKED)]}
            documents.append(FetchedDocument(
                "bench_news", DocumentKind.NEWS, f"bench-{n}", published, canonical_json(item),
                "application/json", title=str(item["title"]),
                provider_data={"tickers": item["tickers"]}))
        elif roll < 0.85:
            filing = sample_filings.FILINGS[n % len(sample_filings.FILINGS)]
            page = sample_filings.primary_document_html(filing).replace(
                "</body>", f"<p>{body}</p></body>")
            documents.append(FetchedDocument(
                "bench_filings", DocumentKind.FILING, f"bench-f-{n}", published, page.encode(),
                "text/html", title=f"{filing.company} {filing.form}",
                provider_data={"tickers": [filing.ticker]}))
        else:
            entry = {"guid": f"bench-m-{n}", "title": f"Economy note {n}",
                     "summary": f"<p>The Federal Reserve said inflation is subdued. {body}</p>",
                     "published": published.isoformat()}
            documents.append(FetchedDocument(
                "bench_macro", DocumentKind.MACRO, f"bench-m-{n}", published,
                canonical_json(entry), "application/json", title=str(entry["title"])))
    return documents


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer documents")
    parser.add_argument("--docs", type=int, default=None)
    args = parser.parse_args()
    count = args.docs or (600 if args.quick else 3000)

    postgres = PostgresServer()
    root = Path(tempfile.mkdtemp(prefix="stonks-bench-batch-"))
    redis_server = RedisServer(root / "redis", port=free_port(), persistent=False)
    try:
        url = postgres.start()
        redis_server.start()
        print(f"postgres {postgres.url}, redis {redis_server.url}, {count} documents")
        upgrade(url)
        settings = load_settings(database_url=url, redis_url=redis_server.url,
                                 lake_path=str(root / "lake"), parse_batch_size=200)
        engine = get_engine(url)
        seed_companies(engine, DEFAULT_TRACKED)
        client = connect(settings=settings)
        store = LocalObjectStore(settings.effective_lake_path)
        documents = synthetic_documents(count + 100)
        source_id = ensure_source(engine, key="bench", name="bench", kind=SourceKind.NEWS)
        started = time.perf_counter()
        run_id = begin_run(engine, source_id=source_id, start=BASE,
                           end=BASE + timedelta(days=365), dag_run_id="bench")
        stored, _ = store_documents(engine, store, DedupeMarkers(client, "document", 3600),
                                    run_id=run_id, source_id=source_id, documents=documents)
        ingest_s = time.perf_counter() - started
        print(f"ingested {stored} documents in {ingest_s:.2f}s ({stored / ingest_s:.0f}/s)")

        # Warm-up: the first 100 documents (oldest first), not timed.
        process_documents(settings=settings, owner="warmup", batch_size=100, max_batches=1)
        gc.collect()
        gc.disable()
        started = time.perf_counter()
        totals = process_documents(settings=settings, owner="bench")
        elapsed = time.perf_counter() - started
        gc.enable()
        processed = totals["parsed"] + totals["skipped"] + totals["failed"]
        rate = processed / elapsed
        print(f"processed {processed} documents in {elapsed:.2f}s: {rate:.0f} docs/s "
              f"(parsed {totals['parsed']}, skipped {totals['skipped']}, "
              f"failed {totals['failed']}, mentions {totals['mentions']}, "
              f"routed {totals['routed']})")
        print(f"target >= 200 docs/s: {'met' if rate >= 200 else 'NOT met'}")
        print(json.dumps({
            "benchmark": "bench_batch", "documents": processed,
            "parse_docs_per_s": round(rate, 1), "ingest_docs_per_s": round(stored / ingest_s, 1),
            "seconds": round(elapsed, 3), "mentions": totals["mentions"],
            "target_parse_docs_per_s": 200, "quick": bool(args.quick),
        }))
        return 0
    finally:
        dispose_engines()
        redis_server.stop()
        postgres.stop()


if __name__ == "__main__":
    sys.exit(main())
