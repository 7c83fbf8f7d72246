"""The README's IAM table (every role, who assumes it, each statement's actions and resources) and
checkov-suppression table, generated from the synthesised templates and ``infra/suppressions.py``.

    python scripts/iam_table.py [--cdk-out cdk.out] [--write README.md | --check README.md]

``--write`` replaces the text between the ``<!-- iam-table -->`` / ``<!-- checkov-suppressions -->``
markers; ``--check`` fails when the README is not what the templates say (tests/test_infra.py)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra import policies  # noqa: E402
from infra.suppressions import SUPPRESSIONS  # noqa: E402

SHOWN = {"AWS::AccountId": "<account>", "AWS::Region": "<region>", "AWS::Partition": "aws",
         "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "<stack>", "AWS::NoValue": None}


def _cell(items) -> str:
    items = items if isinstance(items, list) else [items]
    return "<br>".join(f"`{i}`" for i in items)


def iam_table(templates: dict[str, dict]) -> str:
    resolver = policies.Resolver(templates, pseudo=dict(SHOWN))
    rows = ["| role | assumed by | statement | actions | resources | condition |", "|---|---|---|---|---|---|"]
    for name, p in sorted(policies.principals(templates, resolver).items()):
        if not name.startswith("aqicast-"):
            name = f"{p.stack} {p.logical}"  # a role CDK names itself (the VPC flow log's)
        for st in p.statements:
            cond = "; ".join(f"{k}={v}" for tests in (st.get("Condition") or {}).values() for k, v in tests.items())
            rows.append(f"| {name} | {', '.join(p.trust)} | {st.get('Sid', '')} | {_cell(st['Action'])} | "
                        f"{_cell(st['Resource'])} | {cond.replace('|', '/') or ''} |")
    return "\n".join(rows)


def suppressions_table() -> str:
    return "\n".join(["| check | reason |", "|---|---|", *(f"| {k} | {v} |" for k, v in SUPPRESSIONS.items())])


def render(readme: str, templates: dict[str, dict]) -> str:
    for marker, body in (("iam-table", iam_table(templates)), ("checkov-suppressions", suppressions_table())):
        start, end = f"<!-- {marker} -->", f"<!-- /{marker} -->"
        if start not in readme or end not in readme:
            raise SystemExit(f"README has no {start} ... {end} markers")
        head, rest = readme.split(start, 1)
        readme = f"{head}{start}\n{body}\n{end}{rest.split(end, 1)[1]}"
    return readme


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cdk-out", default=str(ROOT / "cdk.out"))
    g = p.add_mutually_exclusive_group()
    g.add_argument("--write", metavar="README")
    g.add_argument("--check", metavar="README")
    args = p.parse_args(argv)
    templates = policies.load_templates(args.cdk_out)
    if args.write or args.check:
        path = Path(args.write or args.check)
        text = path.read_text(encoding="utf-8")
        new = render(text, templates)
        if args.write:
            path.write_text(new, encoding="utf-8")
        elif new != text:
            print(f"{path} is out of date: python scripts/iam_table.py --write {path}", file=sys.stderr)
            return 1
        return 0
    print(iam_table(templates) + "\n\n" + suppressions_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
