"""The validated outputs of the agents: the same schema for the LLM and the lexicon path."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from stonks.models.enums import Direction, Horizon

EVENT_TYPES = (
    "earnings_beat", "earnings_miss", "guidance_raised", "guidance_cut", "merger_acquisition",
    "litigation", "upgrade", "downgrade", "recall", "product_launch", "layoffs",
    "dividend_change", "buyback", "management_change", "regulatory", "contract_win",
    "market_share", "other",
)


class CompanyImpact(BaseModel):
    """What the document means for one mentioned company."""

    model_config = ConfigDict(extra="forbid")

    ticker: str = Field(min_length=1, max_length=16)
    direction: Direction
    magnitude: float = Field(ge=0.0, le=1.0)
    confidence: float = Field(ge=0.0, le=1.0)
    horizon: Horizon = Horizon.SHORT
    sentiment: float = Field(default=0.0, ge=-1.0, le=1.0)
    event_types: list[str] = Field(default_factory=list)
    rationale: str = Field(default="", max_length=2000)
    evidence: list[str] = Field(default_factory=list, description="Sentences behind the call.")


class DocumentExtraction(BaseModel):
    """The document-extractor's output for one document."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(max_length=4000)
    sentiment: float = Field(ge=-1.0, le=1.0)
    confidence: float = Field(ge=0.0, le=1.0)
    event_types: list[str] = Field(default_factory=list)
    companies: list[CompanyImpact] = Field(default_factory=list)


class MacroEvent(BaseModel):
    """One macro or geopolitical event found in a document, with its channel shocks."""

    model_config = ConfigDict(extra="forbid")

    event_type: str = Field(min_length=1, max_length=64)
    title: str = Field(max_length=1000)
    region: str = Field(default="global", max_length=64)
    direction: Direction = Field(description="Effect on risk assets in general.")
    severity: float = Field(ge=0.0, le=1.0)
    confidence: float = Field(ge=0.0, le=1.0)
    affected_sectors: list[str] = Field(default_factory=list)
    affected_commodities: list[str] = Field(default_factory=list)
    rate_shock: float = Field(default=0.0, ge=-1.0, le=1.0,
                              description="+1 rates up sharply … -1 rates down sharply.")
    commodity_shocks: dict[str, float] = Field(
        default_factory=dict, description="Commodity → signed price shock in [-1, 1].")


class EventClassification(BaseModel):
    """The event-classifier's output for one document."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(max_length=4000)
    events: list[MacroEvent] = Field(default_factory=list)


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema sent as Ollama ``format`` / OpenAI ``response_format``."""
    return model.model_json_schema()
