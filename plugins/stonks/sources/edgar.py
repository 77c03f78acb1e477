"""SEC EDGAR live adapter: submissions JSON per CIK and the primary 10-K/10-Q document.

``https://data.sec.gov/submissions/CIK##########.json`` lists recent filings as parallel
arrays under ``filings.recent``; the primary document lives at
``https://www.sec.gov/Archives/edgar/data/<cik>/<accession without dashes>/<primaryDocument>``.
The SEC requires a descriptive User-Agent and at most 10 requests per second; the caller's
``SourceHttpClient`` carries both (header and shared token bucket).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from stonks.models import DocumentKind
from stonks.sources.errors import SourceResponseInvalid
from stonks.sources.http import SourceHttpClient
from stonks.sources.records import FetchedDocument

logger = logging.getLogger(__name__)

SOURCE_KEY = "sec_edgar"
FORMS = frozenset({"10-K", "10-Q"})
_REQUIRED = ("accessionNumber", "filingDate", "form", "primaryDocument")


@dataclass(frozen=True)
class FilingRef:
    """One filing listed in a submissions JSON."""

    cik: str
    ticker: str | None
    company: str
    accession: str
    form: str
    filed_at: datetime
    report_date: str | None
    primary_document: str

    def archive_path(self) -> str:
        return (
            f"/Archives/edgar/data/{int(self.cik)}/{self.accession.replace('-', '')}/"
            f"{self.primary_document}"
        )


def cik10(cik: str | int) -> str:
    """A CIK zero-padded to the 10 digits EDGAR URLs use."""
    digits = str(cik).strip()
    if not digits.isdigit() or len(digits) > 10:
        raise ValueError(f"not a CIK: {cik!r}")
    return digits.zfill(10)


def _filed_at(recent: dict[str, list[Any]], index: int) -> datetime:
    accepted = recent.get("acceptanceDateTime")
    if isinstance(accepted, list) and index < len(accepted) and accepted[index]:
        try:
            return datetime.fromisoformat(str(accepted[index]).replace("Z", "+00:00")).astimezone(
                UTC
            )
        except ValueError:
            pass
    try:
        day = date.fromisoformat(str(recent["filingDate"][index]))
    except ValueError as exc:
        raise SourceResponseInvalid(f"edgar: bad filingDate at index {index}") from exc
    return datetime.combine(day, time(0), tzinfo=UTC)


def filings_in_window(
    submissions: Any, start: datetime, end: datetime, forms: frozenset[str] = FORMS
) -> list[FilingRef]:
    """The ``forms`` filings of a submissions JSON filed in ``[start, end)``."""
    if not isinstance(submissions, dict):
        raise SourceResponseInvalid("edgar: submissions is not a JSON object")
    try:
        recent = submissions["filings"]["recent"]
        columns = [recent[name] for name in _REQUIRED]
    except (KeyError, TypeError) as exc:
        raise SourceResponseInvalid(f"edgar: submissions lacks filings.recent.{exc}") from exc
    if not all(isinstance(c, list) for c in columns) or len({len(c) for c in columns}) != 1:
        raise SourceResponseInvalid("edgar: filings.recent arrays are missing or uneven")
    tickers = submissions.get("tickers") or []
    refs: list[FilingRef] = []
    for index, form in enumerate(recent["form"]):
        if form not in forms:
            continue
        filed_at = _filed_at(recent, index)
        if not start <= filed_at < end:
            continue
        report_dates = recent.get("reportDate") or []
        refs.append(
            FilingRef(
                cik=cik10(submissions.get("cik", "0")),
                ticker=str(tickers[0]) if tickers else None,
                company=str(submissions.get("name", "")),
                accession=str(recent["accessionNumber"][index]),
                form=str(form),
                filed_at=filed_at,
                report_date=str(report_dates[index]) if index < len(report_dates) else None,
                primary_document=str(recent["primaryDocument"][index]),
            )
        )
    return refs


def filing_document(
    ref: FilingRef, payload: bytes, content_type: str, url: str | None
) -> FetchedDocument:
    """A ``FetchedDocument`` for a filing's primary document."""
    return FetchedDocument(
        source_key=SOURCE_KEY,
        kind=DocumentKind.FILING,
        external_id=ref.accession,
        published_at=ref.filed_at,
        payload=payload,
        content_type=content_type,
        url=url,
        title=f"{ref.company} {ref.form}" + (f" for {ref.report_date}" if ref.report_date else ""),
        tickers=(ref.ticker,) if ref.ticker else (),
        provider_data={
            "cik": ref.cik, "form": ref.form, "accession": ref.accession,
            "report_date": ref.report_date, "primary_document": ref.primary_document,
            "company": ref.company,
        },
    )


class EdgarClient:
    """EDGAR calls over a ``SourceHttpClient`` that sends the SEC User-Agent."""

    def __init__(self, http: SourceHttpClient, base_url: str, archives_url: str) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.archives_url = archives_url.rstrip("/")

    def submissions(self, cik: str) -> Any:
        return self.http.get_json(f"{self.base_url}/submissions/CIK{cik10(cik)}.json")

    def filings(self, cik: str, start: datetime, end: datetime) -> list[FetchedDocument]:
        """The 10-K/10-Q primary documents of ``cik`` filed in ``[start, end)``."""
        documents = []
        for ref in filings_in_window(self.submissions(cik), start, end):
            url = f"{self.archives_url}{ref.archive_path()}"
            payload, content_type = self.http.get_bytes(url, expect=("html", "text/plain"))
            if not payload.strip():
                raise SourceResponseInvalid(f"edgar: empty primary document {ref.accession}")
            documents.append(filing_document(ref, payload, content_type, url))
        return documents
