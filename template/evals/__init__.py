"""The eval gate: two splits of cases, deterministic metrics, thresholds and baselines.

`make eval` runs every case in `cases/*.yaml` (golden: tuned against) and `heldout/*.yaml`
(held-out: never tuned against) against the service (in process on the embedded model by
default, or a deployed URL), computes the metrics per split, compares each split with
`thresholds.yaml` and its own baseline in `baseline.json`, fails when the golden split beats
the held-out one by more than the allowed gap, prints the report and exits non-zero on any
regression or error. See evals/README.md.
"""
