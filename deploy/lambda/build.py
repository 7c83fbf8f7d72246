"""Build the API's AWS Lambda deployment package: build/lambda/aqicast-api.zip.

Runtime python3.12 on x86_64 (README "Lambda package"): the same Python as the MWAA set the
serving code is tested with, and the architecture of the machines the package test runs on, so the
zip the test answers API Gateway events from is byte for byte the zip that is deployed.

Contents: the wheels of requirements-lambda.txt for manylinux x86_64 / CPython 3.12 (binary only,
no sdist is ever built on the dev machine), ``include/serving`` (app, fonts, the web page) and the
few foundation modules it imports (``include/catalog.py`` ...). No pandas, no pipeline or training
code: the build checks that every ``include.*`` import in the package resolves inside it.

Handler: ``include.serving.lambda_handler.handler``.

    python deploy/lambda/build.py [--out build/lambda/aqicast-api.zip]

The build is cached: the zip is rebuilt only when requirements-lambda.txt or a packaged source
file changes (the inputs' hash is the zip's comment).
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "lambda" / "aqicast-api.zip"
REQUIREMENTS = ROOT / "requirements-lambda.txt"
RUNTIME, ARCHITECTURE = "python3.12", "x86_64"
PYTHON_VERSION, PLATFORM = "3.12", "x86_64-manylinux_2_28"  # Lambda's Amazon Linux 2023 has glibc 2.34
HANDLER = "include.serving.lambda_handler.handler"
#: The light foundation modules include/serving imports (checked by ``_check_imports``).
FOUNDATION = ["__init__.py", "catalog.py", "categories.py", "config.py", "endpoint_csv.py", "text.py"]
#: Lambda's limits for a .zip package (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
LIMIT_ZIPPED, LIMIT_UNZIPPED = 50 * 2**20, 250 * 2**20
#: Never in the package: the pipeline's heavy stack (the serving import contract forbids it too).
FORBIDDEN = ("pandas", "numpy", "pyarrow", "sklearn", "airflow", "fsspec", "flaml", "lightgbm")
SKIP_DIRS = {"__pycache__", ".pytest_cache"}
SKIP_FILES = {"build_fonts.py"}


def sources() -> list[tuple[Path, str]]:
    """(file, name in the zip) of the project's code in the package."""
    out = [(ROOT / "include" / name, f"include/{name}") for name in FOUNDATION]
    for p in sorted((ROOT / "include" / "serving").rglob("*")):
        if p.is_file() and not (SKIP_DIRS & set(p.parts)) and p.suffix != ".pyc" and p.name not in SKIP_FILES:
            out.append((p, str(p.relative_to(ROOT))))
    return out


def inputs_hash() -> str:
    h = hashlib.sha256(REQUIREMENTS.read_bytes())
    h.update(f"{RUNTIME} {ARCHITECTURE} {PLATFORM}".encode())
    for path, name in sources():
        h.update(name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _uv() -> list[str]:
    uv = Path(sys.executable).with_name("uv")
    return [str(uv)] if uv.exists() else [sys.executable, "-m", "uv"]


def _install_wheels(target: Path) -> None:
    subprocess.run([*_uv(), "pip", "install", "--quiet", "--target", str(target), "--no-deps",
                    "--python-version", PYTHON_VERSION, "--python-platform", PLATFORM,
                    "--only-binary", ":all:", "-r", str(REQUIREMENTS)], check=True)
    for p in list(target.rglob("__pycache__")):
        shutil.rmtree(p, ignore_errors=True)
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts (fastapi, ...) are of no use on Lambda


def _check_imports(names: set[str]) -> None:
    """Every ``include.*`` module the packaged code imports is in the package."""
    missing = set()
    for path, name in sources():
        if path.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            mods = ([a.name for a in node.names] if isinstance(node, ast.Import)
                    else [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            for mod in mods:
                if mod.split(".")[0] != "include":
                    continue
                as_file, as_pkg = mod.replace(".", "/") + ".py", mod.replace(".", "/") + "/__init__.py"
                if as_file not in names and as_pkg not in names and not any(n.startswith(mod.replace(".", "/") + "/") for n in names):
                    missing.add(f"{name} imports {mod}")
    if missing:
        raise SystemExit("the Lambda package misses modules its code imports (add them to FOUNDATION):\n  "
                         + "\n  ".join(sorted(missing)))


def _zip(out: Path, staging: Path, digest: str) -> None:
    files = sorted(p for p in staging.rglob("*") if p.is_file())
    tmp = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for p in files:
            info = zipfile.ZipInfo(str(p.relative_to(staging)), date_time=(2020, 1, 1, 0, 0, 0))  # reproducible
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16  # Lambda needs world-readable files
            z.writestr(info, p.read_bytes())
        z.comment = digest.encode()
    tmp.replace(out)


def sizes(zip_path: Path = OUT) -> dict[str, int]:
    with zipfile.ZipFile(zip_path) as z:
        unzipped = sum(i.file_size for i in z.infolist())
    return {"zipped": zip_path.stat().st_size, "unzipped": unzipped,
            "limit_zipped": LIMIT_ZIPPED, "limit_unzipped": LIMIT_UNZIPPED}


def build(out: Path = OUT, *, force: bool = False) -> Path:
    """The package at ``out``; reused when its inputs have not changed."""
    digest = inputs_hash()
    if not force and out.exists():
        with zipfile.ZipFile(out) as z:
            if z.comment.decode() == digest:
                return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aqicast-lambda-", dir=out.parent) as tmp:
        staging = Path(tmp) / "pkg"
        _install_wheels(staging)
        for path, name in sources():
            dst = staging / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dst)
        names = {str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file()}
        _check_imports(names)
        bad = sorted({n.split("/")[0] for n in names if n.split("/")[0] in FORBIDDEN})
        if bad:
            raise SystemExit(f"the Lambda package must not contain {bad} (requirements-lambda.txt pulled them in)")
        _zip(out, staging, digest)
    s = sizes(out)
    if s["zipped"] > LIMIT_ZIPPED or s["unzipped"] > LIMIT_UNZIPPED:
        raise SystemExit(f"{out} exceeds Lambda's limits: {s}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--force", action="store_true", help="rebuild even if the inputs did not change")
    args = parser.parse_args()
    out = build(Path(args.out), force=args.force)
    s = sizes(out)
    mib = 2**20
    print(f"{out}  runtime {RUNTIME} {ARCHITECTURE}  handler {HANDLER}")
    print(f"zipped   {s['zipped'] / mib:6.1f} MiB of {s['limit_zipped'] / mib:.0f} MiB (direct upload limit)")
    print(f"unzipped {s['unzipped'] / mib:6.1f} MiB of {s['limit_unzipped'] / mib:.0f} MiB")


if __name__ == "__main__":
    main()
