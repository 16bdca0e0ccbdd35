"""IAM's policy evaluation for the local runtime: does a set of identity policies allow an action on a resource?

As the IAM User Guide's "Policy evaluation logic" and "Condition operators" pages describe it (checked 2026-12):
- an explicit Deny in any statement that applies wins; otherwise an Allow that applies allows; otherwise the
  request is denied implicitly;
- a statement applies when its Action (or NotAction) matches the action, its Resource (or NotResource) matches
  the resource and every condition in its Condition block holds;
- actions match case-insensitively, resources case-sensitively, both with the wildcards `*` and `?`; an ARN
  condition compares each of the six colon-separated parts of the ARN on its own;
- the operators of a Condition block, and the keys under one operator, must all hold; the values listed for one
  key are alternatives (any may match), except for the negated operators (`StringNotEquals`, ...), which hold
  when the request's value matches none of them;
- a key missing from the request makes a condition false, except for the negated operators (true), the
  `...IfExists` form (true), `Null` (which tests for it) and `ForAllValues:` (true on an empty set).

moto's own evaluator (moto/iam/access_control.py) is not used: it knows only StringEquals, counts a key missing
from the request as a match, and denies outright when an Allow's condition does not hold.

What this module cannot judge it says: a condition key the request context neither holds nor knows to be absent
is not evaluated and is named in the decision's `unchecked`, for the caller to report. Nothing is denied for want
of knowledge: such a condition counts as holding in an Allow statement and as not holding in a Deny statement.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from functools import lru_cache
from typing import Any

ContextValue = str | Sequence[str]
_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class Effect(Enum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


@dataclass(frozen=True)
class Request:
    """What IAM evaluates: the action (`s3:GetObject`), the resource's ARN, and the request context's keys.

    `context` holds the keys the request carries (`aws:SecureTransport`, `s3:prefix`, `iam:PassedToService`, ...);
    `absent` names keys known not to be in it (a resource without that tag), so that conditions on them are
    judged rather than reported as unchecked. `complete` names key prefixes (`aws:ResourceTag/`) of which the
    context holds every key there is: a key under one of them that the context lacks is absent (a tag the resource
    does not have). Key names are case-insensitive, as in IAM.
    """

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    absent: frozenset[str] = frozenset()
    complete: frozenset[str] = frozenset()
    # What a denial names as the resource when AWS names it as the caller gave it (a secret by its name), not as IAM
    # evaluated it; None: the resource itself.
    named: str | None = None

    def value(self, key: str) -> tuple[bool, list[str] | None]:
        """(judgeable, values): values None when the key is known to be absent."""
        lowered = key.lower()
        for name, value in self.context.items():
            if name.lower() == lowered:
                return True, [value] if isinstance(value, str) else list(value)
        known = lowered in {name.lower() for name in self.absent}
        return known or any(lowered.startswith(prefix.lower()) for prefix in self.complete), None


@dataclass(frozen=True)
class Decision:
    """The outcome, the statement that decided it (its policy's name and Sid), and the keys not evaluated.

    `allowing` names every Allow statement that applied, as (policy name, index in the policy's statements): what
    a report of the grants in use counts.
    """

    effect: Effect
    policy: str | None = None
    sid: str | None = None
    unchecked: frozenset[str] = frozenset()
    allowing: tuple[tuple[str, int], ...] = ()

    @property
    def allowed(self) -> bool:
        return self.effect is Effect.ALLOW


@dataclass(frozen=True)
class NamedPolicy:
    """A policy document and the name the decision reports it by (the role's inline policy name, a policy ARN)."""

    name: str
    document: Mapping[str, Any]


def evaluate(policies: Iterable[NamedPolicy], request: Request) -> Decision:
    """Evaluate identity policies as IAM does: an explicit Deny wins, then an Allow, else an implicit deny."""
    allowed: Decision | None = None
    allowing: list[tuple[str, int]] = []
    unchecked: set[str] = set()
    for policy in policies:
        for index, statement in enumerate(statements_of(policy.document)):
            applies, missing = _applies(statement, request)
            unchecked |= missing
            if not applies:
                continue
            decided = Decision(
                Effect.EXPLICIT_DENY if statement.get("Effect") == "Deny" else Effect.ALLOW,
                policy=policy.name,
                sid=statement.get("Sid"),
            )
            if decided.effect is Effect.EXPLICIT_DENY:
                return Decision(decided.effect, decided.policy, decided.sid, frozenset(unchecked))
            allowed = allowed or decided
            allowing.append((policy.name, index))
    if allowed is not None:
        return Decision(allowed.effect, allowed.policy, allowed.sid, frozenset(unchecked), tuple(allowing))
    return Decision(Effect.IMPLICIT_DENY, unchecked=frozenset(unchecked))


def statements_of(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A policy's statements; a single statement object counts as a list of one, as IAM reads it."""
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _applies(statement: Mapping[str, Any], request: Request) -> tuple[bool, set[str]]:
    """Whether the statement applies to the request, and the condition keys it could not judge."""
    if "NotAction" in statement:
        if any(action_matches(pattern, request.action) for pattern in listed(statement["NotAction"])):
            return False, set()
    elif not any(action_matches(pattern, request.action) for pattern in listed(statement.get("Action", []))):
        return False, set()
    if "NotResource" in statement:
        if any(resource_matches(pattern, request.resource) for pattern in listed(statement["NotResource"])):
            return False, set()
    elif not any(resource_matches(pattern, request.resource) for pattern in listed(statement.get("Resource", []))):
        return False, set()
    unknown_holds = statement.get("Effect") != "Deny"
    return _conditions_hold(statement.get("Condition", {}), request, unknown_holds=unknown_holds)


def listed(value: Any) -> list[str]:
    """A policy element's values as strings: JSON booleans as IAM reads them (`true`), numbers as written."""
    items = value if isinstance(value, list) else [value]
    return [str(item).lower() if isinstance(item, bool) else str(item) for item in items]


def action_matches(pattern: str, action: str) -> bool:
    """`s3:Get*` matches `s3:GetObject`; service prefixes and action names compare without regard to case."""
    return _wildcard(pattern.lower()).fullmatch(action.lower()) is not None


def resource_matches(pattern: str, resource: str) -> bool:
    """`arn:aws:s3:::bucket/data/*` matches `arn:aws:s3:::bucket/data/2026-12-04.csv`; `*` matches any resource."""
    return _wildcard(pattern).fullmatch(resource) is not None


@lru_cache(maxsize=4096)
def _wildcard(pattern: str) -> re.Pattern[str]:
    """A pattern's regular expression: `*` any run of characters, `?` one character, the rest literal."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


def _conditions_hold(block: Mapping[str, Any], request: Request, *, unknown_holds: bool) -> tuple[bool, set[str]]:
    """Whether every condition holds, and the keys not judged (each counts as `unknown_holds`)."""
    unchecked: set[str] = set()
    for operator, keys in block.items():
        for key, expected in keys.items():
            expected_values = listed(expected)
            judgeable, actual = request.value(key)
            if not judgeable or any(_unknown_variable(value, request) for value in expected_values):
                unchecked.add(key)
                if unknown_holds:
                    continue
                return False, unchecked
            substituted = [_substitute(value, request) for value in expected_values]
            if not condition_holds(operator, substituted, actual):
                return False, unchecked
    return True, unchecked


def _unknown_variable(value: str, request: Request) -> bool:
    return any(not request.value(name)[0] for name in _VARIABLE.findall(value))


def _substitute(value: str, request: Request) -> str:
    def replace(match: re.Match[str]) -> str:
        values = request.value(match.group(1))[1]
        return values[0] if values else ""

    return _VARIABLE.sub(replace, value)


def condition_holds(operator: str, expected: Sequence[str], actual: Sequence[str] | None) -> bool:
    """One condition: `operator` (with its `ForAnyValue:`/`ForAllValues:` prefix or `IfExists` suffix) between the
    policy's values and the request's (None: the key is absent from the request)."""
    quantifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    if name == "Null":
        return (actual is None) == (expected[0].lower() == "true")
    if name not in _OPERATORS:
        raise UnknownOperatorError(operator)
    negated, compare = _OPERATORS[name]
    if actual is None:
        if quantifier == "ForAllValues":
            return True
        return if_exists or (negated and quantifier != "ForAnyValue")

    def one(value: str) -> bool:
        matched = any(_safe(compare, pattern, value) for pattern in expected)
        return not matched if negated else matched

    if quantifier == "ForAllValues":
        return all(one(value) for value in actual)
    return any(one(value) for value in actual)


class UnknownOperatorError(ValueError):
    """A condition operator IAM does not have: a policy IAM would refuse (MalformedPolicyDocument)."""

    def __init__(self, operator: str) -> None:
        super().__init__(f"unknown condition operator {operator!r}")


def _safe(compare: Callable[[str, str], bool], expected: str, actual: str) -> bool:
    try:
        return compare(expected, actual)
    except ValueError:  # a number, date or address that does not parse never matches
        return False


def _string_like(expected: str, actual: str) -> bool:
    return resource_matches(expected, actual)


def _arn_like(expected: str, actual: str) -> bool:
    expected_parts, actual_parts = expected.split(":", 5), actual.split(":", 5)
    if len(expected_parts) != 6 or len(actual_parts) != 6:
        return False
    return all(resource_matches(e, a) for e, a in zip(expected_parts, actual_parts, strict=True))


def _number(text: str) -> float:
    return float(text)


def _date(text: str) -> datetime:
    if re.fullmatch(r"\d+", text):
        return datetime.fromtimestamp(int(text), UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _ip_in(expected: str, actual: str) -> bool:
    return ipaddress.ip_address(actual) in ipaddress.ip_network(expected, strict=False)


_OPERATORS: dict[str, tuple[bool, Callable[[str, str], bool]]] = {
    "StringEquals": (False, lambda e, a: e == a),
    "StringNotEquals": (True, lambda e, a: e == a),
    "StringEqualsIgnoreCase": (False, lambda e, a: e.lower() == a.lower()),
    "StringNotEqualsIgnoreCase": (True, lambda e, a: e.lower() == a.lower()),
    "StringLike": (False, _string_like),
    "StringNotLike": (True, _string_like),
    "NumericEquals": (False, lambda e, a: _number(a) == _number(e)),
    "NumericNotEquals": (True, lambda e, a: _number(a) == _number(e)),
    "NumericLessThan": (False, lambda e, a: _number(a) < _number(e)),
    "NumericLessThanEquals": (False, lambda e, a: _number(a) <= _number(e)),
    "NumericGreaterThan": (False, lambda e, a: _number(a) > _number(e)),
    "NumericGreaterThanEquals": (False, lambda e, a: _number(a) >= _number(e)),
    "DateEquals": (False, lambda e, a: _date(a) == _date(e)),
    "DateNotEquals": (True, lambda e, a: _date(a) == _date(e)),
    "DateLessThan": (False, lambda e, a: _date(a) < _date(e)),
    "DateLessThanEquals": (False, lambda e, a: _date(a) <= _date(e)),
    "DateGreaterThan": (False, lambda e, a: _date(a) > _date(e)),
    "DateGreaterThanEquals": (False, lambda e, a: _date(a) >= _date(e)),
    "Bool": (False, lambda e, a: e.lower() == a.lower()),
    "BinaryEquals": (False, lambda e, a: e == a),
    "IpAddress": (False, _ip_in),
    "NotIpAddress": (True, _ip_in),
    "ArnEquals": (False, _arn_like),
    "ArnLike": (False, _arn_like),
    "ArnNotEquals": (True, _arn_like),
    "ArnNotLike": (True, _arn_like),
}
