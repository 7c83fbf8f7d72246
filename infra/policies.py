"""The synthesised templates' IAM, read without CDK: which role has which statements, the
CloudFormation intrinsics in them resolved for one account and region, and an evaluator that says
whether a role's policies allow an (action, resource ARN, condition context) — IAM's rules for
what is used here: Allow/Deny, ``*``/``?`` wildcards in actions and resources (case-insensitive
actions), ``StringEquals``/``StringLike`` conditions (a statement whose condition key is absent
from the request does not apply). Used by the least-privilege tests and ``scripts/iam_table.py``.

Pure standard library: the main test venv imports it (CDK lives in ``.venv-infra``)."""
from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

PSEUDO = {"AWS::AccountId": "123456789012", "AWS::Region": "us-east-1", "AWS::Partition": "aws",
          "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "stack", "AWS::NoValue": None}


def load_templates(cdk_out: str | Path) -> dict[str, dict]:
    """Stack name -> template, from a cloud assembly (``cdk.out``)."""
    manifest = json.loads((Path(cdk_out) / "manifest.json").read_text())
    out = {}
    for name, art in manifest["artifacts"].items():
        if art.get("type") == "aws:cloudformation:stack":
            out[art.get("displayName", name)] = json.loads((Path(cdk_out) / art["properties"]["templateFile"]).read_text())
    return out


@dataclass
class Resolver:
    """Resolves intrinsics across the stacks (``Fn::ImportValue`` finds the exporting stack).
    ``names`` binds a resource, ``<stack>/<construct id>`` (``aqicast-storage/Lake``: the logical id
    CDK derives from it, ``Lake5F1B88EA``), to the physical name a run uses, e.g. the bucket a moto
    test created."""
    templates: dict[str, dict]
    names: dict[str, str] = field(default_factory=dict)
    pseudo: dict[str, str] = field(default_factory=lambda: dict(PSEUDO))

    def __post_init__(self):
        self.exports = {}
        for stack, t in self.templates.items():
            for out in t.get("Outputs", {}).values():
                export = out.get("Export", {}).get("Name")
                if export is not None:
                    self.exports[self.resolve(stack, export)] = (stack, out["Value"])

    def path(self, stack: str, logical: str) -> str:
        return self.templates[stack]["Resources"][logical].get("Metadata", {}).get("aws:cdk:path", f"{stack}/{logical}")

    def physical(self, stack: str, logical: str) -> str:
        """What ``Ref`` gives for a resource."""
        res = self.templates[stack]["Resources"][logical]
        for key, bound in self.names.items():
            where, _, construct = key.partition("/")
            if where == stack and re.fullmatch(re.escape(construct) + "[0-9A-F]{8}", logical):
                return bound
        props = res.get("Properties", {})
        for key in ("BucketName", "RoleName", "FunctionName", "TopicName", "LogGroupName", "Name"):
            if key in props and isinstance(self.resolve(stack, props[key]), str):
                return self.resolve(stack, props[key])
        return logical

    def attribute(self, stack: str, logical: str, attr: str) -> str:
        res = self.templates[stack]["Resources"][logical]
        kind, name, p = res["Type"], self.physical(stack, logical), self.pseudo
        acct, region, part = p["AWS::AccountId"], p["AWS::Region"], p["AWS::Partition"]
        if attr == "Arn":
            return {"AWS::S3::Bucket": f"arn:{part}:s3:::{name}",
                    "AWS::IAM::Role": f"arn:{part}:iam::{acct}:role/{name}",
                    "AWS::KMS::Key": f"arn:{part}:kms:{region}:{acct}:key/{logical}",
                    "AWS::Logs::LogGroup": f"arn:{part}:logs:{region}:{acct}:log-group:{name}:*",
                    "AWS::Lambda::Function": f"arn:{part}:lambda:{region}:{acct}:function:{name}",
                    }.get(kind, f"arn:{part}:unknown:{region}:{acct}:{logical}")
        return f"{logical}.{attr}"

    def resolve(self, stack: str, value):
        if isinstance(value, list):
            return [self.resolve(stack, v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.resolve(stack, v) for k, v in value.items()}
        (fn, arg), = value.items()
        t = self.templates[stack]
        if fn == "Ref":
            if arg in self.pseudo:
                return self.pseudo[arg]
            if arg in t.get("Parameters", {}):
                return str(t["Parameters"][arg].get("Default", f"<{arg}>"))
            if arg in t.get("Resources", {}) and t["Resources"][arg]["Type"] == "AWS::KMS::Key":
                return arg
            return self.physical(stack, arg)
        if fn == "Fn::GetAtt":
            logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
            return self.attribute(stack, logical, attr)
        if fn == "Fn::Join":
            sep, parts = arg
            return sep.join(str(self.resolve(stack, x)) for x in self.resolve(stack, parts))
        if fn == "Fn::Sub":
            text, local = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

            def sub(m):
                key = m.group(1)
                if key in local:
                    return str(self.resolve(stack, local[key]))
                if "." in key:
                    return str(self.resolve(stack, {"Fn::GetAtt": key.split(".", 1)}))
                return str(self.resolve(stack, {"Ref": key}))
            return re.sub(r"\$\{([^!}][^}]*)\}", sub, text)
        if fn == "Fn::Select":
            i, items = arg
            return self.resolve(stack, items)[int(self.resolve(stack, i))]
        if fn == "Fn::Split":
            sep, text = arg
            return str(self.resolve(stack, text)).split(sep)
        if fn == "Fn::GetAZs":
            return [f"{self.pseudo['AWS::Region']}{z}" for z in "abc"]
        if fn == "Fn::ImportValue":
            other, out = self.exports[self.resolve(stack, arg)]
            return self.resolve(other, out)
        if fn == "Fn::If":
            return self.resolve(stack, arg[1])
        return {fn: self.resolve(stack, arg)}


def _listify(x) -> list:
    return x if isinstance(x, list) else [x]


@dataclass(frozen=True)
class Principal:
    stack: str
    logical: str
    role_name: str
    path: str
    trust: tuple[str, ...]                 # the services that may assume it
    statements: tuple[dict, ...]           # resolved identity-policy statements
    policies: tuple[tuple[str, dict], ...]  # (policy logical id, raw document) for the walkers


def principals(templates: dict[str, dict], resolver: Resolver | None = None) -> dict[str, Principal]:
    """Role name -> its resolved statements (inline policies and AWS::IAM::Policy resources)."""
    r = resolver or Resolver(templates)
    roles: dict[tuple[str, str], dict] = {}
    for stack, t in templates.items():
        for logical, res in t.get("Resources", {}).items():
            if res["Type"] == "AWS::IAM::Role":
                p = res["Properties"]
                trust = tuple(sorted(s for st in p["AssumeRolePolicyDocument"]["Statement"]
                                     for s in _listify(st.get("Principal", {}).get("Service", []))))
                roles[(stack, logical)] = {"trust": trust, "statements": [], "policies": [],
                                           "name": r.physical(stack, logical), "path": r.path(stack, logical)}
                for pol in p.get("Policies", []):
                    roles[(stack, logical)]["policies"].append((f"{logical}.{pol['PolicyName']}", pol["PolicyDocument"]))
                if p.get("ManagedPolicyArns"):
                    roles[(stack, logical)]["managed"] = p["ManagedPolicyArns"]
    for stack, t in templates.items():
        for logical, res in t.get("Resources", {}).items():
            if res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                for ref in res["Properties"].get("Roles", []):
                    key = (stack, ref["Ref"]) if isinstance(ref, dict) and "Ref" in ref else None
                    if key in roles:
                        roles[key]["policies"].append((logical, res["Properties"]["PolicyDocument"]))
    out = {}
    for (stack, logical), info in roles.items():
        statements = tuple(r.resolve(stack, st) for _, doc in info["policies"] for st in _listify(doc["Statement"]))
        out[info["name"]] = Principal(stack, logical, info["name"], info["path"], info["trust"], statements,
                                      tuple(info["policies"]))
    return out


def _match(pattern: str, value: str, *, case: bool) -> bool:
    pattern = pattern.replace("[", "[[]")
    return fnmatch.fnmatchcase(value, pattern) if case else fnmatch.fnmatchcase(value.lower(), pattern.lower())


def _conditions_hold(condition: dict | None, context: dict[str, str]) -> bool:
    for op, tests in (condition or {}).items():
        for key, wanted in tests.items():
            if key not in context:
                return False
            got = context[key]
            if op == "StringEquals":
                ok = got in _listify(wanted)
            elif op == "StringLike":
                ok = any(_match(w, got, case=True) for w in _listify(wanted))
            else:  # an operator this evaluator does not know: never grant on it
                return False
            if not ok:
                return False
    return True


def statement_applies(st: dict, action: str, resource: str, context: dict[str, str]) -> bool:
    actions, resources = _listify(st.get("Action", [])), _listify(st.get("Resource", []))
    return (any(_match(a, action, case=False) for a in actions)
            and any(_match(r, resource, case=True) for r in resources)
            and _conditions_hold(st.get("Condition"), context))


def allowed(principal: Principal, action: str, resource: str, context: dict[str, str] | None = None) -> bool:
    context = context or {}
    hits = [st for st in principal.statements if statement_applies(st, action, resource, context)]
    return any(st["Effect"] == "Allow" for st in hits) and not any(st["Effect"] == "Deny" for st in hits)


def policy_documents(templates: dict[str, dict]):
    """Every policy document in the templates: (stack, logical id, kind, document), identity policies
    and resource policies (bucket, key, topic) alike."""
    for stack, t in templates.items():
        for logical, res in t.get("Resources", {}).items():
            p = res.get("Properties", {})
            kind = res["Type"]
            if kind == "AWS::IAM::Role":
                yield stack, logical, "trust", p["AssumeRolePolicyDocument"]
                for pol in p.get("Policies", []):
                    yield stack, logical, "identity", pol["PolicyDocument"]
            elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                yield stack, logical, "identity", p["PolicyDocument"]
            elif kind == "AWS::KMS::Key":
                yield stack, logical, "key", p["KeyPolicy"]
            elif kind in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"):
                yield stack, logical, "resource", p["PolicyDocument"]
