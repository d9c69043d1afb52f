"""`hubgen bench --quality`: the long models made from a tiny trained base answer the base's fill-mask questions and
give finite outputs near their maximum length, for LSG, Longformer and BigBird alike."""

from __future__ import annotations

from hubgen.offline.quality import ATTENTIONS, LENGTH, QualityRow, quality_table, run_quality


def test_every_target_keeps_the_base_answers_and_runs_long_inputs(tmp_path):
    rows = run_quality(tmp_path, bases=("bert",))
    assert [row.attention for row in rows] == list(ATTENTIONS)
    for row in rows:
        assert row.questions == 6 and row.agreeing == row.questions, row
        assert row.long_tokens == LENGTH - 4 and row.long_finite, row
    table = quality_table(rows)
    assert "| bert | longformer | 6/6 | 4092 tokens, finite |" in table


def test_the_table_shows_a_failure():
    row = QualityRow("bert", "bigbird", 4, 6, 4092, False)
    assert not row.ok and "| bert | bigbird | 4/6 | 4092 tokens, NOT finite |" in quality_table([row])
