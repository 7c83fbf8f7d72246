#!/bin/sh
# MWAA startup script: the aqicast settings every Airflow component sees. Names only; roles and
# buckets of your account go here or in Airflow Variables (aqicast_<name>), never in the code.
export AQICAST_BACKEND=aws
export AQICAST_S3_LAKE="${AQICAST_S3_LAKE:-s3://aqicast-lake}"
export AQICAST_ARTIFACTS="${AQICAST_ARTIFACTS:-s3://aqicast-artifacts}"
export AQICAST_AWS_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
# Keep GX from phoning home from the workers.
export GX_ANALYTICS_ENABLED=false
