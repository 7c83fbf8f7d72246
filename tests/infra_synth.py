"""The synthesised CDK app for the tests: ``infra/app.py`` run in the infrastructure venv
(``.venv-infra``: aws-cdk-lib, cfn-lint, checkov; ``make test`` installs it), with a tiny placeholder
zip as the Lambda asset when ``make lambda`` has not built the real one. Synthesis costs about a
minute (jsii starts Node.js and loads aws-cdk-lib), so the cloud assembly is cached under
``build/cdk.out-test/<hash of its inputs>`` and shared by xdist workers (a file lock)."""
from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INFRA_VENV = ROOT / ".venv-infra"
INFRA_PY = INFRA_VENV / "bin" / "python"
CACHE = ROOT / "build" / "cdk.out-test"
INPUTS = ("infra", "include/catalog.py", "include/config.py", "requirements-infra.txt")


def infra_bin(name: str) -> Path:
    path = INFRA_VENV / "bin" / name
    if not path.exists():
        raise RuntimeError(f"{path} is missing: the infrastructure venv is made by `make infra-venv` (make test does it)")
    return path


def _digest() -> str:
    h = hashlib.sha256()
    for rel in INPUTS:
        p = ROOT / rel
        for f in sorted(p.rglob("*") if p.is_dir() else [p]):
            if f.is_file() and f.suffix in (".py", ".json", ".txt") and "node_modules" not in f.parts \
                    and "__pycache__" not in f.parts:
                h.update(str(f.relative_to(ROOT)).encode())
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


def placeholder_zip(folder: Path) -> Path:
    """A stand-in for build/lambda/aqicast-api.zip: the synthesised template does not depend on its bytes."""
    path = folder / "placeholder-lambda.zip"
    if not path.exists():
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("include/serving/lambda_handler.py", "def handler(event, context):\n    return {}\n")
    return path


def synth(**context: str) -> Path:
    """The cloud assembly folder for this context (cached)."""
    infra_bin("python")
    key = _digest() + ("-" + hashlib.sha256(repr(sorted(context.items())).encode()).hexdigest()[:8] if context else "")
    out = CACHE / key
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "manifest.json").exists():
            tmp = CACHE / f".tmp-{key}-{os.getpid()}"
            args = [str(INFRA_PY), str(ROOT / "infra" / "app.py"), "-o", str(tmp),
                    "-c", f"lambda_zip={placeholder_zip(CACHE)}"]
            for k, v in context.items():
                args += ["-c", f"{k}={v}"]
            env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
            subprocess.run(args, check=True, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
            tmp.rename(out)
    return out


#: The buckets the moto runs use, bound to the storage stack's buckets for the IAM evaluation.
RUN_BUCKETS = {"aqicast-storage/Lake": "aqicast-lake", "aqicast-storage/Artifacts": "aqicast-artifacts"}


def principals() -> dict:
    """Role name -> ``infra.policies.Principal`` of the synthesised app, bound to the moto runs' buckets."""
    from infra import policies

    templates = policies.load_templates(synth())
    return policies.principals(templates, policies.Resolver(templates, names=RUN_BUCKETS))
