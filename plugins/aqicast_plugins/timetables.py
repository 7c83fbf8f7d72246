"""Registers aqicast's timetable: Airflow deserializes a DAG's custom timetable only if a plugin
lists it (scheduler, dag-processor and API server all load this folder)."""
from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from include.orchestration.timetable import DailyPartitionTimetable


class AqicastTimetables(AirflowPlugin):
    name = "aqicast_timetables"
    timetables = [DailyPartitionTimetable]
