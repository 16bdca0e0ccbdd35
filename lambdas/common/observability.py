"""Names for Powertools, fixed in code: Powertools reads them when a module is imported, not per call."""

from __future__ import annotations

METRICS_NAMESPACE = "SageMakerRetraining"
