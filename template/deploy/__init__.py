"""Release tooling: build a release, deploy it with a smoke test and automatic rollback.

`python -m deploy --help` (or the `make release|deploy|rollback|status|smoke|refresh|drill`
targets) is the one entry point for people and for the workflows in `.github/workflows/`.
Two backends share the same commands: `kubernetes` (the manifests in `deploy/k8s/`) and `local`
(versioned release folders on one machine, used for single-machine installs and for drills).
"""
