"""The Airflow glue, next to the DAG files: run context -> plain arguments, settings from Airflow
Variables, the aws session from the task's connection, data failures as Airflow failures. The
application layer below it knows nothing of Airflow."""
