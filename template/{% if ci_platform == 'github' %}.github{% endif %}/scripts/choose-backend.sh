#!/usr/bin/env bash
# Pick the deploy backend for a workflow job and print it as the step output `name`.
#   CONFIGURED   kubernetes or local (the repository variable DEPLOY_BACKEND)
#   KUBE_CONFIG  kubeconfig contents (the environment secret), for jobs that talk to the cluster
#   NEEDS_CLUSTER  "false" for jobs that only build
#   DEPLOY_ROOT  where the local backend keeps releases (default: outside the checkout)
# Tests (act, offline) choose the local backend the way a team does: DEPLOY_BACKEND=local.
set -euo pipefail

backend="${CONFIGURED:-kubernetes}"
case "$backend" in
    local)
        # Releases must outlive the job: on a self-hosted runner actions/checkout cleans ignored
        # files (var/ included) between jobs, so by default they live in the runner's home.
        root="${DEPLOY_ROOT:-$HOME/.local/state/$(basename "${GITHUB_REPOSITORY:-service}")/deploy}"
        echo "DEPLOY_ROOT=$root" >> "$GITHUB_ENV"
        echo "Deploy root: $root"
        ;;
    kubernetes)
        if [ "${NEEDS_CLUSTER:-true}" = true ]; then
            if [ -z "${KUBE_CONFIG:-}" ]; then
                echo "::error::Set the KUBE_CONFIG secret of this GitHub environment (a kubeconfig for its cluster)."
                exit 1
            fi
            # kubectl's default location: no variable to export to later steps.
            mkdir -p "$HOME/.kube"
            (umask 077 && printf '%s\n' "$KUBE_CONFIG" > "$HOME/.kube/config")
        fi
        ;;
    *)
        echo "::error::DEPLOY_BACKEND must be kubernetes or local, not '$backend'."
        exit 1
        ;;
esac
echo "Deploy backend: $backend"
echo "name=$backend" >> "$GITHUB_OUTPUT"
