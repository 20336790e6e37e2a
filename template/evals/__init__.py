"""The eval gate: a golden set, deterministic metrics, thresholds and a baseline.

`make eval` runs every case in `cases/*.yaml` against the service (in process on the embedded
model by default, or a deployed URL), computes the metrics, compares them with
`thresholds.yaml` and `baseline.json`, prints the report and exits non-zero on any regression
or error. See evals/README.md.
"""
