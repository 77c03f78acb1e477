"""The booking in two round trips (PostgreSQL): it writes what the transactional path
writes, and concurrent bookings of the same order or ticker stay consistent."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.broker import BrokerService, SimulatedBroker
from realtime.broker.base import BrokerOrder, Fill
from realtime.broker.ledger import (
    Booking,
    apply_broker_orders,
    book_broker_orders,
    update_account,
)
from realtime.broker.ledger_pg import book_and_account_pg
from realtime.sql import table_of
from stonks.config import Settings
from stonks.models.enums import OrderSide
from stonks.models.orders import BrokerAccount, Order, OrderEvent, OrderStatus
from stonks.models.portfolio import PortfolioSnapshot, Position

Results = Sequence[tuple[int, BrokerOrder, dict[str, Any] | None]]
AT = datetime(2010, 7, 27, 14, 30, tzinfo=UTC)


def _account(db: Engine, name: str) -> int:
    a = table_of(BrokerAccount)
    with db.begin() as conn:
        return int(conn.execute(sa.insert(a).values(
            name=name, broker="simulated", cash=Decimal(100_000), buying_power=Decimal(100_000),
            equity=Decimal(100_000), last_equity=Decimal(99_000), status="ACTIVE", raw={},
        ).returning(a.c.id)).scalar_one())


def _order(db: Engine, account_id: int, cid: str, ticker: str, side: str = "buy",
           qty: str = "10", sector: str | None = "Tech") -> int:
    o = table_of(Order)
    with db.begin() as conn:
        return int(conn.execute(sa.insert(o).values(
            client_order_id=cid, broker_account_id=account_id, ticker=ticker, side=side,
            quantity=Decimal(qty), status=OrderStatus.SUBMITTED.value,
            raw={"sector": sector, "origin": "test"},
        ).returning(o.c.id)).scalar_one())


def _view(cid: str, ticker: str, status: OrderStatus, fills: list[tuple[str, str, str]],
          side: OrderSide = OrderSide.BUY) -> BrokerOrder:
    """The broker's view: ``fills`` as (execution, cumulative quantity, average price)."""
    made = tuple(Fill(f"x-{execution}", Decimal(cumulative), Decimal(price), Decimal("0.01"),
                      AT + timedelta(seconds=n), Decimal(cumulative))
                 for n, (execution, cumulative, price) in enumerate(fills))
    filled = made[-1].cumulative_quantity if made else Decimal(0)
    return BrokerOrder(f"b-{cid[2:]}", cid, ticker, side, status, filled,
                       made[-1].price if made else None, fills=made,
                       raw={"id": f"b-{cid[2:]}", "qty": "10"})


def _slow(db: Engine, account_id: int, results: Results) -> Booking:
    with db.begin() as conn:
        booking = book_broker_orders(conn, results, status_events=True)
        if booking.booked:
            update_account(conn, account_id, booking.booked)
    return booking


def _fast(db: Engine, account_id: int, results: Results) -> Booking | None:
    with db.connect() as conn:
        return book_and_account_pg(conn.execution_options(isolation_level="AUTOCOMMIT"),
                                   account_id, results)


def _tables(db: Engine, account_id: int) -> dict[str, Any]:
    """The account's books without ids, account ids and the moments of writing."""
    o, e, p = table_of(Order), table_of(OrderEvent), table_of(Position)
    s, a = table_of(PortfolioSnapshot), table_of(BrokerAccount)
    with db.connect() as conn:
        cids = {r.id: r.client_order_id[2:] for r in conn.execute(
            sa.select(o.c.id, o.c.client_order_id).where(o.c.broker_account_id == account_id))}

        def rows(table: sa.Table, where: Any, drop: set[str], order: Any) -> list[dict[str, Any]]:
            out = []
            for r in conn.execute(sa.select(table).where(where).order_by(*order)):
                row = {k: v for k, v in r._mapping.items() if k not in drop}
                for key in ("order_id", "entry_order_id"):
                    if row.get(key) is not None:
                        row[key] = cids[row[key]]
                if str(row.get("client_order_id", ""))[1:2] == "-":
                    row["client_order_id"] = row["client_order_id"][2:]
                if str(row.get("event_key", "")).startswith("status:"):
                    row.pop("occurred_at")
                out.append(row)
            return out

        now = {"id", "broker_account_id", "created_at", "updated_at", "taken_at", "opened_at",
               "closed_at"}
        orders = rows(o, o.c.broker_account_id == account_id, now, [o.c.client_order_id])
        events = rows(e, e.c.order_id.in_(list(cids)), now, [e.c.order_id, e.c.event_key])
        events.sort(key=lambda r: (r["order_id"], r["event_key"]))
        return {
            "orders": orders, "events": events,
            "positions": rows(p, p.c.broker_account_id == account_id, now, [p.c.ticker]),
            "snapshots": rows(s, s.c.broker_account_id == account_id, now, [s.c.taken_at]),
            "account": rows(a, a.c.id == account_id, now | {"name"}, [a.c.id]),
        }


def _booked(booking: Booking | None) -> Any:
    assert booking is not None
    return ([(b.ticker, b.side, b.fill, b.realized_pl) for b in booking.booked],
            [{k: v for k, v in row.items()
              if k not in {"id", "broker_account_id", "created_at", "updated_at", "opened_at",
                           "closed_at", "entry_order_id", "reconciled_at", "company_id"}}
             for row in booking.positions])


def test_the_two_round_trip_booking_writes_what_the_transactional_path_writes(
    db: Engine,
) -> None:
    accounts = {"a": _account(db, "slow"), "b": _account(db, "fast")}
    steps: list[tuple[str, list[tuple[str, str, str, str, str | None]]]] = [
        # (path for account b, orders: (cid, ticker, side, qty, sector))
        ("fast", [("o1", "AAPL", "buy", "10", "Tech"), ("o2", "MSFT", "buy", "5", None)]),
        ("fast", [("o3", "AAPL", "buy", "3", "Tech")]),
        ("slow", [("o4", "MSFT", "sell", "5", None)]),
        ("fast", [("o5", "MSFT", "buy", "1", None), ("o6", "GE", "buy", "2", "Industrial")]),
    ]
    ids: dict[tuple[str, str], int] = {}
    for _, orders in steps:
        for cid, ticker, side, qty, sector in orders:
            for prefix, account_id in accounts.items():
                ids[prefix, cid] = _order(db, account_id, f"{prefix}-{cid}", ticker, side, qty,
                                          sector)

    def views(prefix: str, n: int) -> Results:
        exits: dict[str, Any] = {"stop_loss": 90.5, "targets": [120, 130.25],
                                 "trailing_atr_multiple": 2.5, "trailing_stop": 95}
        c = f"{prefix}-"
        batches: list[Results] = [
            [(ids[prefix, "o1"], _view(c + "o1", "AAPL", OrderStatus.FILLED,
                                       [("o1", "10", "100.5")]), exits),
             (ids[prefix, "o2"], _view(c + "o2", "MSFT", OrderStatus.PARTIALLY_FILLED,
                                       [("o2a", "2", "50")]), None)],
            # o2 completes (reported cumulatively, the first fill again), o1's accepted
            # view arrives late, o1's fill is replayed, o3 opens on top of o1.
            [(ids[prefix, "o2"], _view(c + "o2", "MSFT", OrderStatus.FILLED,
                                       [("o2a", "2", "50"), ("o2b", "5", "51")]), None),
             (ids[prefix, "o1"], _view(c + "o1", "AAPL", OrderStatus.SUBMITTED, []), None),
             (ids[prefix, "o1"], _view(c + "o1", "AAPL", OrderStatus.FILLED,
                                       [("o1", "10", "100.5")]), exits),
             (ids[prefix, "o3"], _view(c + "o3", "AAPL", OrderStatus.FILLED,
                                       [("o3", "3", "110.125")]), {"stop_loss": 99})],
            [(ids[prefix, "o4"], _view(c + "o4", "MSFT", OrderStatus.FILLED,
                                       [("o4", "5", "55")], OrderSide.SELL), None)],
            # a closed position opens again, a new one in another sector, a repeat
            [(ids[prefix, "o5"], _view(c + "o5", "MSFT", OrderStatus.FILLED,
                                       [("o5", "1", "60")]), None),
             (ids[prefix, "o6"], _view(c + "o6", "GE", OrderStatus.FILLED,
                                       [("o6", "2", "15.5")]), exits),
             (ids[prefix, "o6"], _view(c + "o6", "GE", OrderStatus.FILLED,
                                       [("o6", "2", "15.5")]), exits)],
        ]
        return batches[n]

    for n, (path, _) in enumerate(steps):
        slow = _slow(db, accounts["a"], views("a", n))
        fast = (_fast(db, accounts["b"], views("b", n)) if path == "fast"
                else _slow(db, accounts["b"], views("b", n)))
        assert _booked(fast) == _booked(slow)
        assert _tables(db, accounts["b"]) == _tables(db, accounts["a"])
    books = _tables(db, accounts["b"])
    assert [(r["ticker"], r["status"], r["quantity"]) for r in books["positions"]] == [
        ("AAPL", "open", Decimal(13)), ("GE", "open", Decimal(2)), ("MSFT", "open", Decimal(1))]
    assert len(books["snapshots"]) == 4
    assert books["snapshots"][-1]["sector_exposure"].keys() == {"Tech", "Industrial", "unknown"}
    # replaying everything books nothing more and moves no order back
    before = _tables(db, accounts["b"])
    for n in (0, 1, 3):
        assert _booked(_fast(db, accounts["b"], views("b", n)))[0] == []
    after = _tables(db, accounts["b"])
    assert after["positions"] == before["positions"] and after["account"] == before["account"]
    assert [r["status"] for r in after["orders"]] == ["filled"] * 6


def _in_transaction(conn: sa.Connection) -> bool:
    return not conn.exec_driver_sql(
        "SELECT xact_start = query_start FROM pg_stat_activity WHERE pid = pg_backend_pid()"
    ).scalar_one()


def _held(db: Engine) -> tuple[sa.Connection, sa.Transaction]:
    conn = db.connect()
    return conn, conn.begin()


def _position(db: Engine) -> Any:
    [position] = list(db.connect().execute(sa.select(table_of(Position))).all())
    return position


def _fills(db: Engine) -> list[str]:
    e = table_of(OrderEvent)
    with db.connect() as conn:
        return sorted(conn.execute(sa.select(e.c.event_key).where(
            e.c.event_key.like("fill:%"))).scalars())


def test_a_first_fill_racing_another_workers_first_fill_on_the_ticker_falls_back_and_adds_up(
    db: Engine, settings: Settings, client: redis.Redis,
) -> None:
    account = _account(db, "race")
    first_id, second_id = _order(db, account, "r-c1", "AAPL"), _order(db, account, "r-c2",
                                                                      "AAPL", qty="5")
    conn, transaction = _held(db)  # another worker opened AAPL and has not committed
    apply_broker_orders(conn, [(first_id, _view("r-c1", "AAPL", OrderStatus.FILLED,
                                                [("c1", "10", "100")]), None)])
    second = [(second_id, _view("r-c2", "AAPL", OrderStatus.FILLED, [("c2", "5", "110")]),
               None)]
    outcome: list[Booking | BaseException | None] = []
    fast = db.connect().execution_options(isolation_level="AUTOCOMMIT")

    def book() -> None:
        try:
            outcome.append(book_and_account_pg(fast, account, second))
        except BaseException as exc:  # reported by the assertion below
            outcome.append(exc)

    worker = threading.Thread(target=book)
    worker.start()
    time.sleep(0.5)
    assert worker.is_alive()  # its insert of the position waits on the uncommitted one
    transaction.commit()
    conn.close()
    worker.join(10)
    assert outcome == [None]  # it wrote nothing and left no transaction open
    assert not _in_transaction(fast)
    fast.close()
    assert _fills(db) == ["fill:x-c1"]
    service = BrokerService(db, client, settings, SimulatedBroker(client, "race", settings),
                            account, "race")
    service.apply_many(second)  # the service books it on the transactional path then
    position = _position(db)
    assert position.quantity == Decimal(15)
    assert position.cost_basis == Decimal("1550.02")  # 10 x 100 + 5 x 110 + two fees
    assert _fills(db) == ["fill:x-c1", "fill:x-c2"]


def test_a_booking_waiting_on_another_one_books_on_top_of_it(db: Engine) -> None:
    account = _account(db, "wait")
    first_id, second_id = _order(db, account, "w-c1", "AAPL"), _order(db, account, "w-c2",
                                                                      "AAPL", qty="5")
    conn, transaction = _held(db)
    booked = apply_broker_orders(conn, [(first_id, _view("w-c1", "AAPL", OrderStatus.FILLED,
                                                         [("c1", "10", "100")]), None)])
    update_account(conn, account, booked)  # holds the account too
    outcome: list[Booking | None] = []
    worker = threading.Thread(target=lambda: outcome.append(_fast(db, account, [
        (second_id, _view("w-c2", "AAPL", OrderStatus.FILLED, [("c2", "5", "110")]), None)])))
    worker.start()
    time.sleep(0.5)
    assert worker.is_alive()
    transaction.commit()
    conn.close()
    worker.join(10)
    [booking] = outcome
    assert booking is not None and len(booking.booked) == 1
    position = _position(db)
    assert position.quantity == Decimal(15) and position.cost_basis == Decimal("1550.02")
    a = table_of(BrokerAccount)
    with db.connect() as c:
        cash = c.execute(sa.select(a.c.cash).where(a.c.id == account)).scalar_one()
    assert cash == Decimal(100_000) - Decimal("1550.02")


def test_the_same_fill_booked_from_two_connections_at_once_is_booked_once(db: Engine) -> None:
    account = _account(db, "twice")
    order_id = _order(db, account, "t-c1", "AAPL")
    filled = [(order_id, _view("t-c1", "AAPL", OrderStatus.FILLED, [("c1", "10", "100")]),
               None)]
    conn, transaction = _held(db)  # the stream's booking, not committed yet
    assert len(apply_broker_orders(conn, filled)) == 1
    outcome: list[Booking | None] = []
    worker = threading.Thread(target=lambda: outcome.append(_fast(db, account, filled)))
    worker.start()
    time.sleep(0.5)
    assert worker.is_alive()  # waits on the order's lock
    transaction.commit()
    conn.close()
    worker.join(10)
    [booking] = outcome
    assert booking is not None and booking.booked == []
    # two fast bookings at once: one of them books it
    other = _order(db, account, "t-c2", "MSFT")
    again = [(other, _view("t-c2", "MSFT", OrderStatus.FILLED, [("c2", "4", "10")]), None)]
    results: list[Booking | None] = []
    start = threading.Barrier(2)

    def race() -> None:
        start.wait()
        results.append(_fast(db, account, again))

    workers = [threading.Thread(target=race) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(10)
    assert sorted(len(b.booked) for b in results if b is not None) == [0, 1]
    assert _fills(db) == ["fill:x-c1", "fill:x-c2"]
    p = table_of(Position)
    with db.connect() as c:
        assert sorted(tuple(r) for r in c.execute(sa.select(p.c.ticker, p.c.quantity))) == [
            ("AAPL", Decimal(10)), ("MSFT", Decimal(4))]


def test_a_booking_whose_statements_the_session_lost_prepares_them_again_and_books(
    db: Engine,
) -> None:
    account = _account(db, "lost")
    first, second = _order(db, account, "l-c1", "AAPL"), _order(db, account, "l-c2", "AAPL")
    with db.connect() as conn:
        fast = conn.execution_options(isolation_level="AUTOCOMMIT")
        booked = book_and_account_pg(fast, account, [(first, _view(
            "l-c1", "AAPL", OrderStatus.FILLED, [("l1", "10", "100")]), None)])
        assert booked is not None and len(booked.booked) == 1
        # behind the booking's back: the read (inside its transaction) is gone
        fast.exec_driver_sql("DEALLOCATE stonks_booking_read")
        booked = book_and_account_pg(fast, account, [(second, _view(
            "l-c2", "AAPL", OrderStatus.FILLED, [("l2", "5", "110")]), None)])
        assert booked is not None and len(booked.booked) == 1
        assert not _in_transaction(fast)
    assert _fills(db) == ["fill:x-l1", "fill:x-l2"]
    assert _position(db).quantity == Decimal(15)


def test_the_prepared_intents_write_what_the_transactional_path_writes(db: Engine) -> None:
    from realtime.broker.intents import Gated, write_intents_pg, write_intents_tx
    from realtime.messages import BrokerOrderJob
    from stonks.models.risk import RiskEvaluation

    account = _account(db, "intents")
    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)

    def batch(prefix: str) -> list[tuple[BrokerOrderJob, Gated]]:
        out = []
        for n, status in enumerate([OrderStatus.SUBMITTING, OrderStatus.REJECTED,
                                    OrderStatus.PENDING_APPROVAL]):
            job = BrokerOrderJob(client_order_id=f"{prefix}-i{n}", broker_account_id=account,
                                 ticker="AAPL", side=OrderSide.BUY, quantity=Decimal("1.5"),
                                 reference_price=Decimal("250.25"), as_of=AT, origin_at=at,
                                 exits={"sector": "Tech", "stop_loss": 240.5})
            gated = Gated(status=status, evaluation={
                "scope": "order", "approved": status is not OrderStatus.REJECTED,
                "checks": {"buying_power": {"passed": True, "value": "375.38"}},
                "reasons": [] if status is not OrderStatus.REJECTED else ["too big"],
                "evaluated_at": at})
            if status is OrderStatus.REJECTED:
                gated.reject_reason = "risk: too big"
                gated.events.append(("risk_rejected", "rejected", status,
                                     {"reasons": ["too big"]}))
            elif status is OrderStatus.PENDING_APPROVAL:
                gated.events.append(("pending_approval", "pending_approval", status, {}))
            else:
                gated.submitted_at = at
            out.append((job, gated))
        return out

    with db.begin() as conn:
        slow = write_intents_tx(conn, account, batch("a"), [])
    with db.connect() as conn:
        autocommit = conn.execution_options(isolation_level="AUTOCOMMIT")
        fast = write_intents_pg(autocommit, account, batch("b"))
        again = write_intents_pg(autocommit, account, batch("b"))
    assert len(slow) == len(fast) == 3 and again == {}  # written once per client_order_id
    o, e, r = table_of(Order), table_of(OrderEvent), table_of(RiskEvaluation)
    drop = {"id", "created_at", "updated_at", "order_id"}

    def rows(prefix: str) -> list[Any]:
        with db.connect() as conn:
            orders = conn.execute(sa.select(o).where(o.c.client_order_id.like(f"{prefix}-%"))
                                  .order_by(o.c.client_order_id)).all()
            out = []
            for order in orders:
                events = conn.execute(sa.select(e).where(e.c.order_id == order.id)
                                      .order_by(e.c.id)).all()
                evaluations = conn.execute(sa.select(r).where(r.c.order_id == order.id)).all()
                out.append((
                    {k: v for k, v in order._mapping.items() if k not in drop | {
                        "client_order_id"}},
                    [{k: v for k, v in x._mapping.items() if k not in drop} for x in events],
                    [{k: v for k, v in x._mapping.items() if k not in drop}
                     for x in evaluations]))
            return out

    assert rows("b") == rows("a")
    kinds = [[event["event_key"] for event in events] for _, events, _ in rows("b")]
    assert kinds == [["intent"], ["intent", "risk_rejected"], ["intent", "pending_approval"]]


def test_a_fill_is_booked_on_our_ticker_whatever_symbol_the_broker_reports(db: Engine) -> None:
    account = _account(db, "symbols")
    first, second = _order(db, account, "y-c1", "BRK.B"), _order(db, account, "y-c2", "BRK.B")
    for order_id, cid in ((first, "y-c1"), (second, "y-c2")):  # opens, then moves it
        booking = _fast(db, account, [(order_id, _view(cid, "BRK/B", OrderStatus.FILLED,
                                                       [(cid, "2", "300")]), None)])
        assert booking is not None and [b.ticker for b in booking.booked] == ["BRK.B"]
    position = _position(db)
    assert (position.ticker, position.quantity) == ("BRK.B", Decimal(4))
