"""Initial schema: all 34 tables of the operational database.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 03:05:12+00:00

Generated with autogenerate against an empty PostgreSQL database, then reviewed. Custom
column types render as the plain types they store as (migrations/env.py ``render_item``),
so this file imports nothing from ``stonks``. Every constraint and index has the name the
naming convention in ``stonks.models.types`` gives it; ``downgrade`` drops everything in
reverse dependency order.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ai_agents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ai_agents')),
    sa.UniqueConstraint('key', name=op.f('uq_ai_agents_key'))
    )
    op.create_table('broker_accounts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('broker', sa.String(length=16), nullable=False),
    sa.Column('environment', sa.String(length=8), nullable=False),
    sa.Column('external_account_id', sa.String(length=128), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('cash', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('buying_power', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('equity', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('last_equity', sa.Numeric(precision=20, scale=4), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('reconciliation_status', sa.String(length=16), nullable=False),
    sa.Column('reconciled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.CheckConstraint("broker IN ('alpaca', 'simulated')", name=op.f('ck_broker_accounts_broker')),
    sa.CheckConstraint("environment IN ('paper', 'live')", name=op.f('ck_broker_accounts_environment')),
    sa.CheckConstraint("reconciliation_status IN ('unreconciled', 'reconciled', 'mismatch')", name=op.f('ck_broker_accounts_reconciliation_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broker_accounts')),
    sa.UniqueConstraint('name', name=op.f('uq_broker_accounts_name'))
    )
    op.create_table('companies',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('cik', sa.String(length=10), nullable=True),
    sa.Column('exchange', sa.String(length=16), nullable=True),
    sa.Column('sector', sa.String(length=100), nullable=True),
    sa.Column('industry', sa.String(length=150), nullable=True),
    sa.Column('tracked', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_companies')),
    sa.UniqueConstraint('ticker', name=op.f('uq_companies_ticker'))
    )
    op.create_index('ix_companies_cik', 'companies', ['cik'], unique=False)
    op.create_index('ix_companies_sector', 'companies', ['sector'], unique=False)
    op.create_index('ix_companies_tracked', 'companies', ['tracked'], unique=False)
    op.create_table('risk_configs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('max_position_fraction', sa.Numeric(precision=12, scale=6), nullable=False),
    sa.Column('max_sector_fraction', sa.Numeric(precision=12, scale=6), nullable=False),
    sa.Column('max_positions', sa.Integer(), nullable=False),
    sa.Column('daily_loss_limit_fraction', sa.Numeric(precision=12, scale=6), nullable=False),
    sa.Column('max_drawdown_fraction', sa.Numeric(precision=12, scale=6), nullable=False),
    sa.Column('max_consecutive_losses', sa.Integer(), nullable=False),
    sa.Column('kelly_multiplier', sa.Numeric(precision=12, scale=6), nullable=False),
    sa.Column('min_confidence', sa.Double(), nullable=False),
    sa.Column('max_correlation', sa.Double(), nullable=False),
    sa.Column('earnings_blackout_days', sa.Integer(), nullable=False),
    sa.Column('no_entry_after_open_minutes', sa.Integer(), nullable=False),
    sa.Column('no_entry_before_close_minutes', sa.Integer(), nullable=False),
    sa.Column('approval_threshold_notional', sa.Numeric(precision=20, scale=4), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_configs')),
    sa.UniqueConstraint('name', name=op.f('uq_risk_configs_name'))
    )
    op.create_table('sources',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('base_url', sa.String(length=500), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.CheckConstraint("kind IN ('news', 'filings', 'macro', 'market_bars')", name=op.f('ck_sources_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sources')),
    sa.UniqueConstraint('key', name=op.f('uq_sources_key'))
    )
    op.create_table('trading_reports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('period_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('html_object_key', sa.String(length=1024), nullable=True),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('daily', 'weekly', 'monthly', 'adhoc')", name=op.f('ck_trading_reports_kind')),
    sa.CheckConstraint("status IN ('pending', 'generated', 'sent', 'failed')", name=op.f('ck_trading_reports_status')),
    sa.CheckConstraint('period_end > period_start', name=op.f('ck_trading_reports_period_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trading_reports')),
    sa.UniqueConstraint('kind', 'period_start', 'period_end', name=op.f('uq_trading_reports_kind_period_start_period_end'))
    )
    op.create_table('agent_variants',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('agent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('model_name', sa.String(length=200), nullable=False),
    sa.Column('prompt_template', sa.Text(), nullable=True),
    sa.Column('prompt_hash', sa.String(length=64), nullable=True),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('weight', sa.Double(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.CheckConstraint('weight >= 0', name=op.f('ck_agent_variants_weight_non_negative')),
    sa.ForeignKeyConstraint(['agent_id'], ['ai_agents.id'], name=op.f('fk_agent_variants_agent_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_variants')),
    sa.UniqueConstraint('agent_id', 'name', name=op.f('uq_agent_variants_agent_id_name'))
    )
    op.create_table('circuit_breaker_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('broker_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('breaker', sa.String(length=32), nullable=False),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('observed_value', sa.Numeric(precision=12, scale=6), nullable=True),
    sa.Column('threshold', sa.Numeric(precision=12, scale=6), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=128), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.CheckConstraint("breaker IN ('daily_loss', 'consecutive_losses', 'drawdown', 'manual')", name=op.f('ck_circuit_breaker_events_breaker')),
    sa.CheckConstraint("event IN ('tripped', 'reset')", name=op.f('ck_circuit_breaker_events_event')),
    sa.ForeignKeyConstraint(['broker_account_id'], ['broker_accounts.id'], name=op.f('fk_circuit_breaker_events_broker_account_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_circuit_breaker_events'))
    )
    op.create_index('ix_circuit_breaker_events_breaker_occurred_at', 'circuit_breaker_events', ['breaker', 'occurred_at'], unique=False)
    op.create_index(op.f('ix_circuit_breaker_events_broker_account_id'), 'circuit_breaker_events', ['broker_account_id'], unique=False)
    op.create_table('company_aliases',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('alias', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ambiguous', sa.Boolean(), nullable=False),
    sa.CheckConstraint("kind IN ('ticker', 'name', 'short_name', 'former_name', 'product', 'person')", name=op.f('ck_company_aliases_kind')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_company_aliases_company_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_company_aliases')),
    sa.UniqueConstraint('company_id', 'alias', name=op.f('uq_company_aliases_company_id_alias'))
    )
    op.create_index('ix_company_aliases_alias', 'company_aliases', ['alias'], unique=False)
    op.create_table('competitor_relationships',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('competitor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('strength', sa.Double(), nullable=False),
    sa.Column('co_movement', sa.Double(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.CheckConstraint("kind IN ('same_industry', 'explicit', 'co_movement', 'supplier', 'customer')", name=op.f('ck_competitor_relationships_kind')),
    sa.CheckConstraint('company_id <> competitor_id', name=op.f('ck_competitor_relationships_not_self')),
    sa.CheckConstraint('strength IS NULL OR (strength >= 0 AND strength <= 1)', name=op.f('ck_competitor_relationships_strength_range')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_competitor_relationships_company_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['competitor_id'], ['companies.id'], name=op.f('fk_competitor_relationships_competitor_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competitor_relationships')),
    sa.UniqueConstraint('company_id', 'competitor_id', name=op.f('uq_competitor_relationships_company_id_competitor_id'))
    )
    op.create_index(op.f('ix_competitor_relationships_competitor_id'), 'competitor_relationships', ['competitor_id'], unique=False)
    op.create_table('exposure_profiles',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sector', sa.String(length=100), nullable=True),
    sa.Column('industry', sa.String(length=150), nullable=True),
    sa.Column('home_region', sa.String(length=64), nullable=False),
    sa.Column('region_exposures', sa.JSON(), nullable=False),
    sa.Column('sector_sensitivities', sa.JSON(), nullable=False),
    sa.Column('commodity_sensitivities', sa.JSON(), nullable=False),
    sa.Column('rate_sensitivity', sa.Double(), nullable=False),
    sa.Column('fx_sensitivity', sa.Double(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_exposure_profiles_company_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exposure_profiles')),
    sa.UniqueConstraint('company_id', name=op.f('uq_exposure_profiles_company_id'))
    )
    op.create_table('ingestion_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('source_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('items_fetched', sa.Integer(), nullable=False),
    sa.Column('items_stored', sa.Integer(), nullable=False),
    sa.Column('items_duplicate', sa.Integer(), nullable=False),
    sa.Column('dag_run_id', sa.String(length=250), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.CheckConstraint("status IN ('running', 'succeeded', 'failed', 'skipped')", name=op.f('ck_ingestion_runs_status')),
    sa.CheckConstraint('window_end > window_start', name=op.f('ck_ingestion_runs_window_order')),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_ingestion_runs_source_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingestion_runs')),
    sa.UniqueConstraint('source_id', 'window_start', 'window_end', name=op.f('uq_ingestion_runs_source_id_window_start_window_end'))
    )
    op.create_index('ix_ingestion_runs_status_window_start', 'ingestion_runs', ['status', 'window_start'], unique=False)
    op.create_table('portfolio_snapshots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('broker_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cash', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('equity', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('positions_value', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('buying_power', sa.Numeric(precision=20, scale=4), nullable=True),
    sa.Column('unrealized_pl', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('realized_pl_day', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('day_pl', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('high_water_mark', sa.Numeric(precision=20, scale=4), nullable=True),
    sa.Column('drawdown', sa.Numeric(precision=12, scale=6), nullable=True),
    sa.Column('open_positions', sa.Integer(), nullable=False),
    sa.Column('sector_exposure', sa.JSON(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['broker_account_id'], ['broker_accounts.id'], name=op.f('fk_portfolio_snapshots_broker_account_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portfolio_snapshots')),
    sa.UniqueConstraint('broker_account_id', 'taken_at', name=op.f('uq_portfolio_snapshots_broker_account_id_taken_at'))
    )
    op.create_index('ix_portfolio_snapshots_taken_at', 'portfolio_snapshots', ['taken_at'], unique=False)
    op.create_table('risk_tier_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('broker_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tier', sa.String(length=32), nullable=False),
    sa.Column('previous_tier', sa.String(length=32), nullable=True),
    sa.Column('change', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('limits', sa.JSON(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("change IN ('initial', 'promoted', 'demoted', 'manual')", name=op.f('ck_risk_tier_history_change')),
    sa.ForeignKeyConstraint(['broker_account_id'], ['broker_accounts.id'], name=op.f('fk_risk_tier_history_broker_account_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_tier_history')),
    sa.UniqueConstraint('broker_account_id', 'effective_from', name=op.f('uq_risk_tier_history_broker_account_id_effective_from'))
    )
    op.create_table('signal_engine_outputs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tick_id', sa.String(length=64), nullable=True),
    sa.Column('heuristic_verdict', sa.String(length=8), nullable=True),
    sa.Column('heuristic_score', sa.Double(), nullable=True),
    sa.Column('heuristic_confidence', sa.Double(), nullable=True),
    sa.Column('heuristic_error', sa.Text(), nullable=True),
    sa.Column('probabilistic_verdict', sa.String(length=8), nullable=True),
    sa.Column('probability', sa.Double(), nullable=True),
    sa.Column('log_odds', sa.Double(), nullable=True),
    sa.Column('entropy', sa.Double(), nullable=True),
    sa.Column('ev_r', sa.Double(), nullable=True),
    sa.Column('regime', sa.String(length=16), nullable=True),
    sa.Column('probabilistic_error', sa.Text(), nullable=True),
    sa.Column('pipelines_agree', sa.Boolean(), nullable=True),
    sa.Column('entry_price', sa.Numeric(precision=20, scale=8), nullable=True),
    sa.Column('stop_loss', sa.Numeric(precision=20, scale=8), nullable=True),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('trailing_atr_multiple', sa.Double(), nullable=True),
    sa.Column('failed_filters', sa.JSON(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.CheckConstraint("heuristic_verdict IN ('BUY', 'WATCH', 'SKIP')", name=op.f('ck_signal_engine_outputs_heuristic_verdict')),
    sa.CheckConstraint("probabilistic_verdict IN ('BUY', 'WATCH', 'SKIP')", name=op.f('ck_signal_engine_outputs_probabilistic_verdict')),
    sa.CheckConstraint("regime IN ('bull', 'bear', 'sideways')", name=op.f('ck_signal_engine_outputs_regime')),
    sa.CheckConstraint('heuristic_confidence IS NULL OR (heuristic_confidence >= 0 AND heuristic_confidence <= 1)', name=op.f('ck_signal_engine_outputs_heuristic_confidence_range')),
    sa.CheckConstraint('probability IS NULL OR (probability >= 0 AND probability <= 1)', name=op.f('ck_signal_engine_outputs_probability_range')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_signal_engine_outputs_company_id'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signal_engine_outputs')),
    sa.UniqueConstraint('ticker', 'evaluated_at', name=op.f('uq_signal_engine_outputs_ticker_evaluated_at'))
    )
    op.create_index(op.f('ix_signal_engine_outputs_company_id'), 'signal_engine_outputs', ['company_id'], unique=False)
    op.create_index('ix_signal_engine_outputs_evaluated_at', 'signal_engine_outputs', ['evaluated_at'], unique=False)
    op.create_table('trend_history',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('window_label', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Double(), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('confidence', sa.Double(), nullable=False),
    sa.Column('signal_count', sa.Integer(), nullable=False),
    sa.Column('layer_scores', sa.JSON(), nullable=False),
    sa.Column('contradiction', sa.Boolean(), nullable=False),
    sa.Column('contradiction_score', sa.Double(), nullable=False),
    sa.Column('last_signal_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint("direction IN ('bullish', 'bearish', 'neutral')", name=op.f('ck_trend_history_direction')),
    sa.CheckConstraint('confidence IS NULL OR (confidence >= 0 AND confidence <= 1)', name=op.f('ck_trend_history_confidence_range')),
    sa.CheckConstraint('contradiction_score IS NULL OR (contradiction_score >= 0 AND contradiction_score <= 1)', name=op.f('ck_trend_history_contradiction_score_range')),
    sa.CheckConstraint('score IS NULL OR (score >= -1 AND score <= 1)', name=op.f('ck_trend_history_score_range')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_trend_history_company_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trend_history')),
    sa.UniqueConstraint('ticker', 'window_label', 'computed_at', name=op.f('uq_trend_history_ticker_window_label_computed_at'))
    )
    op.create_index(op.f('ix_trend_history_company_id'), 'trend_history', ['company_id'], unique=False)
    op.create_index('ix_trend_history_ticker_computed_at', 'trend_history', ['ticker', 'computed_at'], unique=False)
    op.create_table('trend_projections',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('window_label', sa.String(length=16), nullable=False),
    sa.Column('horizon', sa.String(length=16), nullable=False),
    sa.Column('projected_score', sa.Double(), nullable=False),
    sa.Column('projected_direction', sa.String(length=16), nullable=False),
    sa.Column('confidence', sa.Double(), nullable=False),
    sa.Column('method', sa.String(length=64), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('projected_for', sa.DateTime(timezone=True), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.CheckConstraint("projected_direction IN ('bullish', 'bearish', 'neutral')", name=op.f('ck_trend_projections_projected_direction')),
    sa.CheckConstraint('confidence IS NULL OR (confidence >= 0 AND confidence <= 1)', name=op.f('ck_trend_projections_confidence_range')),
    sa.CheckConstraint('projected_score IS NULL OR (projected_score >= -1 AND projected_score <= 1)', name=op.f('ck_trend_projections_projected_score_range')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_trend_projections_company_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trend_projections')),
    sa.UniqueConstraint('ticker', 'window_label', 'horizon', 'computed_at', name=op.f('uq_trend_projections_ticker_window_label_horizon_computed_at'))
    )
    op.create_index(op.f('ix_trend_projections_company_id'), 'trend_projections', ['company_id'], unique=False)
    op.create_index('ix_trend_projections_ticker_computed_at', 'trend_projections', ['ticker', 'computed_at'], unique=False)
    op.create_table('trend_windows',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('window_label', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Double(), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('confidence', sa.Double(), nullable=False),
    sa.Column('signal_count', sa.Integer(), nullable=False),
    sa.Column('layer_scores', sa.JSON(), nullable=False),
    sa.Column('contradiction', sa.Boolean(), nullable=False),
    sa.Column('contradiction_score', sa.Double(), nullable=False),
    sa.Column('last_signal_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.CheckConstraint("direction IN ('bullish', 'bearish', 'neutral')", name=op.f('ck_trend_windows_direction')),
    sa.CheckConstraint('confidence IS NULL OR (confidence >= 0 AND confidence <= 1)', name=op.f('ck_trend_windows_confidence_range')),
    sa.CheckConstraint('contradiction_score IS NULL OR (contradiction_score >= 0 AND contradiction_score <= 1)', name=op.f('ck_trend_windows_contradiction_score_range')),
    sa.CheckConstraint('score IS NULL OR (score >= -1 AND score <= 1)', name=op.f('ck_trend_windows_score_range')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_trend_windows_company_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trend_windows')),
    sa.UniqueConstraint('ticker', 'window_label', name=op.f('uq_trend_windows_ticker_window_label'))
    )
    op.create_index(op.f('ix_trend_windows_company_id'), 'trend_windows', ['company_id'], unique=False)
    op.create_table('documents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ingestion_run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=True),
    sa.Column('url', sa.String(length=2048), nullable=True),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('author', sa.String(length=255), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('raw_object_key', sa.String(length=1024), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('provider_data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('route', sa.String(length=16), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('word_count', sa.Integer(), nullable=True),
    sa.Column('quality_score', sa.Double(), nullable=True),
    sa.Column('duplicate_of_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('lease_owner', sa.String(length=128), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('parsed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('news', 'filing', 'macro')", name=op.f('ck_documents_kind')),
    sa.CheckConstraint("route IN ('extraction', 'macro')", name=op.f('ck_documents_route')),
    sa.CheckConstraint("status IN ('ingested', 'parsing', 'parsed', 'extracting', 'extracted', 'failed', 'skipped')", name=op.f('ck_documents_status')),
    sa.CheckConstraint('quality_score IS NULL OR (quality_score >= 0 AND quality_score <= 1)', name=op.f('ck_documents_quality_score_range')),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['documents.id'], name=op.f('fk_documents_duplicate_of_id'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ingestion_run_id'], ['ingestion_runs.id'], name=op.f('fk_documents_ingestion_run_id'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_documents_source_id'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('content_hash', name=op.f('uq_documents_content_hash'))
    )
    op.create_index(op.f('ix_documents_duplicate_of_id'), 'documents', ['duplicate_of_id'], unique=False)
    op.create_index(op.f('ix_documents_ingestion_run_id'), 'documents', ['ingestion_run_id'], unique=False)
    op.create_index('ix_documents_published_at', 'documents', ['published_at'], unique=False)
    op.create_index('ix_documents_source_id_external_id', 'documents', ['source_id', 'external_id'], unique=False)
    op.create_index('ix_documents_status_published_at', 'documents', ['status', 'published_at'], unique=False)
    op.create_table('recommendations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('signal_output_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('confidence', sa.Double(), nullable=False),
    sa.Column('probability', sa.Double(), nullable=True),
    sa.Column('payoff_ratio', sa.Double(), nullable=True),
    sa.Column('ev_r', sa.Double(), nullable=True),
    sa.Column('trend_score', sa.Double(), nullable=True),
    sa.Column('contradiction', sa.Boolean(), nullable=False),
    sa.Column('entry_price', sa.Numeric(precision=20, scale=8), nullable=True),
    sa.Column('stop_loss', sa.Numeric(precision=20, scale=8), nullable=True),
    sa.Column('take_profit', sa.Numeric(precision=20, scale=8), nullable=True),
    sa.Column('time_horizon', sa.String(length=16), nullable=True),
    sa.Column('thesis', sa.Text(), nullable=True),
    sa.Column('thesis_source', sa.String(length=32), nullable=True),
    sa.Column('suppression_reason', sa.Text(), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('eligibility', sa.JSON(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.CheckConstraint("action IN ('buy', 'sell', 'hold', 'watch')", name=op.f('ck_recommendations_action')),
    sa.CheckConstraint("direction IN ('bullish', 'bearish', 'neutral')", name=op.f('ck_recommendations_direction')),
    sa.CheckConstraint("mode IN ('paper', 'live', 'advisory')", name=op.f('ck_recommendations_mode')),
    sa.CheckConstraint("status IN ('active', 'suppressed', 'ineligible', 'acted', 'expired')", name=op.f('ck_recommendations_status')),
    sa.CheckConstraint('confidence IS NULL OR (confidence >= 0 AND confidence <= 1)', name=op.f('ck_recommendations_confidence_range')),
    sa.CheckConstraint('probability IS NULL OR (probability >= 0 AND probability <= 1)', name=op.f('ck_recommendations_probability_range')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_recommendations_company_id'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['signal_output_id'], ['signal_engine_outputs.id'], name=op.f('fk_recommendations_signal_output_id'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recommendations')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_recommendations_idempotency_key'))
    )
    op.create_index(op.f('ix_recommendations_company_id'), 'recommendations', ['company_id'], unique=False)
    op.create_index(op.f('ix_recommendations_signal_output_id'), 'recommendations', ['signal_output_id'], unique=False)
    op.create_index('ix_recommendations_status_created_at', 'recommendations', ['status', 'created_at'], unique=False)
    op.create_index('ix_recommendations_ticker_created_at', 'recommendations', ['ticker', 'created_at'], unique=False)
    op.create_table('agent_performance_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('agent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('variant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('model_name', sa.String(length=200), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('latency_ms', sa.Double(), nullable=False),
    sa.Column('prompt_tokens', sa.Integer(), nullable=True),
    sa.Column('completion_tokens', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.CheckConstraint("outcome IN ('valid', 'repaired', 'invalid', 'timeout', 'error', 'budget_exhausted')", name=op.f('ck_agent_performance_log_outcome')),
    sa.ForeignKeyConstraint(['agent_id'], ['ai_agents.id'], name=op.f('fk_agent_performance_log_agent_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_agent_performance_log_document_id'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['variant_id'], ['agent_variants.id'], name=op.f('fk_agent_performance_log_variant_id'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_performance_log'))
    )
    op.create_index('ix_agent_performance_log_agent_id_occurred_at', 'agent_performance_log', ['agent_id', 'occurred_at'], unique=False)
    op.create_index(op.f('ix_agent_performance_log_document_id'), 'agent_performance_log', ['document_id'], unique=False)
    op.create_index('ix_agent_performance_log_variant_id_occurred_at', 'agent_performance_log', ['variant_id', 'occurred_at'], unique=False)
    op.create_table('document_company_mentions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('mention_count', sa.Integer(), nullable=False),
    sa.Column('matched_aliases', sa.JSON(), nullable=False),
    sa.Column('first_offset', sa.Integer(), nullable=True),
    sa.Column('confidence', sa.Double(), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('confidence IS NULL OR (confidence >= 0 AND confidence <= 1)', name=op.f('ck_document_company_mentions_confidence_range')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_document_company_mentions_company_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_company_mentions_document_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_company_mentions')),
    sa.UniqueConstraint('document_id', 'company_id', name=op.f('uq_document_company_mentions_document_id_company_id'))
    )
    op.create_index(op.f('ix_document_company_mentions_company_id'), 'document_company_mentions', ['company_id'], unique=False)
    op.create_index('ix_document_company_mentions_ticker_published_at', 'document_company_mentions', ['ticker', 'published_at'], unique=False)
    op.create_table('document_impact_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('magnitude', sa.Double(), nullable=False),
    sa.Column('confidence', sa.Double(), nullable=False),
    sa.Column('horizon', sa.String(length=16), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('agent_variant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('model_name', sa.String(length=200), nullable=False),
    sa.Column('prompt_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sentiment', sa.Double(), nullable=True),
    sa.Column('event_types', sa.JSON(), nullable=False),
    sa.Column('rationale', sa.Text(), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.CheckConstraint("direction IN ('bullish', 'bearish', 'neutral')", name=op.f('ck_document_impact_records_direction')),
    sa.CheckConstraint("horizon IN ('intraday', 'short', 'medium', 'long')", name=op.f('ck_document_impact_records_horizon')),
    sa.CheckConstraint('confidence IS NULL OR (confidence >= 0 AND confidence <= 1)', name=op.f('ck_document_impact_records_confidence_range')),
    sa.CheckConstraint('magnitude IS NULL OR (magnitude >= 0 AND magnitude <= 1)', name=op.f('ck_document_impact_records_magnitude_range')),
    sa.CheckConstraint('sentiment IS NULL OR (sentiment >= -1 AND sentiment <= 1)', name=op.f('ck_document_impact_records_sentiment_range')),
    sa.ForeignKeyConstraint(['agent_variant_id'], ['agent_variants.id'], name=op.f('fk_document_impact_records_agent_variant_id'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_document_impact_records_company_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_impact_records_document_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_impact_records')),
    sa.UniqueConstraint('document_id', 'company_id', name=op.f('uq_document_impact_records_document_id_company_id'))
    )
    op.create_index(op.f('ix_document_impact_records_agent_variant_id'), 'document_impact_records', ['agent_variant_id'], unique=False)
    op.create_index(op.f('ix_document_impact_records_company_id'), 'document_impact_records', ['company_id'], unique=False)
    op.create_index('ix_document_impact_records_ticker_published_at', 'document_impact_records', ['ticker', 'published_at'], unique=False)
    op.create_table('document_intelligence',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('agent_variant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('model_name', sa.String(length=200), nullable=False),
    sa.Column('prompt_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('extractor', sa.String(length=32), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('sentiment', sa.Double(), nullable=False),
    sa.Column('confidence', sa.Double(), nullable=False),
    sa.Column('event_types', sa.JSON(), nullable=False),
    sa.Column('output', sa.JSON(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('confidence IS NULL OR (confidence >= 0 AND confidence <= 1)', name=op.f('ck_document_intelligence_confidence_range')),
    sa.CheckConstraint('sentiment IS NULL OR (sentiment >= -1 AND sentiment <= 1)', name=op.f('ck_document_intelligence_sentiment_range')),
    sa.ForeignKeyConstraint(['agent_variant_id'], ['agent_variants.id'], name=op.f('fk_document_intelligence_agent_variant_id'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_intelligence_document_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_intelligence')),
    sa.UniqueConstraint('document_id', name=op.f('uq_document_intelligence_document_id'))
    )
    op.create_index(op.f('ix_document_intelligence_agent_variant_id'), 'document_intelligence', ['agent_variant_id'], unique=False)
    op.create_table('global_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('agent_variant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('model_name', sa.String(length=200), nullable=False),
    sa.Column('prompt_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('severity', sa.Double(), nullable=False),
    sa.Column('confidence', sa.Double(), nullable=False),
    sa.Column('affected_sectors', sa.JSON(), nullable=False),
    sa.Column('affected_commodities', sa.JSON(), nullable=False),
    sa.Column('affected_regions', sa.JSON(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('output', sa.JSON(), nullable=False),
    sa.CheckConstraint("direction IN ('bullish', 'bearish', 'neutral')", name=op.f('ck_global_events_direction')),
    sa.CheckConstraint('confidence IS NULL OR (confidence >= 0 AND confidence <= 1)', name=op.f('ck_global_events_confidence_range')),
    sa.CheckConstraint('severity IS NULL OR (severity >= 0 AND severity <= 1)', name=op.f('ck_global_events_severity_range')),
    sa.ForeignKeyConstraint(['agent_variant_id'], ['agent_variants.id'], name=op.f('fk_global_events_agent_variant_id'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_global_events_document_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_global_events')),
    sa.UniqueConstraint('document_id', 'event_type', 'region', name=op.f('uq_global_events_document_id_event_type_region'))
    )
    op.create_index(op.f('ix_global_events_agent_variant_id'), 'global_events', ['agent_variant_id'], unique=False)
    op.create_index(op.f('ix_global_events_document_id'), 'global_events', ['document_id'], unique=False)
    op.create_index('ix_global_events_event_type_occurred_at', 'global_events', ['event_type', 'occurred_at'], unique=False)
    op.create_index('ix_global_events_occurred_at', 'global_events', ['occurred_at'], unique=False)
    op.create_table('recommendation_evidence',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('recommendation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('reference_id', sa.BigInteger(), nullable=False),
    sa.Column('document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('layer', sa.String(length=16), nullable=True),
    sa.Column('weight', sa.Double(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.CheckConstraint("kind IN ('document', 'document_impact', 'macro_impact', 'competitive_signal', 'trend_window', 'signal_engine_output')", name=op.f('ck_recommendation_evidence_kind')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_recommendation_evidence_document_id'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recommendation_id'], ['recommendations.id'], name=op.f('fk_recommendation_evidence_recommendation_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recommendation_evidence')),
    sa.UniqueConstraint('recommendation_id', 'kind', 'reference_id', name=op.f('uq_recommendation_evidence_recommendation_id_kind_reference_id'))
    )
    op.create_index(op.f('ix_recommendation_evidence_document_id'), 'recommendation_evidence', ['document_id'], unique=False)
    op.create_table('trading_decisions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('decision_key', sa.String(length=128), nullable=False),
    sa.Column('recommendation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('broker_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('side', sa.String(length=4), nullable=False),
    sa.Column('outcome', sa.String(length=8), nullable=False),
    sa.Column('blocked_by', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=20, scale=8), nullable=True),
    sa.Column('notional', sa.Numeric(precision=20, scale=4), nullable=True),
    sa.Column('reference_price', sa.Numeric(precision=20, scale=8), nullable=True),
    sa.Column('kelly_fraction', sa.Numeric(precision=12, scale=6), nullable=True),
    sa.Column('risk_tier', sa.String(length=32), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('gate_results', sa.JSON(), nullable=False),
    sa.Column('sizing', sa.JSON(), nullable=False),
    sa.CheckConstraint("outcome IN ('act', 'skip')", name=op.f('ck_trading_decisions_outcome')),
    sa.CheckConstraint("side IN ('buy', 'sell')", name=op.f('ck_trading_decisions_side')),
    sa.CheckConstraint("trigger IN ('recommendation', 'exit', 'manual')", name=op.f('ck_trading_decisions_trigger')),
    sa.ForeignKeyConstraint(['broker_account_id'], ['broker_accounts.id'], name=op.f('fk_trading_decisions_broker_account_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_trading_decisions_company_id'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recommendation_id'], ['recommendations.id'], name=op.f('fk_trading_decisions_recommendation_id'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trading_decisions')),
    sa.UniqueConstraint('decision_key', name=op.f('uq_trading_decisions_decision_key')),
    sa.UniqueConstraint('recommendation_id', name=op.f('uq_trading_decisions_recommendation_id'))
    )
    op.create_index(op.f('ix_trading_decisions_broker_account_id'), 'trading_decisions', ['broker_account_id'], unique=False)
    op.create_index(op.f('ix_trading_decisions_company_id'), 'trading_decisions', ['company_id'], unique=False)
    op.create_index('ix_trading_decisions_ticker_decided_at', 'trading_decisions', ['ticker', 'decided_at'], unique=False)
    op.create_table('competitive_signal_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('magnitude', sa.Double(), nullable=False),
    sa.Column('confidence', sa.Double(), nullable=False),
    sa.Column('horizon', sa.String(length=16), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('source_impact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source_company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source_ticker', sa.String(length=16), nullable=False),
    sa.Column('document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('relationship_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decay', sa.Double(), nullable=False),
    sa.Column('pattern_score', sa.Double(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.CheckConstraint("direction IN ('bullish', 'bearish', 'neutral')", name=op.f('ck_competitive_signal_records_direction')),
    sa.CheckConstraint("horizon IN ('intraday', 'short', 'medium', 'long')", name=op.f('ck_competitive_signal_records_horizon')),
    sa.CheckConstraint('confidence IS NULL OR (confidence >= 0 AND confidence <= 1)', name=op.f('ck_competitive_signal_records_confidence_range')),
    sa.CheckConstraint('decay IS NULL OR (decay >= 0 AND decay <= 1)', name=op.f('ck_competitive_signal_records_decay_range')),
    sa.CheckConstraint('magnitude IS NULL OR (magnitude >= 0 AND magnitude <= 1)', name=op.f('ck_competitive_signal_records_magnitude_range')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_competitive_signal_records_company_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_competitive_signal_records_document_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['relationship_id'], ['competitor_relationships.id'], name=op.f('fk_competitive_signal_records_relationship_id'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_company_id'], ['companies.id'], name=op.f('fk_competitive_signal_records_source_company_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_impact_id'], ['document_impact_records.id'], name=op.f('fk_competitive_signal_records_source_impact_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_competitive_signal_records')),
    sa.UniqueConstraint('source_impact_id', 'company_id', name=op.f('uq_competitive_signal_records_source_impact_id_company_id'))
    )
    op.create_index(op.f('ix_competitive_signal_records_company_id'), 'competitive_signal_records', ['company_id'], unique=False)
    op.create_index(op.f('ix_competitive_signal_records_document_id'), 'competitive_signal_records', ['document_id'], unique=False)
    op.create_index(op.f('ix_competitive_signal_records_relationship_id'), 'competitive_signal_records', ['relationship_id'], unique=False)
    op.create_index(op.f('ix_competitive_signal_records_source_company_id'), 'competitive_signal_records', ['source_company_id'], unique=False)
    op.create_index('ix_competitive_signal_records_ticker_published_at', 'competitive_signal_records', ['ticker', 'published_at'], unique=False)
    op.create_table('macro_impact_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('magnitude', sa.Double(), nullable=False),
    sa.Column('confidence', sa.Double(), nullable=False),
    sa.Column('horizon', sa.String(length=16), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('exposure_score', sa.Double(), nullable=False),
    sa.Column('components', sa.JSON(), nullable=False),
    sa.CheckConstraint("direction IN ('bullish', 'bearish', 'neutral')", name=op.f('ck_macro_impact_records_direction')),
    sa.CheckConstraint("horizon IN ('intraday', 'short', 'medium', 'long')", name=op.f('ck_macro_impact_records_horizon')),
    sa.CheckConstraint('confidence IS NULL OR (confidence >= 0 AND confidence <= 1)', name=op.f('ck_macro_impact_records_confidence_range')),
    sa.CheckConstraint('magnitude IS NULL OR (magnitude >= 0 AND magnitude <= 1)', name=op.f('ck_macro_impact_records_magnitude_range')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_macro_impact_records_company_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['global_events.id'], name=op.f('fk_macro_impact_records_event_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_macro_impact_records')),
    sa.UniqueConstraint('event_id', 'company_id', name=op.f('uq_macro_impact_records_event_id_company_id'))
    )
    op.create_index(op.f('ix_macro_impact_records_company_id'), 'macro_impact_records', ['company_id'], unique=False)
    op.create_index('ix_macro_impact_records_ticker_published_at', 'macro_impact_records', ['ticker', 'published_at'], unique=False)
    op.create_table('orders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('client_order_id', sa.String(length=64), nullable=False),
    sa.Column('broker_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('decision_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('side', sa.String(length=4), nullable=False),
    sa.Column('order_type', sa.String(length=16), nullable=False),
    sa.Column('time_in_force', sa.String(length=4), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=20, scale=8), nullable=True),
    sa.Column('notional', sa.Numeric(precision=20, scale=4), nullable=True),
    sa.Column('limit_price', sa.Numeric(precision=20, scale=8), nullable=True),
    sa.Column('stop_price', sa.Numeric(precision=20, scale=8), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('broker_order_id', sa.String(length=128), nullable=True),
    sa.Column('filled_quantity', sa.Numeric(precision=20, scale=8), nullable=False),
    sa.Column('filled_avg_price', sa.Numeric(precision=20, scale=8), nullable=True),
    sa.Column('fees', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('requires_approval', sa.Boolean(), nullable=False),
    sa.Column('approved_by', sa.String(length=128), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reject_reason', sa.Text(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('filled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('canceled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('raw', sa.JSON(), nullable=False),
    sa.CheckConstraint("order_type IN ('market', 'limit', 'stop', 'stop_limit', 'trailing_stop')", name=op.f('ck_orders_order_type')),
    sa.CheckConstraint("side IN ('buy', 'sell')", name=op.f('ck_orders_side')),
    sa.CheckConstraint("source IN ('recommendation', 'exit', 'manual')", name=op.f('ck_orders_source')),
    sa.CheckConstraint("status IN ('intent', 'pending_approval', 'submitting', 'unknown', 'submitted', 'partially_filled', 'filled', 'pending_cancel', 'canceled', 'expired', 'rejected')", name=op.f('ck_orders_status')),
    sa.CheckConstraint("time_in_force IN ('day', 'gtc', 'ioc', 'fok', 'opg', 'cls')", name=op.f('ck_orders_time_in_force')),
    sa.CheckConstraint('filled_quantity >= 0', name=op.f('ck_orders_filled_quantity_non_negative')),
    sa.CheckConstraint('quantity IS NOT NULL OR notional IS NOT NULL', name=op.f('ck_orders_quantity_or_notional')),
    sa.ForeignKeyConstraint(['broker_account_id'], ['broker_accounts.id'], name=op.f('fk_orders_broker_account_id'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['decision_id'], ['trading_decisions.id'], name=op.f('fk_orders_decision_id'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('broker_account_id', 'broker_order_id', name=op.f('uq_orders_broker_account_id_broker_order_id')),
    sa.UniqueConstraint('client_order_id', name=op.f('uq_orders_client_order_id'))
    )
    op.create_index(op.f('ix_orders_broker_account_id'), 'orders', ['broker_account_id'], unique=False)
    op.create_index(op.f('ix_orders_decision_id'), 'orders', ['decision_id'], unique=False)
    op.create_index('ix_orders_status', 'orders', ['status'], unique=False)
    op.create_index('ix_orders_ticker_created_at', 'orders', ['ticker', 'created_at'], unique=False)
    op.create_table('order_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_key', sa.String(length=128), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('status_after', sa.String(length=32), nullable=True),
    sa.Column('fill_quantity', sa.Numeric(precision=20, scale=8), nullable=True),
    sa.Column('fill_price', sa.Numeric(precision=20, scale=8), nullable=True),
    sa.Column('fee', sa.Numeric(precision=20, scale=4), nullable=True),
    sa.Column('cumulative_quantity', sa.Numeric(precision=20, scale=8), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.CheckConstraint("status_after IN ('intent', 'pending_approval', 'submitting', 'unknown', 'submitted', 'partially_filled', 'filled', 'pending_cancel', 'canceled', 'expired', 'rejected')", name=op.f('ck_order_events_status_after')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_events_order_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_events')),
    sa.UniqueConstraint('order_id', 'event_key', name=op.f('uq_order_events_order_id_event_key'))
    )
    op.create_index('ix_order_events_occurred_at', 'order_events', ['occurred_at'], unique=False)
    op.create_table('positions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('broker_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('company_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('ticker', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=20, scale=8), nullable=False),
    sa.Column('avg_entry_price', sa.Numeric(precision=20, scale=8), nullable=True),
    sa.Column('cost_basis', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('market_price', sa.Numeric(precision=20, scale=8), nullable=True),
    sa.Column('market_value', sa.Numeric(precision=20, scale=4), nullable=True),
    sa.Column('unrealized_pl', sa.Numeric(precision=20, scale=4), nullable=True),
    sa.Column('realized_pl', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('sector', sa.String(length=100), nullable=True),
    sa.Column('stop_loss', sa.Numeric(precision=20, scale=8), nullable=True),
    sa.Column('take_profit', sa.Numeric(precision=20, scale=8), nullable=True),
    sa.Column('trailing_atr_multiple', sa.Double(), nullable=True),
    sa.Column('trailing_stop', sa.Numeric(precision=20, scale=8), nullable=True),
    sa.Column('high_water_price', sa.Numeric(precision=20, scale=8), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('entry_order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('reconciled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_positions_status')),
    sa.ForeignKeyConstraint(['broker_account_id'], ['broker_accounts.id'], name=op.f('fk_positions_broker_account_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_positions_company_id'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['entry_order_id'], ['orders.id'], name=op.f('fk_positions_entry_order_id'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_positions')),
    sa.UniqueConstraint('broker_account_id', 'ticker', name=op.f('uq_positions_broker_account_id_ticker'))
    )
    op.create_index(op.f('ix_positions_company_id'), 'positions', ['company_id'], unique=False)
    op.create_index(op.f('ix_positions_entry_order_id'), 'positions', ['entry_order_id'], unique=False)
    op.create_index('ix_positions_status', 'positions', ['status'], unique=False)
    op.create_table('reserve_pool_ledger',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('broker_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('balance_after', sa.Numeric(precision=20, scale=4), nullable=False),
    sa.Column('decision_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('deposit', 'withdrawal', 'allocation', 'release', 'profit_sweep', 'adjustment')", name=op.f('ck_reserve_pool_ledger_kind')),
    sa.ForeignKeyConstraint(['broker_account_id'], ['broker_accounts.id'], name=op.f('fk_reserve_pool_ledger_broker_account_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decision_id'], ['trading_decisions.id'], name=op.f('fk_reserve_pool_ledger_decision_id'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_reserve_pool_ledger_order_id'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reserve_pool_ledger')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_reserve_pool_ledger_idempotency_key'))
    )
    op.create_index('ix_reserve_pool_ledger_broker_account_id_occurred_at', 'reserve_pool_ledger', ['broker_account_id', 'occurred_at'], unique=False)
    op.create_index(op.f('ix_reserve_pool_ledger_decision_id'), 'reserve_pool_ledger', ['decision_id'], unique=False)
    op.create_index(op.f('ix_reserve_pool_ledger_order_id'), 'reserve_pool_ledger', ['order_id'], unique=False)
    op.create_table('risk_evaluations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('CURRENT_TIMESTAMP'), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('recommendation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('risk_config_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('approved', sa.Boolean(), nullable=False),
    sa.Column('risk_score', sa.Double(), nullable=True),
    sa.Column('checks', sa.JSON(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("scope IN ('recommendation', 'order')", name=op.f('ck_risk_evaluations_scope')),
    sa.CheckConstraint('recommendation_id IS NOT NULL OR order_id IS NOT NULL', name=op.f('ck_risk_evaluations_has_subject')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_risk_evaluations_order_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recommendation_id'], ['recommendations.id'], name=op.f('fk_risk_evaluations_recommendation_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['risk_config_id'], ['risk_configs.id'], name=op.f('fk_risk_evaluations_risk_config_id'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_evaluations'))
    )
    op.create_index('ix_risk_evaluations_evaluated_at', 'risk_evaluations', ['evaluated_at'], unique=False)
    op.create_index(op.f('ix_risk_evaluations_order_id'), 'risk_evaluations', ['order_id'], unique=False)
    op.create_index(op.f('ix_risk_evaluations_recommendation_id'), 'risk_evaluations', ['recommendation_id'], unique=False)
    op.create_index(op.f('ix_risk_evaluations_risk_config_id'), 'risk_evaluations', ['risk_config_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_risk_evaluations_risk_config_id'), table_name='risk_evaluations')
    op.drop_index(op.f('ix_risk_evaluations_recommendation_id'), table_name='risk_evaluations')
    op.drop_index(op.f('ix_risk_evaluations_order_id'), table_name='risk_evaluations')
    op.drop_index('ix_risk_evaluations_evaluated_at', table_name='risk_evaluations')
    op.drop_table('risk_evaluations')
    op.drop_index(op.f('ix_reserve_pool_ledger_order_id'), table_name='reserve_pool_ledger')
    op.drop_index(op.f('ix_reserve_pool_ledger_decision_id'), table_name='reserve_pool_ledger')
    op.drop_index('ix_reserve_pool_ledger_broker_account_id_occurred_at', table_name='reserve_pool_ledger')
    op.drop_table('reserve_pool_ledger')
    op.drop_index('ix_positions_status', table_name='positions')
    op.drop_index(op.f('ix_positions_entry_order_id'), table_name='positions')
    op.drop_index(op.f('ix_positions_company_id'), table_name='positions')
    op.drop_table('positions')
    op.drop_index('ix_order_events_occurred_at', table_name='order_events')
    op.drop_table('order_events')
    op.drop_index('ix_orders_ticker_created_at', table_name='orders')
    op.drop_index('ix_orders_status', table_name='orders')
    op.drop_index(op.f('ix_orders_decision_id'), table_name='orders')
    op.drop_index(op.f('ix_orders_broker_account_id'), table_name='orders')
    op.drop_table('orders')
    op.drop_index('ix_macro_impact_records_ticker_published_at', table_name='macro_impact_records')
    op.drop_index(op.f('ix_macro_impact_records_company_id'), table_name='macro_impact_records')
    op.drop_table('macro_impact_records')
    op.drop_index('ix_competitive_signal_records_ticker_published_at', table_name='competitive_signal_records')
    op.drop_index(op.f('ix_competitive_signal_records_source_company_id'), table_name='competitive_signal_records')
    op.drop_index(op.f('ix_competitive_signal_records_relationship_id'), table_name='competitive_signal_records')
    op.drop_index(op.f('ix_competitive_signal_records_document_id'), table_name='competitive_signal_records')
    op.drop_index(op.f('ix_competitive_signal_records_company_id'), table_name='competitive_signal_records')
    op.drop_table('competitive_signal_records')
    op.drop_index('ix_trading_decisions_ticker_decided_at', table_name='trading_decisions')
    op.drop_index(op.f('ix_trading_decisions_company_id'), table_name='trading_decisions')
    op.drop_index(op.f('ix_trading_decisions_broker_account_id'), table_name='trading_decisions')
    op.drop_table('trading_decisions')
    op.drop_index(op.f('ix_recommendation_evidence_document_id'), table_name='recommendation_evidence')
    op.drop_table('recommendation_evidence')
    op.drop_index('ix_global_events_occurred_at', table_name='global_events')
    op.drop_index('ix_global_events_event_type_occurred_at', table_name='global_events')
    op.drop_index(op.f('ix_global_events_document_id'), table_name='global_events')
    op.drop_index(op.f('ix_global_events_agent_variant_id'), table_name='global_events')
    op.drop_table('global_events')
    op.drop_index(op.f('ix_document_intelligence_agent_variant_id'), table_name='document_intelligence')
    op.drop_table('document_intelligence')
    op.drop_index('ix_document_impact_records_ticker_published_at', table_name='document_impact_records')
    op.drop_index(op.f('ix_document_impact_records_company_id'), table_name='document_impact_records')
    op.drop_index(op.f('ix_document_impact_records_agent_variant_id'), table_name='document_impact_records')
    op.drop_table('document_impact_records')
    op.drop_index('ix_document_company_mentions_ticker_published_at', table_name='document_company_mentions')
    op.drop_index(op.f('ix_document_company_mentions_company_id'), table_name='document_company_mentions')
    op.drop_table('document_company_mentions')
    op.drop_index('ix_agent_performance_log_variant_id_occurred_at', table_name='agent_performance_log')
    op.drop_index(op.f('ix_agent_performance_log_document_id'), table_name='agent_performance_log')
    op.drop_index('ix_agent_performance_log_agent_id_occurred_at', table_name='agent_performance_log')
    op.drop_table('agent_performance_log')
    op.drop_index('ix_recommendations_ticker_created_at', table_name='recommendations')
    op.drop_index('ix_recommendations_status_created_at', table_name='recommendations')
    op.drop_index(op.f('ix_recommendations_signal_output_id'), table_name='recommendations')
    op.drop_index(op.f('ix_recommendations_company_id'), table_name='recommendations')
    op.drop_table('recommendations')
    op.drop_index('ix_documents_status_published_at', table_name='documents')
    op.drop_index('ix_documents_source_id_external_id', table_name='documents')
    op.drop_index('ix_documents_published_at', table_name='documents')
    op.drop_index(op.f('ix_documents_ingestion_run_id'), table_name='documents')
    op.drop_index(op.f('ix_documents_duplicate_of_id'), table_name='documents')
    op.drop_table('documents')
    op.drop_index(op.f('ix_trend_windows_company_id'), table_name='trend_windows')
    op.drop_table('trend_windows')
    op.drop_index('ix_trend_projections_ticker_computed_at', table_name='trend_projections')
    op.drop_index(op.f('ix_trend_projections_company_id'), table_name='trend_projections')
    op.drop_table('trend_projections')
    op.drop_index('ix_trend_history_ticker_computed_at', table_name='trend_history')
    op.drop_index(op.f('ix_trend_history_company_id'), table_name='trend_history')
    op.drop_table('trend_history')
    op.drop_index('ix_signal_engine_outputs_evaluated_at', table_name='signal_engine_outputs')
    op.drop_index(op.f('ix_signal_engine_outputs_company_id'), table_name='signal_engine_outputs')
    op.drop_table('signal_engine_outputs')
    op.drop_table('risk_tier_history')
    op.drop_index('ix_portfolio_snapshots_taken_at', table_name='portfolio_snapshots')
    op.drop_table('portfolio_snapshots')
    op.drop_index('ix_ingestion_runs_status_window_start', table_name='ingestion_runs')
    op.drop_table('ingestion_runs')
    op.drop_table('exposure_profiles')
    op.drop_index(op.f('ix_competitor_relationships_competitor_id'), table_name='competitor_relationships')
    op.drop_table('competitor_relationships')
    op.drop_index('ix_company_aliases_alias', table_name='company_aliases')
    op.drop_table('company_aliases')
    op.drop_index(op.f('ix_circuit_breaker_events_broker_account_id'), table_name='circuit_breaker_events')
    op.drop_index('ix_circuit_breaker_events_breaker_occurred_at', table_name='circuit_breaker_events')
    op.drop_table('circuit_breaker_events')
    op.drop_table('agent_variants')
    op.drop_table('trading_reports')
    op.drop_table('sources')
    op.drop_table('risk_configs')
    op.drop_index('ix_companies_tracked', table_name='companies')
    op.drop_index('ix_companies_sector', table_name='companies')
    op.drop_index('ix_companies_cik', table_name='companies')
    op.drop_table('companies')
    op.drop_table('broker_accounts')
    op.drop_table('ai_agents')
