"""aqicast's Airflow operators (shipped to MWAA in plugins.zip)."""
