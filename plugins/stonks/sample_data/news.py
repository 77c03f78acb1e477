"""SAMPLE news articles shaped as Polygon ``/v2/reference/news`` results (invented text)."""

from __future__ import annotations

from typing import Any

from stonks.sample_data import SAMPLE_NOTICE

# (published_utc, tickers, publisher, title, description)
_ARTICLES: list[tuple[str, list[str], str, str, str]] = [
    ("2009-09-09T18:05:00Z", ["AAPL"], "Sample Wire",
     "Apple refreshes iPod line at September event",
     "Apple Inc. (NASDAQ: AAPL) showed new iPod nano models with a video camera. Analysts "
     "said the holiday quarter looks strong for Apple as music player prices fall."),
    ("2009-10-15T12:30:00Z", ["JPM"], "Sample Wire",
     "JPMorgan Chase returns to solid profit in third quarter",
     "JPMorgan Chase & Co. reported third-quarter earnings well above estimates as investment "
     "banking fees recovered. Credit card losses remained elevated, the bank said."),
    ("2009-10-22T21:10:00Z", ["AMZN"], "Sample Wire",
     "Amazon.com beats estimates on Kindle demand",
     "Amazon.com Inc reported revenue growth of 28 percent. Shares of AMZN jumped in late "
     "trading as the retailer raised its holiday outlook."),
    ("2009-11-12T14:00:00Z", ["WMT"], "Sample Wire",
     "Wal-Mart raises full-year forecast",
     "Wal-Mart Stores lifted its profit forecast as shoppers kept hunting for low prices. "
     "Walmart said grocery sales stayed firm while electronics lagged."),
    ("2009-12-10T16:45:00Z", ["XOM"], "Sample Wire",
     "Exxon Mobil agrees to buy gas producer in all-stock deal",
     "Exxon Mobil Corp. (NYSE: XOM) agreed to acquire a natural gas producer for about "
     "$41 billion in stock, betting on shale gas across the United States."),
    ("2010-01-12T13:20:00Z", ["GOOG"], "Sample Wire",
     "Google weighs exit from China after cyber attack",
     "Google Inc. said it may shut its China search site after an attack on its systems. "
     "The company said it will no longer censor results on google.cn."),
    ("2010-01-19T21:30:00Z", ["IBM"], "Sample Wire",
     "IBM fourth-quarter profit tops forecasts on services",
     "International Business Machines reported quarterly profit above estimates. IBM said "
     "its services backlog grew and it expects earnings of at least $11 a share in 2010."),
    ("2010-01-22T12:00:00Z", ["GE"], "Sample Wire",
     "General Electric earnings fall as finance arm shrinks",
     "General Electric Co. (NYSE: GE) posted lower fourth-quarter profit as GE Capital "
     "losses weighed. Industrial orders showed signs of stabilising."),
    ("2010-01-25T21:35:00Z", ["AAPL"], "Sample Wire",
     "Apple posts record quarter on iPhone and Mac sales",
     "Apple Inc. reported record revenue of $15.7 billion for its fiscal first quarter. "
     "AAPL shares rose 3% after hours as iPhone units grew 100% from a year earlier."),
    ("2010-01-25T22:10:00Z", ["AAPL"], "Sample Markets Daily",
     "Analysts lift Apple targets after blowout results",
     "Several brokers raised price targets on Apple after the results. One analyst said "
     "gross margin of 40.9% was the standout and called the stock a top pick."),
    ("2010-01-26T13:05:00Z", ["JNJ"], "Sample Wire",
     "Johnson & Johnson sees 2010 earnings below estimates",
     "Johnson & Johnson forecast 2010 earnings below analyst expectations, citing generic "
     "competition and health care reform uncertainty. JNJ shares slipped 1%."),
    ("2010-01-26T15:40:00Z", ["T", "VZ"], "Sample Markets Daily",
     "AT&T and Verizon trade barbs over network quality",
     "AT&T said its network investment is paying off, while rival Verizon Communications "
     "kept up its advertising campaign. Shares of T were flat."),
    ("2010-01-26T18:00:00Z", ["A"], "Sample Wire",
     "Agilent sees demand recovery in test equipment",
     "Agilent Technologies (NYSE: A) said orders for electronic test equipment improved in "
     "December. A spokesperson said a wider recovery is likely in the second half."),
    ("2010-01-27T19:30:00Z", ["AAPL"], "Sample Wire",
     "Apple unveils the iPad tablet",
     "Apple unveiled the iPad, a tablet computer priced from $499. Chief executive Steve Jobs "
     "called it a magical device. Apple stock fell 2% as some investors wanted more."),
    ("2010-01-27T20:15:00Z", ["AAPL", "AMZN"], "Sample Markets Daily",
     "iPad puts pressure on Amazon's Kindle",
     "The iPad enters a market that Amazon.com has led with the Kindle. Amazon shares slipped "
     "as analysts debated whether e-book prices will hold."),
    ("2010-01-27T22:00:00Z", ["MSFT"], "Sample Wire",
     "Microsoft expected to report strong Windows 7 sales",
     "Microsoft Corp. is expected to report rising revenue as Windows 7 sales ramp up. "
     "Investors will watch MSFT guidance for business software spending."),
    ("2010-01-28T12:15:00Z", ["ALL"], "Sample Wire",
     "Allstate swings to profit on investment gains",
     "Allstate Corp (NYSE: ALL) reported a fourth-quarter profit after a loss a year ago as "
     "investment losses shrank. All of its business lines reported better results."),
    ("2010-01-28T21:20:00Z", ["MSFT"], "Sample Wire",
     "Microsoft profit jumps 60% on Windows 7",
     "Microsoft reported fiscal second-quarter profit up 60% as Windows 7 sold strongly. "
     "MSFT shares rose in extended trading; revenue reached $19.0 billion."),
    # A syndicated copy of the story above, lightly edited: a near-duplicate on purpose.
    ("2010-01-28T21:50:00Z", ["MSFT"], "Sample Syndicate",
     "Microsoft profit jumps 60% on Windows 7",
     "Microsoft reported fiscal second-quarter profit up 60% as Windows 7 sold strongly. "
     "MSFT shares rose in extended trading; revenue reached $19 billion."),
    ("2010-01-28T21:45:00Z", ["AMZN"], "Sample Wire",
     "Amazon holiday sales beat forecasts, shares jump",
     "Amazon.com Inc said holiday-quarter revenue rose 42%, beating forecasts, and the "
     "Kindle was its best-selling item. AMZN shares rose 8% after the bell."),
    ("2010-01-28T23:00:00Z", ["GOOG", "MSFT"], "Sample Markets Daily",
     "Search rivals step up spending on mobile",
     "Google and Microsoft both increased spending on mobile search. Analysts said the "
     "advertising market is recovering faster than expected."),
    ("2010-01-29T13:40:00Z", ["XOM"], "Sample Wire",
     "Exxon Mobil fourth-quarter profit falls on weak refining",
     "Exxon Mobil reported lower profit as refining margins stayed weak, though output of "
     "oil and gas increased. XOM shares fell 1% in early trading."),
    ("2010-01-29T14:30:00Z", ["IT"], "Sample Markets Daily",
     "IT budgets set to grow in 2010, survey finds",
     "Corporate IT budgets will grow about 3% in 2010, a survey of chief information officers "
     "found. It said spending on servers and storage leads the recovery."),
    ("2010-01-29T15:10:00Z", ["F"], "Sample Wire",
     "Ford posts first annual profit in four years",
     "Ford Motor Co. (NYSE: F) reported its first full-year profit since 2005, helped by cost "
     "cuts and gains in market share. Ford said it expects to stay profitable in 2010."),
    ("2010-01-29T16:00:00Z", ["JPM", "C"], "Sample Markets Daily",
     "Bank stocks slide on proposed fee on large banks",
     "Shares of JPMorgan Chase and Citigroup fell after the administration proposed a fee on "
     "the largest banks. Analysts said the cost would be manageable."),
    ("2010-02-11T14:00:00Z", ["GOOG"], "Sample Wire",
     "Google plans ultra-fast broadband trial",
     "Google said it will build experimental fiber networks offering speeds of one gigabit "
     "per second in a few US cities. GOOG shares were little changed."),
    ("2010-03-03T15:00:00Z", ["GE"], "Sample Wire",
     "GE to sell security unit",
     "General Electric said it agreed to sell its security business as part of a plan to "
     "focus on infrastructure. GE shares rose 1%."),
    ("2010-04-14T12:00:00Z", ["JPM"], "Sample Wire",
     "JPMorgan first-quarter profit beats on trading",
     "JPMorgan Chase reported first-quarter profit above forecasts on strong trading results. "
     "JPM said consumer credit costs are starting to improve."),
    ("2010-04-20T21:30:00Z", ["AAPL"], "Sample Wire",
     "Apple profit up 90% on iPhone demand",
     "Apple reported fiscal second-quarter profit up 90% as iPhone sales nearly doubled. "
     "AAPL shares hit a record in after-hours trading."),
    ("2010-04-22T21:15:00Z", ["MSFT"], "Sample Wire",
     "Microsoft sales rise on business upgrades",
     "Microsoft reported higher sales as businesses upgraded PCs. Analysts said MSFT "
     "benefits from the corporate replacement cycle."),
    ("2010-05-06T19:00:00Z", ["WMT", "JNJ"], "Sample Markets Daily",
     "Defensive stocks hold up in sudden market drop",
     "Shares of Wal-Mart and Johnson & Johnson fell less than the market during a sudden "
     "afternoon sell-off in US stocks."),
    ("2010-06-07T18:30:00Z", ["AAPL"], "Sample Wire",
     "Apple introduces iPhone 4",
     "Apple introduced the iPhone 4 with a higher-resolution display and video calling. "
     "Pre-orders will start next week, the company said."),
    ("2010-07-19T21:00:00Z", ["IBM"], "Sample Wire",
     "IBM revenue misses estimates, shares drop",
     "IBM reported second-quarter revenue slightly below estimates as hardware sales slowed. "
     "IBM shares fell 4% in extended trading."),
    ("2010-07-22T21:20:00Z", ["AMZN"], "Sample Wire",
     "Amazon margins disappoint investors",
     "Amazon.com reported profit below expectations as it cut prices and invested in "
     "fulfilment. AMZN shares fell 9% after hours."),
    ("2010-07-30T13:30:00Z", ["XOM"], "Sample Wire",
     "Exxon profit nearly doubles on higher oil prices",
     "Exxon Mobil said second-quarter profit nearly doubled as oil prices rose. Production "
     "increased for the first time in a year."),
    ("2010-08-12T14:00:00Z", ["WMT"], "Sample Wire",
     "Wal-Mart tops estimates but US sales slip",
     "Wal-Mart Stores reported profit above estimates though US same-store sales fell for the "
     "fifth straight quarter. Walmart kept its forecast."),
]


def articles() -> list[dict[str, Any]]:
    """The sample articles as Polygon news results (dicts), oldest first."""
    result = []
    for number, (published, tickers, publisher, title, description) in enumerate(_ARTICLES, 1):
        result.append({
            "id": f"sample-news-{number:04d}",
            "publisher": {"name": publisher, "homepage_url": "https://example.invalid/"},
            "title": title,
            "author": "Sample Desk",
            "published_utc": published,
            "article_url": f"https://news.example.invalid/sample/{number:04d}",
            "tickers": tickers,
            "description": description,
            "keywords": ["sample"],
            "sample": True,
            "notice": SAMPLE_NOTICE,
        })
    return sorted(result, key=lambda a: str(a["published_utc"]))
