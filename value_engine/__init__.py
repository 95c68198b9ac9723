"""The value engine: pure functions from canonical frames to value, fit, quadrants and rules.

No I/O, no network, no clock: `as_of` is a parameter. Entry points:

- `compute(frames, model, as_of=...)` -> EngineResult (accounts, opportunities, features,
  segments: the segment roll-up per value-chain activity, axes: what the two scores mean)
- `output_labels(model)` -> every label per output field (for CRM picklists)
- `what_if(result.features, model, scenarios)` -> quadrants and money under other horizons
  or costs
- `parse_value_model(data, source)` -> ValueModel, or one ConfigError listing all problems
"""

from value_engine.engine import EngineResult, compute, output_labels
from value_engine.model import ValueModel
from value_engine.parse import parse_value_model
from value_engine.whatif import Scenario, WhatIf, horizon_scenarios, what_if

__all__ = [
    "EngineResult",
    "Scenario",
    "ValueModel",
    "WhatIf",
    "compute",
    "horizon_scenarios",
    "output_labels",
    "parse_value_model",
    "what_if",
]
