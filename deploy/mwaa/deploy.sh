#!/usr/bin/env bash
# Deploy aqicast to an existing Amazon MWAA environment and its Glue job artifacts.
#   MWAA_BUCKET=my-mwaa-bucket MWAA_ENV=aqicast AQICAST_ARTIFACTS=s3://my-artifacts deploy/mwaa/deploy.sh
# Needs the AWS CLI with credentials allowed to write both buckets and update the environment.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${MWAA_BUCKET:?set MWAA_BUCKET (the environment's S3 bucket, no s3:// prefix)}"
: "${MWAA_ENV:?set MWAA_ENV (the environment name)}"
: "${AQICAST_ARTIFACTS:?set AQICAST_ARTIFACTS (s3://bucket[/prefix] for the Glue script and packages)}"
PYTHON="${PYTHON:-.venv/bin/python}"

"$PYTHON" deploy/mwaa/build.py --out dist
aws s3 sync dist/mwaa/dags "s3://$MWAA_BUCKET/dags/" --delete --exclude "*.pyc"
plugins_version=$(aws s3api put-object --bucket "$MWAA_BUCKET" --key plugins.zip --body dist/mwaa/plugins.zip --query VersionId --output text)
requirements_version=$(aws s3api put-object --bucket "$MWAA_BUCKET" --key requirements.txt --body dist/mwaa/requirements.txt --query VersionId --output text)
startup_version=$(aws s3api put-object --bucket "$MWAA_BUCKET" --key startup.sh --body dist/mwaa/startup.sh --query VersionId --output text)
aws s3 cp dist/glue/glue_job.py "$AQICAST_ARTIFACTS/glue/glue_job.py"
aws s3 cp dist/glue/aqicast.zip "$AQICAST_ARTIFACTS/glue/aqicast.zip"
aws s3 cp dist/glue/requirements-glue.txt "$AQICAST_ARTIFACTS/glue/requirements-glue.txt"
aws mwaa update-environment --name "$MWAA_ENV" \
  --plugins-s3-path plugins.zip --plugins-s3-object-version "$plugins_version" \
  --requirements-s3-path requirements.txt --requirements-s3-object-version "$requirements_version" \
  --startup-script-s3-path startup.sh --startup-script-s3-object-version "$startup_version"
echo "Updating $MWAA_ENV (takes 10-30 minutes): aws mwaa get-environment --name $MWAA_ENV --query Environment.Status"
