"""Recommendations: eligibility, suppression, evidence, risk evaluation and thesis."""

from realtime.recommendation.service import RecommendationService
from realtime.recommendation.thesis import template_thesis

__all__ = ["RecommendationService", "template_thesis"]
