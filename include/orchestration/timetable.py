"""The daily timetable of ``aqicast_daily``: one run per day D at 00:00 UTC for the interval
[D, D+1), and a manual run's data interval is the day of its logical date, so the UI shows the
partition a run processes (Airflow's cron timetable gives a manual run the last *complete*
interval before its logical date instead: 2016-02-26 -> 2016-02-27 for a logical date 2016-02-27).

A custom timetable must be a Core timetable registered by a plugin (``plugins/aqicast_plugins/
timetables.py``) so that the scheduler and the API server can deserialize the DAG."""
from __future__ import annotations

from typing import Any

from airflow.timetables.base import DataInterval
from airflow.timetables.interval import CronDataIntervalTimetable

CRON = "0 0 * * *"


class DailyPartitionTimetable(CronDataIntervalTimetable):
    """Daily at 00:00 UTC, interval [D, D+1); a manual run's interval is its logical date's day."""

    def __init__(self) -> None:
        super().__init__(CRON, timezone="UTC")
        self.description = "Daily at 00:00 UTC; a run's data interval is its partition D: [D, D+1)"

    @property
    def summary(self) -> str:
        return "daily partition (00:00 UTC)"

    def infer_manual_data_interval(self, *, run_after) -> DataInterval:
        """[day of ``run_after``, +1 day). The UI and the REST API pass the logical date as
        ``run_after``; ``dag.test(logical_date=...)`` too."""
        start = run_after.in_timezone("UTC").start_of("day")
        return DataInterval(start=start, end=start.add(days=1))

    def serialize(self) -> dict[str, Any]:
        return {}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> "DailyPartitionTimetable":
        return cls()
