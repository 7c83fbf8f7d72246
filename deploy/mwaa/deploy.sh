#!/usr/bin/env bash
# Upload what MWAA and the Glue job run: build dist/ (deploy/mwaa/build.py), sync dags/, put
# plugins.zip, requirements.txt and startup.sh (with the deployment's names appended from the stack
# outputs) to the MWAA bucket, and the Glue script and package to the artifacts bucket. Writes the
# S3 object versions to dist/mwaa/versions.env for the MWAA stack (deploy/deploy-aws.sh passes them).
#
#   OUTPUTS=cdk-outputs.json deploy/mwaa/deploy.sh      # names from `cdk deploy --outputs-file`
#   MWAA_BUCKET=airflow-... AQICAST_ARTIFACTS=s3://... deploy/mwaa/deploy.sh   # or given directly
#   MWAA_ENV=aqicast ...   # also point an existing environment (not managed by the stacks) at them
#   DRY_RUN=1 ...          # print the commands instead of running them (no AWS credentials needed)
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-.venv/bin/python}"
OUTPUTS="${OUTPUTS:-cdk-outputs.json}"
PREFIX="${PREFIX:-aqicast}"
DRY_RUN="${DRY_RUN:-}"
out() { "$PYTHON" deploy/outputs.py --file "$OUTPUTS" --prefix "$PREFIX" "$@"; }
run() { if [ -n "$DRY_RUN" ]; then printf '+ %s\n' "$*"; else "$@"; fi; }
# put-object returning the new object version (a placeholder in a dry run)
put() {
  if [ -n "$DRY_RUN" ]; then printf '+ aws s3api put-object --bucket %s --key %s --body %s\n' "$1" "$2" "$3" >&2; echo "<version of $2>"
  else aws s3api put-object --bucket "$1" --key "$2" --body "$3" --query VersionId --output text; fi
}

MWAA_BUCKET="${MWAA_BUCKET:-$(out get storage.MwaaBucket)}"
AQICAST_ARTIFACTS="${AQICAST_ARTIFACTS:-s3://$(out get storage.ArtifactsBucket)}"

run "$PYTHON" deploy/mwaa/build.py --out dist
if [ -z "$DRY_RUN" ]; then
  { echo; echo "# -- this deployment's names (deploy/mwaa/deploy.sh, from the stack outputs)"; out env; } >> dist/mwaa/startup.sh
else
  echo "+ append to dist/mwaa/startup.sh:"; out env | sed 's/^/    /'
fi
run aws s3 sync dist/mwaa/dags "s3://$MWAA_BUCKET/dags/" --delete --exclude "*.pyc"
plugins_version=$(put "$MWAA_BUCKET" plugins.zip dist/mwaa/plugins.zip)
requirements_version=$(put "$MWAA_BUCKET" requirements.txt dist/mwaa/requirements.txt)
startup_version=$(put "$MWAA_BUCKET" startup.sh dist/mwaa/startup.sh)
run aws s3 cp dist/glue/glue_job.py "$AQICAST_ARTIFACTS/glue/glue_job.py"
run aws s3 cp dist/glue/aqicast.zip "$AQICAST_ARTIFACTS/glue/aqicast.zip"
run aws s3 cp dist/glue/requirements-glue.txt "$AQICAST_ARTIFACTS/glue/requirements-glue.txt"
versions="PLUGINS_VERSION=$plugins_version
REQUIREMENTS_VERSION=$requirements_version
STARTUP_VERSION=$startup_version"
if [ -n "$DRY_RUN" ]; then echo "+ write dist/mwaa/versions.env:"; echo "$versions" | sed 's/^/    /'
else printf '%s\n' "$versions" > dist/mwaa/versions.env; fi
if [ -n "${MWAA_ENV:-}" ]; then
  run aws mwaa update-environment --name "$MWAA_ENV" \
    --plugins-s3-path plugins.zip --plugins-s3-object-version "$plugins_version" \
    --requirements-s3-path requirements.txt --requirements-s3-object-version "$requirements_version" \
    --startup-script-s3-path startup.sh --startup-script-s3-object-version "$startup_version"
  echo "Updating $MWAA_ENV (takes 10-30 minutes): aws mwaa get-environment --name $MWAA_ENV --query Environment.Status"
fi
