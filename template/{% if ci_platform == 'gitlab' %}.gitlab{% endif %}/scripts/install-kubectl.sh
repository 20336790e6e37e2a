#!/usr/bin/env bash
# Make kubectl available to a job: the runner's own if it has one (a shell runner on a deploy
# host), else the pinned release KUBECTL_VERSION, checked against its published SHA-256, into
# .cache/bin (jobs put that folder on PATH). Air-gapped: run jobs in an image that has kubectl.
set -euo pipefail

if command -v kubectl >/dev/null; then
    kubectl version --client
    exit 0
fi
version="${KUBECTL_VERSION:?set KUBECTL_VERSION (the root .gitlab-ci.yml does)}"
arch="$(uname -m | sed -e 's/x86_64/amd64/' -e 's/aarch64/arm64/')"
base="https://dl.k8s.io/release/${version}/bin/linux/${arch}"
bin="${CI_PROJECT_DIR:-.}/.cache/bin"
mkdir -p "$bin"
curl --fail --silent --show-error --location --output "$bin/kubectl" "$base/kubectl"
echo "$(curl --fail --silent --show-error --location "$base/kubectl.sha256")  $bin/kubectl" | sha256sum --check --strict
chmod +x "$bin/kubectl"
"$bin/kubectl" version --client
