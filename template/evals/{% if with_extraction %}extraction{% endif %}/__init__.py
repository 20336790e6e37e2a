"""The extraction slice's eval gate: `python -m evals.extraction` (`make eval` runs it too).

Cases (cases.yaml) are documents with the record and outcome a careful person would give
them; the gate compares what the service returns, field by field, with thresholds.yaml and the
accepted baseline.json, as the Q&A gate does (evals/gate.py judges both).
"""
