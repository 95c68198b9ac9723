"""A run's stored features give the engine the same scores as the features it ran on."""

from __future__ import annotations

from datetime import date

import numpy as np

from connectors.sandbox.sampledata import generate
from sync.pipeline.model_file import load_value_model
from sync.state.scores import decode_scores, encode_scores
from value_engine import compute
from value_engine.accounts import score_accounts


def test_stored_features_score_the_same() -> None:
    data = generate(300, seed=7)  # one new logo among them: its value is predicted
    frames = {
        k: getattr(data, k) for k in ("accounts", "opportunities", "tickets", "invoices", "finance")
    }
    model = load_value_model()
    features = compute(frames, model, as_of=date(2026, 7, 1)).features
    stored = decode_scores(encode_scores(features, "features"), "features")
    assert dict(stored.dtypes.astype(str)) == dict(features.dtypes.astype(str))
    before, after = score_accounts(features, model), score_accounts(stored, model)
    assert (~before.table["predicted"]).any() and before.table["predicted"].any()
    assert np.array_equal(before.table["value_score"], after.table["value_score"])
    assert list(before.table["computed_quadrant"]) == list(after.table["computed_quadrant"])
