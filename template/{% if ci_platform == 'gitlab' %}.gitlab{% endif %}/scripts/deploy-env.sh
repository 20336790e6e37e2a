# Prepare a deploy job's shell for its backend. Sourced (`. .gitlab/scripts/deploy-env.sh`), so
# what it exports reaches the job's script; it changes nothing else.
#   DEPLOY_BACKEND  kubernetes or local (a project variable; default kubernetes)
#   KUBECONFIG      kubernetes: a file-type variable of the environment, the path to its kubeconfig
#   DEPLOY_ROOT     local: where releases live (default: outside the checkout, in the runner's home)
#   NEEDS_CLUSTER   "false" for jobs that only build

DEPLOY_BACKEND="${DEPLOY_BACKEND:-kubernetes}"
case "$DEPLOY_BACKEND" in
    local)
        # Releases must outlive the job: a runner cleans ignored files (var/ included) from its
        # checkout before every job, so by default they live in the runner's home.
        DEPLOY_ROOT="${DEPLOY_ROOT:-$HOME/.local/state/${CI_PROJECT_NAME:-service}/deploy}"
        export DEPLOY_ROOT
        echo "Deploy root: $DEPLOY_ROOT"
        ;;
    kubernetes)
        if [ "${NEEDS_CLUSTER:-true}" = true ]; then
            if [ -z "${KUBECONFIG:-}" ] || [ ! -s "$KUBECONFIG" ]; then
                echo "Set KUBECONFIG for this environment: a protected, file-type CI/CD variable holding its kubeconfig." >&2
                return 1 2>/dev/null || exit 1
            fi
            export PATH="${CI_PROJECT_DIR:-$PWD}/.cache/bin:$PATH"
            "${CI_PROJECT_DIR:-.}/.gitlab/scripts/install-kubectl.sh" || return 1 2>/dev/null || exit 1
        fi
        ;;
    *)
        echo "DEPLOY_BACKEND must be kubernetes or local, not '$DEPLOY_BACKEND'." >&2
        return 1 2>/dev/null || exit 1
        ;;
esac
export DEPLOY_BACKEND
echo "Deploy backend: $DEPLOY_BACKEND"
