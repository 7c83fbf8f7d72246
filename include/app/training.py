"""Training: the retrain decision, then a challenger trained, judged (one verdict for both
backends, ``training/verdict.py``) and registered with the promotion policy's verdict.

- local: ``train`` runs FLAML in-process and registers the model file;
- aws: ``export`` writes Autopilot's channels and returns the AutoML V2 request; the DAG's
  operator and sensor run the job; ``register_candidate`` judges and registers its best
  candidate. ``train`` on aws does the same three steps, waiting for the job itself (the CLI).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import time
from typing import TYPE_CHECKING

from include import catalog
from include.training.policies import Decision

if TYPE_CHECKING:  # pragma: no cover
    from include.backends.base import Backend
    from include.training.verdict import Challenger, Split, Verdict

log = logging.getLogger(__name__)


def decide(backend: "Backend", day: dt.date, mode: str = "auto") -> Decision:
    """Retrain today? ``mode``: auto (the policy: no champion, too old, live error degraded),
    force or skip."""
    from include.training.steps import retrain_decision

    decision = retrain_decision(backend.lake, backend.registry, day, mode, backend.settings.training)
    log.info("retrain %s: %s", "yes" if decision.yes else "no", decision.reason)
    backend.lake.write_json(backend.lake.path(catalog.retrain_decision(day)),
                            {"date": day.isoformat(), "mode": mode, "retrain": decision.yes, "reason": decision.reason})
    return decision


def split(backend: "Backend", day: dt.date) -> "Split":
    from include.training.steps import load_features
    from include.training.verdict import evaluation_split

    return evaluation_split(load_features(backend.lake, day), day, backend.settings.training)


def _champion(backend: "Backend"):
    from include.training.registry import champion
    from include.training.verdict import Champion

    champ = champion(backend.registry)
    return None if champ is None else Champion(champ.version, backend.champion_model(champ).predict)


def _register(backend: "Backend", split: "Split", challenger: "Challenger", *, artifact=None,
              container=None) -> tuple["Verdict", dict]:
    from include.training.verdict import judge

    verdict = judge(split, challenger, _champion(backend), backend.settings.training)
    artifact = artifact(verdict) if callable(artifact) else artifact
    mv = backend.registry.register(artifact, status=verdict.status, metrics=verdict.metrics,
                                   properties=verdict.properties, description=verdict.reason, container=container)
    log.info("challenger %s: registered %s v%d as %s: %s", challenger.estimator, mv.group, mv.version, mv.status,
             verdict.reason)
    return verdict, {"trained": True, "version": mv.version, "status": mv.status, "reason": verdict.reason,
                     "metrics": verdict.metrics}


def train(backend: "Backend", day: dt.date, *, budget: float | None = None, trainer=None) -> dict:
    """Train a challenger on the features through ``day``, judge it on the recent window, register it."""
    if backend.name == "aws" and trainer is None:
        return _train_with_autopilot(backend, day)
    started = time.monotonic()  # the budget is the step's: loading and importing count
    from include.training.steps import LocalChallenger

    data = split(backend, day)
    why_not = data.enough(backend.settings.training.min_train_rows)
    if why_not:
        return {"trained": False, "reason": why_not}
    local = LocalChallenger(data, time_budget=budget, settings=backend.settings.training, trainer=trainer,
                            started=started)

    def artifact(verdict: "Verdict") -> bytes:
        blob = local.artifact(data, verdict.approved, verdict.holdout_predictions)
        verdict.properties["residual_quantiles"] = list(local.model.residual_quantiles)
        if verdict.approved:  # refitted on every labelled row through D
            verdict.properties["train_end"] = str(data.data["date"].max())
        return blob

    _, outcome = _register(backend, data, local.challenger, artifact=artifact)
    log.info("training outcome: %s", json.dumps(outcome, default=str))
    return outcome


def export(backend: "Backend", day: dt.date, run_id: str = "") -> dict:
    """aws: Autopilot's training and validation channels (the evaluation split) -> the V2 request."""
    from include.training.autopilot import export_training_data

    aws = backend.settings.aws
    return export_training_data(split(backend, day), backend.s3, artifacts=aws.artifacts,
                                role_arn=aws.sagemaker_role_arn, run_id=run_id)


def register_candidate(backend: "Backend", day: dt.date, candidate: dict) -> dict:
    """aws: judge Autopilot's best candidate with the same verdict as a local challenger, and
    register it (its containers: image, artifact, environment) Approved or Rejected."""
    from include.training.autopilot import challenger_of
    from include.training.dataset import feature_columns

    data = split(backend, day)
    challenger = challenger_of(candidate)
    challenger.features = feature_columns(data.data)  # the CSV column order Autopilot trained on
    _, outcome = _register(backend, data, challenger, container=candidate.get("containers") or None)
    return outcome


def _train_with_autopilot(backend: "Backend", day: dt.date, poll_s: float = 60.0) -> dict:
    """The aws path without a scheduler (the CLI): export, start the job, wait for it, register."""
    from include.training.autopilot import best_candidate, job_done

    request = export(backend, day)
    backend.sagemaker.create_auto_ml_job_v2(**request)
    name = request["AutoMLJobName"]
    log.info("started AutoML V2 job %s; waiting", name)
    while not job_done(backend.sagemaker, name):
        time.sleep(poll_s)
    candidate = best_candidate(backend.sagemaker.describe_auto_ml_job_v2(AutoMLJobName=name))
    return register_candidate(backend, day, candidate)


def run(backend: "Backend", day: dt.date, mode: str = "auto", *, budget: float | None = None) -> dict:
    """The training step as one call (the CLI): the decision, then training if it says so."""
    decision = decide(backend, day, mode)
    outcome = {"date": day.isoformat(), "retrain": decision.yes, "why": decision.reason}
    if decision.yes:
        outcome.update(train(backend, day, budget=budget))
    return outcome
