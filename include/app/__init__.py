"""The application layer: one function per step of the pipeline, taking a backend. The CLI, the
DAG tasks and the Glue job call these and nothing below them, so every entry point runs a step
the same way.

| step | function |
|---|---|
| crawl (local) | ``ingest.crawl`` (aws: the Glue crawler, configured by ``etl.crawler``) |
| ETL of a window | ``ingest.etl`` (+ ``ingest.window`` for D and its late-data days) |
| quality gate | ``quality.gate`` |
| retrain decision | ``training.decide`` |
| train + judge + register | ``training.train`` (local FLAML; aws: ``training.export`` -> Autopilot -> ``training.register_candidate``) |
| publish the champion | ``deploy.publish_champion`` (local); aws: ``deploy.endpoint_plan`` / ``verify_endpoint`` / ``rollback_endpoint`` |
| forecast + snapshot | ``forecasting.forecast`` |
"""
