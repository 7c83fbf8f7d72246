#!/usr/bin/env bash
# The whole AWS deployment (make deploy): the CDK stacks, the MWAA/Glue upload, the MWAA environment
# on those uploads, and the web page pointed at the API. README "Deploy to AWS".
#
#   AWS_PROFILE=my-profile deploy/deploy-aws.sh            # CDK_CONTEXT="-c alarm_email=me@example.org"
#   DRY_RUN=1 deploy/deploy-aws.sh                          # print every command, touch nothing
#
# 1. cdk deploy storage, network, data, web, api, monitoring  -> cdk-outputs.json
# 2. deploy/mwaa/deploy.sh: build, upload dags/plugins/requirements/startup + Glue code -> object versions
# 3. cdk deploy mwaa with those object versions (the environment runs exactly that upload)
# 4. the page (index.html naming the API URL) to the site bucket, CloudFront invalidation
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHON="${PYTHON:-.venv/bin/python}" PREFIX="${PREFIX:-aqicast}" DRY_RUN="${DRY_RUN:-}"
export OUTPUTS="${OUTPUTS:-cdk-outputs.json}"
CDK_CONTEXT="${CDK_CONTEXT:-}"
ENVIRONMENT_CLASS="${ENVIRONMENT_CLASS:-mw1.small}"
run() { if [ -n "$DRY_RUN" ]; then printf '+ %s\n' "$*"; else "$@"; fi; }
out() { "$PYTHON" deploy/outputs.py --file "$OUTPUTS" --prefix "$PREFIX" get "$1"; }
cdk() { run infra/node_modules/.bin/cdk --app "$PWD/.venv-infra/bin/python $PWD/infra/app.py" \
          --output "$PWD/cdk.out" -c "prefix=$PREFIX" $CDK_CONTEXT "$@"; }

if [ -z "$DRY_RUN" ]; then
  [ -x infra/node_modules/.bin/cdk ] || { echo "the CDK CLI is missing: make infra-cli" >&2; exit 1; }
  aws sts get-caller-identity --query Account --output text >/dev/null \
    || { echo "no AWS credentials: set AWS_PROFILE (README: Deploy to AWS)" >&2; exit 1; }
else
  rm -f "$OUTPUTS.dry-run"; OUTPUTS="$OUTPUTS.dry-run"  # placeholders: nothing deployed, no outputs read
fi

stacks=("$PREFIX-storage")
case " $CDK_CONTEXT " in *" vpc_id="*) ;; *) stacks+=("$PREFIX-network") ;; esac
stacks+=("$PREFIX-data" "$PREFIX-web" "$PREFIX-api" "$PREFIX-monitoring")
echo "== 1/4 CDK stacks: ${stacks[*]}"
cdk deploy "${stacks[@]}" --exclusively --require-approval never --outputs-file "$PWD/$OUTPUTS"

echo "== 2/4 MWAA and Glue upload"
bash deploy/mwaa/deploy.sh
if [ -n "$DRY_RUN" ]; then
  PLUGINS_VERSION="<version of plugins.zip>" REQUIREMENTS_VERSION="<version of requirements.txt>"
  STARTUP_VERSION="<version of startup.sh>"
else
  # shellcheck disable=SC1091
  . dist/mwaa/versions.env
fi

echo "== 3/4 MWAA environment: $PREFIX-mwaa (creating or updating it takes 20-30 minutes)"
cdk deploy "$PREFIX-mwaa" --exclusively --require-approval never --outputs-file "$PWD/$OUTPUTS.mwaa" \
  --parameters "$PREFIX-mwaa:PluginsS3ObjectVersion=$PLUGINS_VERSION" \
  --parameters "$PREFIX-mwaa:RequirementsS3ObjectVersion=$REQUIREMENTS_VERSION" \
  --parameters "$PREFIX-mwaa:StartupScriptS3ObjectVersion=$STARTUP_VERSION" \
  --parameters "$PREFIX-mwaa:EnvironmentClass=$ENVIRONMENT_CLASS"

echo "== 4/4 web page"
site=$(out web.SiteBucket); api=$(out api.ApiUrl); distribution=$(out web.DistributionId)
# The page aqicast serve shows, told where the API is (window.AQICAST_API, before the page's script).
if [ -n "$DRY_RUN" ]; then echo "+ write dist/web/index.html: include/serving/static/index.html with window.AQICAST_API = \"$api\""
else mkdir -p dist/web && "$PYTHON" - "$api" <<'PY'
import sys
page = open("include/serving/static/index.html", encoding="utf-8").read()
tag = '<script>window.AQICAST_API = "%s";</script>\n<script>' % sys.argv[1]
open("dist/web/index.html", "w", encoding="utf-8").write(page.replace("<script>", tag, 1))
PY
fi
run aws s3 cp dist/web/index.html "s3://$site/index.html" --content-type "text/html; charset=utf-8" --cache-control "max-age=300"
run aws cloudfront create-invalidation --distribution-id "$distribution" --paths "/index.html" "/"
echo "Done: the page at $(out web.SiteUrl), the API at $api"
