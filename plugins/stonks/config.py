"""Settings: one object read from ``STONKS_*`` environment variables.

With nothing set the system runs **embedded** on one machine: a SQLite file, a real
redis-server the CLI starts on a unix socket, and a lake folder, all under ``STONKS_HOME``
(``.stonks`` in the working directory). ``STONKS_MODE=production`` demands real services:
a PostgreSQL URL, a Redis URL and an object store with credentials; anything missing or
malformed stops start-up with one message naming the variable.
"""

from __future__ import annotations

import functools
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from stonks.errors import ConfigurationError

ENV_PREFIX = "STONKS_"

# The trading universe of the embedded default: liquid large caps across sectors.
DEFAULT_TRACKED_TICKERS = ("AAPL", "MSFT", "GOOG", "AMZN", "JPM", "XOM", "JNJ", "WMT", "IBM", "GE")


class Mode(StrEnum):
    EMBEDDED = "embedded"
    PRODUCTION = "production"


def _check_url(value: str | None, variable: str, schemes: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in schemes:
        shown = value.split("@")[-1]  # never echo credentials
        allowed = " or ".join(schemes)
        raise ValueError(f"{variable} must be a URL with scheme {allowed}, got {shown!r}")
    # libpq takes a Unix-domain socket directory as ``?host=/dir`` with an empty host part.
    socket_dir = scheme == "postgresql" and parse_qs(parts.query).get("host", [""])[0][:1] == "/"
    if (scheme in {"postgresql", "redis", "rediss", "http", "https"} and not parts.hostname
            and not socket_dir):
        raise ValueError(f"{variable} has no host: {value.split('@')[-1]!r}")
    return value


class Settings(BaseSettings):
    """Every setting of the system; field ``x`` is read from ``STONKS_X``."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    mode: Mode = Mode.EMBEDDED
    home: Path = Field(default=Path(".stonks"), description="Embedded state directory.")
    log_level: str = "INFO"

    database_url: str | None = None
    redis_url: str | None = None

    lake_path: Path | None = None
    object_store_endpoint_url: str | None = None
    object_store_bucket: str | None = None
    object_store_access_key_id: SecretStr | None = None
    object_store_secret_access_key: SecretStr | None = None
    object_store_region: str = "us-east-1"

    # Queue library: at-least-once delivery with bounded retries.
    queue_visibility_timeout_s: float = Field(default=30.0, gt=0)
    queue_max_deliveries: int = Field(default=5, ge=1)
    queue_retry_base_s: float = Field(default=0.5, gt=0)
    queue_retry_max_s: float = Field(default=60.0, gt=0)
    queue_batch_size: int = Field(default=100, ge=1, le=10_000)
    queue_block_ms: int = Field(default=1000, ge=1)

    # Signal engine (dual pipeline). Weights and thresholds are the desk's knobs.
    dual_pipeline_enabled: bool = True
    signal_bars_window: int = Field(default=300, ge=50, le=5000)
    signal_timeframe_weights: dict[str, float] = Field(
        default_factory=lambda: {"M30": 0.05, "H1": 0.10, "H4": 0.15, "D": 0.30, "W": 0.25,
                                 "M": 0.15}
    )
    signal_weights: dict[str, float] = Field(
        default_factory=lambda: {"fibonacci": 1.0, "ma_stack": 1.5, "rsi": 1.0,
                                 "cup_handle": 0.8, "elliott": 0.7}
    )
    signal_heuristic_buy_score: float = Field(default=0.30, gt=0, le=1)
    signal_heuristic_watch_score: float = Field(default=0.10, ge=0, le=1)
    signal_heuristic_min_confidence: float = Field(default=0.55, ge=0, le=1)
    signal_regime_priors: dict[str, float] = Field(
        default_factory=lambda: {"bull": 0.55, "sideways": 0.45, "bear": 0.35}
    )
    signal_bayes_buy_probability: float = Field(default=0.60, gt=0, lt=1)
    signal_bayes_skip_probability: float = Field(default=0.45, gt=0, lt=1)
    signal_bayes_max_entropy: float = Field(default=0.96, gt=0, le=1)
    signal_bayes_min_ev_r: float = Field(default=0.15)
    signal_bayes_correlation_penalty: float = Field(default=0.5, ge=0, le=1)
    signal_earnings_blackout_days: int = Field(default=5, ge=0)
    signal_macro_min_bias: float = Field(default=-0.3, ge=-1, le=1)
    signal_max_relative_pe: float = Field(default=2.5, gt=0)
    signal_unknown_filter_blocks_buy: bool = True
    signal_atr_stop_multiple: float = Field(default=2.0, gt=0)
    signal_trailing_atr_multiple: float = Field(default=3.0, gt=0)
    signal_r_targets: tuple[float, ...] = (2.0, 3.0)
    signal_agreement_window: int = Field(default=100, ge=1)

    # Sources (issue 5). A live adapter is used when its endpoint is configured (a Polygon
    # key, an SEC User-Agent, macro feed URLs); otherwise the sample adapter replays bundled
    # data.
    polygon_api_key: SecretStr | None = None
    polygon_base_url: str = "https://api.polygon.io"
    polygon_requests_per_s: float = Field(default=5.0, gt=0)
    polygon_intraday_minutes: int = Field(default=5, ge=1, le=60)
    sec_user_agent: str | None = Field(
        default=None, description="SEC-required 'Company Name admin@example.com'."
    )
    sec_base_url: str = "https://data.sec.gov"
    sec_archives_url: str = "https://www.sec.gov"
    sec_requests_per_s: float = Field(default=10.0, gt=0, le=10.0)
    macro_feed_urls: list[str] = Field(default_factory=list)
    macro_requests_per_s: float = Field(default=2.0, gt=0)
    http_connect_timeout_s: float = Field(default=5.0, gt=0)
    http_read_timeout_s: float = Field(default=20.0, gt=0)
    http_max_attempts: int = Field(default=4, ge=1, le=10)
    http_backoff_base_s: float = Field(default=0.5, ge=0)
    http_backoff_max_s: float = Field(default=30.0, gt=0)
    tracked_tickers: list[str] = Field(default_factory=lambda: list(DEFAULT_TRACKED_TICKERS))
    # Ingestion and parsing (issue 5).
    dedupe_ttl_s: int = Field(default=14 * 24 * 3600, ge=60)
    parse_batch_size: int = Field(default=200, ge=1, le=5000)
    parse_lease_s: float = Field(default=300.0, gt=0)
    parse_max_attempts: int = Field(default=3, ge=1)
    # Real-time tier (issue 7): broker, risk limits, sizing, notifications.
    broker: str = Field(default="simulated", pattern="^(simulated|alpaca)$")
    broker_account_name: str | None = Field(
        default=None, description="broker_accounts.name; default '<broker>-paper'."
    )
    alpaca_api_key_id: SecretStr | None = None
    alpaca_secret_key: SecretStr | None = None
    alpaca_base_url: str = "https://paper-api.alpaca.markets"
    alpaca_stream_url: str | None = Field(
        default=None,
        description="trade_updates websocket; default: STONKS_ALPACA_BASE_URL as ws(s)://…/stream.",
    )
    broker_timeout_s: float = Field(default=10.0, gt=0)
    broker_poll_interval_s: float = Field(default=2.0, gt=0)
    simulated_starting_cash: float = Field(default=100_000.0, gt=0)
    simulated_slippage_bps: float = Field(default=5.0, ge=0)
    simulated_fee_per_share: float = Field(default=0.0, ge=0)
    simulated_max_volume_participation: float = Field(default=1.0, gt=0)
    fundamentals_path: Path | None = Field(
        default=None, description="JSON of valuation and next earnings per ticker."
    )
    trading_mode: str = Field(default="paper", pattern="^(paper|live|advisory)$")
    trading_clock: str = Field(
        default="event", pattern="^(event|wall)$",
        description="'event': gates use the triggering event's market time (replay).",
    )
    trading_watermark_poll_s: float = Field(default=5.0, gt=0)
    thesis_sweep_interval_s: float = Field(default=300.0, gt=0)
    rec_dedup_ttl_s: int = Field(default=300, ge=0)
    rec_cooldown_s: int = Field(default=3600, ge=0)
    rec_min_price: float = Field(default=5.0, ge=0)
    rec_min_avg_volume: float = Field(default=1_000.0, ge=0)
    rec_max_data_age_days: int = Field(default=4, ge=0)
    risk_max_position_fraction: float = Field(default=0.05, gt=0, le=1)
    risk_max_sector_fraction: float = Field(default=0.25, gt=0, le=1)
    risk_max_positions: int = Field(default=20, ge=1)
    risk_daily_loss_limit_fraction: float = Field(default=0.02, gt=0, le=1)
    risk_max_drawdown_fraction: float = Field(default=0.10, gt=0, le=1)
    risk_max_consecutive_losses: int = Field(default=5, ge=1)
    risk_kelly_fraction: float = Field(default=0.25, gt=0, le=1)
    risk_min_confidence: float = Field(default=0.5, ge=0, le=1)
    risk_max_correlation: float = Field(default=0.8, ge=0, le=1)
    risk_earnings_blackout_days: int = Field(default=2, ge=0)
    risk_no_entry_after_open_minutes: int = Field(default=15, ge=0)
    risk_no_entry_before_close_minutes: int = Field(default=15, ge=0)
    risk_min_order_notional: float = Field(default=1.0, ge=0)
    risk_approval_threshold_notional: float | None = Field(default=None, gt=0)
    risk_initial_tier: str = "standard"
    risk_reserve_sweep_fraction: float = Field(default=0.25, ge=0, le=1)
    notify_sms_numbers: list[str] = Field(default_factory=list)
    notify_email_to: list[str] = Field(default_factory=list)
    notify_sns_topic_arn: str | None = None
    notify_rate_per_minute: int = Field(default=10, ge=1)
    sns_endpoint_url: str | None = None
    sns_region: str = "us-east-1"
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "stonks@localhost"
    smtp_starttls: bool = True
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    smtp_ca_file: Path | None = Field(default=None, description="CA bundle for STARTTLS.")
    sns_timeout_s: float = Field(default=5.0, gt=0)
    realtime_api_host: str = "127.0.0.1"
    realtime_api_port: int = Field(default=8000, ge=1, le=65535)
    # Signal extraction (issue 6). No LLM configured = the embedded lexicon extractor.
    llm_provider: str = Field(default="none", pattern="^(none|ollama|openai)$")
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(default=60.0, gt=0)
    llm_connect_timeout_s: float = Field(default=5.0, gt=0)
    llm_max_attempts: int = Field(default=3, ge=1, le=10)
    llm_backoff_base_s: float = Field(default=0.5, ge=0)
    llm_max_output_tokens: int = Field(default=1024, ge=64)
    llm_token_budget_per_run: int = Field(default=200_000, ge=0)
    extraction_batch_size: int = Field(default=20, ge=1, le=1000)
    extraction_lease_s: float = Field(default=600.0, gt=0)
    extraction_max_attempts: int = Field(default=3, ge=1)

    @field_validator("database_url")
    @classmethod
    def _database_url_is_sql(cls, value: str | None) -> str | None:
        return _check_url(value, "STONKS_DATABASE_URL", ("postgresql", "sqlite"))

    @field_validator("redis_url")
    @classmethod
    def _redis_url_is_redis(cls, value: str | None) -> str | None:
        return _check_url(value, "STONKS_REDIS_URL", ("redis", "rediss", "unix"))

    @field_validator("llm_base_url")
    @classmethod
    def _llm_url_is_http(cls, value: str | None) -> str | None:
        return _check_url(value, "STONKS_LLM_BASE_URL", ("http", "https"))

    @field_validator("object_store_endpoint_url")
    @classmethod
    def _endpoint_is_http(cls, value: str | None) -> str | None:
        return _check_url(value, "STONKS_OBJECT_STORE_ENDPOINT_URL", ("http", "https"))

    @model_validator(mode="after")
    def _production_needs_real_services(self) -> Settings:
        if self.mode is not Mode.PRODUCTION:
            return self
        required = {
            "STONKS_DATABASE_URL": self.database_url,
            "STONKS_REDIS_URL": self.redis_url,
            "STONKS_OBJECT_STORE_BUCKET": self.object_store_bucket,
            "STONKS_OBJECT_STORE_ACCESS_KEY_ID": self.object_store_access_key_id,
            "STONKS_OBJECT_STORE_SECRET_ACCESS_KEY": self.object_store_secret_access_key,
        }
        missing = [name for name, value in required.items() if not value]
        if missing:
            raise ValueError(f"production mode requires {', '.join(missing)}")
        if self.database_url and not self.database_url.startswith("postgresql"):
            raise ValueError("STONKS_DATABASE_URL must be a postgresql:// URL in production mode")
        return self

    @field_validator("alpaca_base_url", "polygon_base_url", "sec_base_url", "sec_archives_url")
    @classmethod
    def _provider_url_is_http(cls, value: str, info: ValidationInfo) -> str:
        variable = f"{ENV_PREFIX}{str(info.field_name).upper()}"
        return _check_url(value, variable, ("http", "https")) or value

    @field_validator("alpaca_stream_url")
    @classmethod
    def _stream_url_is_ws(cls, value: str | None) -> str | None:
        return _check_url(value, f"{ENV_PREFIX}ALPACA_STREAM_URL", ("ws", "wss"))

    @model_validator(mode="after")
    def _alpaca_needs_keys(self) -> Settings:
        if self.broker == "alpaca":
            missing = [
                name
                for name, value in (
                    ("STONKS_ALPACA_API_KEY_ID", self.alpaca_api_key_id),
                    ("STONKS_ALPACA_SECRET_KEY", self.alpaca_secret_key),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"STONKS_BROKER=alpaca requires {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _llm_needs_an_endpoint(self) -> Settings:
        if self.llm_provider != "none" and not (self.llm_base_url and self.llm_model):
            raise ValueError(f"STONKS_LLM_PROVIDER={self.llm_provider} requires "
                             "STONKS_LLM_BASE_URL and STONKS_LLM_MODEL")
        return self

    @property
    def is_embedded(self) -> bool:
        return self.mode is Mode.EMBEDDED

    @property
    def home_dir(self) -> Path:
        return self.home.resolve()

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home_dir / 'stonks.db'}"

    @property
    def embedded_redis_dir(self) -> Path:
        return self.home_dir / "redis"

    @property
    def uses_embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def effective_redis_url(self) -> str:
        return self.redis_url or f"unix://{self.embedded_redis_dir / 'redis.sock'}?db=0"

    @property
    def effective_lake_path(self) -> Path:
        return (self.lake_path or self.home_dir / "lake").resolve()


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"])
        variable = f"{ENV_PREFIX}{field.upper()}" if field else "settings"
        message = str(item["msg"]).removeprefix("Value error, ")
        lines.append(message if ENV_PREFIX in message else f"{variable}: {message}")
    return "invalid configuration: " + "; ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment; a problem raises ConfigurationError naming it."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc)) from None


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
