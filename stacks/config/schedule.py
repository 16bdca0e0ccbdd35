"""A pipeline's `schedule`: an EventBridge rate or cron expression, checked at synth as EventBridge checks it at deploy.

The grammar, as AWS documents it (read 2026-12):
- https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html: six fields separated by white
  space, each field's values and wildcards (the `CRON_FIELDS` table); "If you use a '#' character, you can define
  only one expression in the day-of-week field"; "You can't specify the Day-of-month and Day-of-week fields in the
  same cron expression. If you specify a value or a * (asterisk) in one of the fields, you must use a ? (question
  mark) in the other". Its examples include a range that wraps past midnight (hours `20-2`).
- https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html: `rate(value unit)`, the value
  a positive number, the unit minute | minutes | hour | hours | day | days, singular exactly when the value is 1.
Cases that LocalStack's AWS-validated tests ran against AWS (tests/aws/services/events/test_events_schedule.py,
tests/aws/services/scheduler/test_scheduler.py): accepted `*/15`, `0-59/10`, `1-31/30`, `SAT#3`, `6L`, years in
the past; refused `rate(10 MINUTES)`, `rate( 10 minutes )`, ` rate(10 minutes)`, `rate(0 minutes)`,
`cron(0 1 * * * *)`, `cron(71 8 1 * ? *)`, `cron(7 20 * * NOT *)`, and (aws/aws-sdk-js#4212) `cron(*/60 * * * ? *)`.
Where AWS documents nothing, this refuses what Quartz's CronExpression refuses (EventBridge's fields, values and
wildcards are Quartz's, less the seconds): '?' in both day fields, 'L' listed with other days, a step larger than
the field, a year range that runs backwards, a range from a name to a number. It also refuses forms Quartz
takes but AWS does not document, such as lower-case names and `L-3`: a schedule refused at synth is fixed in a
minute, one refused at deploy fails the deployment.

The schedule is an EventBridge Scheduler schedule (stacks/constructs/schedule.py). Scheduler documents the same
rate and cron grammar (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html: six cron
fields with the same values and wildcards, `rate(value unit)` in minutes, hours or days), and LocalStack's Scheduler
validates its expressions with the rules' patterns: the checks here serve both. What differs is beside the
expression: the time zone, given apart (stacks/config/schedule_delivery.py), and `at(yyyy-mm-ddThh:mm:ss)`, which a
recurring pipeline schedule has no use for (a check for it would join `RULE_EXPRESSIONS` in a mapping of its own,
passed to `schedule_problem` as `kinds`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema

from stacks.config.fields import Rule


@dataclass(frozen=True)
class ExpressionKind:
    """A kind of schedule expression, `<name>(<body>)`: how it is written, and why a body would be refused."""

    syntax: str
    problem: Callable[[str], str | None]


@dataclass(frozen=True)
class CronField:
    """One of a cron expression's six fields: its values, the wildcards AWS allows in it, and the names it takes."""

    name: str
    low: int
    high: int
    wildcards: str
    names: tuple[str, ...] = ()  # the names of low, low + 1, ...: JAN is 1, SUN is 1
    wraps: bool = True  # a range may run past the end and start over: hours 20-2 (AWS's example)

    def accepted(self) -> str:
        """What a value of this field may be, in words."""
        named = f" or a name {self.names[0]}-{self.names[-1]}" if self.names else ""
        return f"a number {self.low}-{self.high}{named}"

    @property
    def largest_step(self) -> int:
        """The largest increment after '/': Quartz refuses 60 minutes, 24 hours, 32 days, 13 months (AWS: */60)."""
        return self.high if self.low == 0 else self.high - self.low + 1


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# The cron reference's table: field, values, wildcards.
CRON_FIELDS = (
    CronField("minutes", 0, 59, ",-*/"),
    CronField("hours", 0, 23, ",-*/"),
    CronField("day-of-month", 1, 31, ",-*?/LW"),
    CronField("month", 1, 12, ",-*/", names=_MONTHS),
    CronField("day-of-week", 1, 7, ",-*?L#", names=_DAYS),
    CronField("year", 1970, 2199, ",-*/", wraps=False),
)
_DAY_OF_MONTH, _DAY_OF_WEEK = CRON_FIELDS[2], CRON_FIELDS[4]
# "3#2 would be the second Tuesday of the month": a month holds at most five of each day of the week.
_LAST_NTH_DAY = 5

_EXPRESSION = re.compile(r"^(?P<kind>[A-Za-z]+)\((?P<body>.*)\)$", re.DOTALL)
_WHITE_SPACE = re.compile(r"[ \t]+")
_DIGITS = re.compile(r"^[0-9]+$")
_RATE_UNITS = {"minute": "minutes", "hour": "hours", "day": "days"}
_CRON_SYNTAX = "cron(minutes hours day-of-month month day-of-week year)"
_RATE_SYNTAX = "rate(value unit)"


class _FieldProblemError(ValueError):
    """What is wrong in one cron field: `problem` follows the field's text, or `part` when it names one."""

    def __init__(self, problem: str, part: str | None = None) -> None:
        super().__init__(problem, part)
        self.problem = problem
        self.part = part


def rate_problem(body: str) -> str | None:
    """Why EventBridge would refuse `rate(<body>)`; None when it is valid."""
    parts = body.split(" ")
    if len(parts) != 2 or not all(parts):
        return f"must be {_RATE_SYNTAX}: a value, one space and a unit, with no other white space"
    value, unit = parts
    units = [form for singular, plural in _RATE_UNITS.items() for form in (singular, plural)]
    if unit not in units:
        return f"rate unit {unit!r} is not one of {', '.join(units)} (lower case)"
    if not _DIGITS.match(value) or int(value) < 1:
        return f"rate value {value!r} is not a positive integer"
    singular = unit.removesuffix("s")
    if int(value) == 1 and unit != singular:
        return f"rate unit {unit!r} must be {singular!r} when the value is 1"
    if int(value) > 1 and unit == singular:
        return f"rate unit {unit!r} must be {_RATE_UNITS[singular]!r} when the value is more than 1"
    return None


def cron_problem(body: str) -> str | None:
    """Why EventBridge would refuse `cron(<body>)`; None when it is valid."""
    if body != body.strip(" \t"):
        return f"must be {_CRON_SYNTAX} with no white space just inside the parentheses"
    texts = _WHITE_SPACE.split(body) if body else []
    if len(texts) != len(CRON_FIELDS):
        return f"must be {_CRON_SYNTAX}: {len(CRON_FIELDS)} fields, got {len(texts)}"
    for field, text in zip(CRON_FIELDS, texts, strict=True):
        try:
            _check_field(field, text)
        except _FieldProblemError as error:
            where = f"cron {field.name} field {text!r}"
            if error.part is None or error.part == text:
                return f"{where} {error.problem}"
            return f"{where}: {error.part!r} {error.problem}"
    day_of_month, day_of_week = texts[2], texts[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        neither_or_both = "both are" if day_of_month == "?" else "neither is"
        return (
            f"cron day-of-month {day_of_month!r} and day-of-week {day_of_week!r}: exactly one of them must be '?', "
            f"{neither_or_both} (EventBridge takes the day from one of the two fields)"
        )
    return None


# A rule's schedule (AWS::Events::Rule ScheduleExpression), by the word before '('.
RULE_EXPRESSIONS: Mapping[str, ExpressionKind] = MappingProxyType(
    {"rate": ExpressionKind(_RATE_SYNTAX, rate_problem), "cron": ExpressionKind(_CRON_SYNTAX, cron_problem)}
)


def schedule_problem(expression: str, *, kinds: Mapping[str, ExpressionKind] = RULE_EXPRESSIONS) -> str | None:
    """Why EventBridge would refuse `expression`; None when it is a valid expression of one of `kinds`."""
    forms = " or ".join(kind.syntax for kind in kinds.values())
    if expression != expression.strip():
        return "must not start or end with white space"
    match = _EXPRESSION.match(expression)
    if not match:
        return f"must be {forms}"
    name, body = match["kind"], match["body"]
    if name not in kinds:
        lower_case = f" ({name.lower()!r} is written in lower case)" if name.lower() in kinds else ""
        return f"must be {forms}{lower_case}"
    return kinds[name].problem(body)


def _check_field(field: CronField, text: str) -> None:
    """Raises _FieldProblemError when `text` is not a valid value of `field`."""
    if "?" in text:
        if "?" not in field.wildcards:
            raise _FieldProblemError("may not be '?': only day-of-month and day-of-week may")
        if text != "?":
            raise _FieldProblemError("must be '?' alone when it uses '?'")
        return
    if field is _DAY_OF_MONTH and ("L" in text or "W" in text):
        _check_last_or_weekday(text)
        return
    if field is _DAY_OF_WEEK and ("L" in text or "#" in text):
        _check_last_or_nth_day(text)
        return
    items = text.split(",")
    for item in items:
        if not item:
            raise _FieldProblemError("has an empty item in its list (two commas together, or one at an end)")
        if item == "*" and len(items) > 1:
            raise _FieldProblemError("lists '*' with other values, though '*' already means every value")
        _check_item(field, item)


def _check_item(field: CronField, item: str) -> None:
    """One item of a list: '*', a value or a range, each with an optional /step."""
    start_to_end, slash, step = item.partition("/")
    if slash:
        if "/" not in field.wildcards:
            raise _FieldProblemError(f"may not use '/': its wildcards are {' '.join(field.wildcards)}")
        if not _DIGITS.match(step) or not 1 <= int(step) <= field.largest_step:
            raise _FieldProblemError(f"needs a step 1-{field.largest_step} after '/'", item)
    if start_to_end == "*":
        return
    start, dash, end = start_to_end.partition("-")
    first = _value(field, start)
    if not dash:
        return
    last = _value(field, end)
    if (start in field.names) != (end in field.names):
        raise _FieldProblemError("mixes a name and a number: a range's ends are both numbers or both names", item)
    if first > last and not field.wraps:
        raise _FieldProblemError(f"runs backwards: a {field.name} range goes from the earlier to the later", item)


def _value(field: CronField, text: str) -> int:
    """A number or a name of `field`, as a number."""
    if text in field.names:
        return field.names.index(text) + field.low
    if not _DIGITS.match(text):
        upper_case = " (names are upper case)" if text.upper() in field.names else ""
        raise _FieldProblemError(f"is not {field.accepted()}{upper_case}", text)
    if not field.low <= int(text) <= field.high:
        raise _FieldProblemError(f"is out of range {field.low}-{field.high}", text)
    return int(text)


def _check_last_or_weekday(text: str) -> None:
    """Day-of-month with L or W: L (the last day), LW (the last weekday) or nW (the weekday nearest day n), alone."""
    if text in ("L", "LW"):
        return
    day = text.removesuffix("W")
    if day == text or not _DIGITS.match(day):
        raise _FieldProblemError(
            "must be L (the last day), LW (the last weekday) or nW (the weekday nearest day n), alone, when it "
            "uses L or W"
        )
    _value(_DAY_OF_MONTH, day)


def _check_last_or_nth_day(text: str) -> None:
    """Day-of-week with L or #: L (Saturday), dL (the last day d of the month) or d#n (its nth), alone."""
    if "," in text:
        wildcard = "#" if "#" in text else "L"
        raise _FieldProblemError(f"lists '{wildcard}' with other days: a field that uses it holds one expression")
    if text == "L":
        return
    day, hash_sign, nth = text.partition("#")
    if not hash_sign:
        if not text.endswith("L"):
            raise _FieldProblemError("must be L, dL (the last day d of the month) or d#n (its nth), alone")
        _value(_DAY_OF_WEEK, text.removesuffix("L"))
        return
    _value(_DAY_OF_WEEK, day)
    if not _DIGITS.match(nth) or not 1 <= int(nth) <= _LAST_NTH_DAY:
        raise _FieldProblemError(f"needs a week 1-{_LAST_NTH_DAY} of the month after '#'")


def _check_schedule(expression: str) -> str:
    problem = schedule_problem(expression)
    if problem:
        raise ValueError(f"{expression!r}: {problem}")
    return expression


_SCHEDULE_RULE = f"an EventBridge {_RATE_SYNTAX} or {_CRON_SYNTAX} expression"

Schedule = Annotated[
    str,
    Field(min_length=1),
    AfterValidator(_check_schedule),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^(rate\([0-9]+ (minute|minutes|hour|hours|day|days)\)|cron\([^ \t]+([ \t]+[^ \t]+){5}\))$",
            "description": f"{_SCHEDULE_RULE}, checked field by field at synth as EventBridge checks it",
        }
    ),
    Rule(_SCHEDULE_RULE),
]
