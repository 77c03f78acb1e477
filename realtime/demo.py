"""Demo stage: the signal engine's verdicts for the tracked tickers on the embedded default.

Runs both pipelines over the bundled daily bars (W and M resampled from them; intraday,
valuation, macro and earnings sources do not exist in the sample data, so they are UNKNOWN
and no BUY can pass the filters), persists the outputs to the configured database, records
the rolling agreement in Redis and prints a table. ``--universe`` adds a whole-universe
summary.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import Counter
from datetime import datetime

from realtime import demo_trading
from realtime.signal_engine import (
    AgreementRecorder,
    SignalEngine,
    SignalOutput,
    inputs_from_daily,
    persist_outputs,
)
from realtime.signal_engine.normalizer import NEW_YORK, daily_bars_from_dates
from stonks.config import get_settings
from stonks.db import get_engine
from stonks.db.migrate import current
from stonks.errors import StonksError
from stonks.redis_client import connect
from stonks.universe import DEFAULT_TRACKED, load_daily_bars

logger = logging.getLogger(__name__)


def _row(o: SignalOutput) -> str:
    h, p, x = o.heuristic, o.probabilistic, o.exits
    hv = f"{h.verdict:<6}{h.score:+.2f}/{h.confidence:.2f}" if h else "FAILED".ljust(16)
    pv = (f"{p.verdict:<6}{p.probability:.2f} {p.regime:<8}" if p else "FAILED".ljust(20))
    ev = f"{o.ev_r:+.2f}" if o.ev_r is not None else "  -  "
    exits = (f"{x.entry:8.2f} {x.stop_loss:8.2f} " + "/".join(f"{t:.2f}" for t in x.targets)
             if x else "-")
    return f"  {o.ticker:<7}{hv:<18}{pv:<22}{ev:>6}  {o.agreement:<9}{o.consensus:<6} {exits}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--universe", action="store_true", help="also summarise all tickers")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = get_settings()
    try:
        url = settings.effective_database_url
        if current(url) is None:
            raise StonksError(f"database {url} is not migrated: run `stonks db upgrade`")
        client = connect(settings=settings)
    except StonksError as exc:
        print(f"realtime demo: {exc} (start services with `stonks services up`)",
              file=sys.stderr)
        return 2
    started = time.perf_counter()
    wanted = None if args.universe else set(DEFAULT_TRACKED)
    bars = load_daily_bars(wanted)
    inputs = [
        inputs_from_daily(t, daily_bars_from_dates(b.dates, b.open, b.high, b.low, b.close,
                                                   b.volume))
        for t, b in sorted(bars.items())
    ]
    last_day = max(b.dates[-1] for b in bars.values())
    as_of = datetime.combine(last_day, datetime.min.time(), NEW_YORK).replace(hour=16, minute=1)
    with SignalEngine() as engine:
        outputs = engine.evaluate_batch(inputs, as_of, tick_id=f"demo-{last_day.isoformat()}")
    ids = persist_outputs(get_engine(url), outputs)
    AgreementRecorder(client, engine.config.agreement_window).record(outputs)
    tracked = [o for o in outputs if o.ticker in DEFAULT_TRACKED]
    print(f"signal engine verdicts as of {as_of:%Y-%m-%d %H:%M %Z} (sample daily bars; "
          "M30/H1/H4, valuation, macro and earnings UNKNOWN -> BUY capped at WATCH)")
    print(f"  {'ticker':<7}{'heuristic s/conf':<18}{'bayes p regime':<22}{'EV_R':>6}  "
          f"{'agree':<9}{'final':<6} {'entry':>8} {'stop':>8} targets")
    for output in tracked:
        print(_row(output))
    if args.universe:
        pairs = Counter((str(o.heuristic.verdict if o.heuristic else "FAILED"),
                         str(o.probabilistic.verdict if o.probabilistic else "FAILED"))
                        for o in outputs)
        agree = sum(o.agreement.value == "agree" for o in outputs)
        print(f"universe: {len(outputs)} tickers, pipelines agree on {agree}; "
              f"verdict pairs (heuristic, bayes): {dict(pairs)}")
    print(f"persisted {len(ids)} rows to signal_engine_outputs; agreement metrics in Redis "
          f"({time.perf_counter() - started:.1f} s)")
    db = get_engine(url)
    demo_trading.run(settings, db, client, sorted(DEFAULT_TRACKED))
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
