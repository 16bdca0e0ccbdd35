"""A pipeline's schedule: EventBridge's rate and cron grammar, checked at synth with an error naming the bad part."""

from __future__ import annotations

import re
from typing import Any

import pytest

from stacks.config import ConfigError, PipelineConfig
from stacks.config.schedule import ExpressionKind, schedule_problem
from tests.unit.stacks.config.raw import parse_one

CRON = "cron(minutes hours day-of-month month day-of-week year)"
FORMS = f"must be rate(value unit) or {CRON}"
UNITS = "is not one of minute, minutes, hour, hours, day, days (lower case)"
RATE_SHAPE = "must be rate(value unit): a value, one space and a unit, with no other white space"
ONE_DAY_FIELD = "exactly one of them must be '?', {} (EventBridge takes the day from one of the two fields)"
L_OR_W = "must be L (the last day), LW (the last weekday) or nW (the weekday nearest day n), alone, when it uses L or W"
ONE_EXPRESSION = "with other days: a field that uses it holds one expression"
EMPTY_ITEM = "has an empty item in its list (two commas together, or one at an end)"
MIXED = "mixes a name and a number: a range's ends are both numbers or both names"
DAYS = "a number 1-7 or a name SUN-SAT"
MONTHS = "a number 1-12 or a name JAN-DEC"
SCHEDULE_RULE = f"schedule must be an EventBridge rate(value unit) or {CRON} expression, got"

# AWS's own examples (eb-cron-expressions.html, eb-rate-expressions.html), then cases LocalStack's AWS-validated
# tests saw AWS accept, then forms of each wildcard the documentation describes.
VALID = [
    "cron(0 10 * * ? *)",
    "cron(15 12 * * ? *)",
    "cron(0 18 ? * MON-FRI *)",
    "cron(0 8 1 * ? *)",
    "cron(0/15 * * * ? *)",
    "cron(0/10 * ? * MON-FRI *)",
    "cron(0/5 8-17 ? * MON-FRI *)",
    "cron(0/30 20-2 ? * MON-FRI *)",
    "cron(0 12 * * ? *)",
    "cron(5,35 14 * * ? *)",
    "cron(15 10 ? * 6L 2019-2022)",
    "rate(1 minute)",
    "rate(5 minutes)",
    "rate(1 hour)",
    "rate(1 day)",
    "cron(0 2 ? * SAT *)",
    "cron(0 2 ? * SAT#3 *)",
    "cron(* * ? * SAT#3 *)",
    "cron(0/5 5 ? JAN 1-5 2022)",
    "cron(15 10 ? * 6L 2002-2005)",
    "cron(0-15/1 8-8 ? * 2,3,4,5,6,7 *)",
    "cron(30-30 13-13 ? * 2,4,6 *)",
    "cron(1-31/30 1-1 ? * 1,7 *)",
    "cron(*/15 * * * ? *)",
    "cron(0-59/10 0-23/2 ? * * *)",
    "cron(0 6 ? JAN,FEB,MAR * *)",
    "cron(0 6 1-15 * ? *)",
    "cron(0 6 L * ? *)",
    "cron(0 6 LW * ? *)",
    "cron(0 6 3W * ? *)",
    "cron(0 6 ? * L *)",
    "cron(0 6 ? * 3#2 *)",
    "cron(0 6 ? * FRI-MON *)",
    "cron(0 6 ? NOV-FEB MON *)",
    "cron(0 23 * * ? 1970-2199)",
    "cron(0 0 1 1/3 ? 2030/2)",
    "cron(59 23 31 12 ? 2199)",
    "cron(0  6\t* * ? *)",
    "rate(12 hours)",
    "rate(7 days)",
    "rate(1440 minutes)",
]


@pytest.mark.parametrize("expression", VALID)
def test_documented_expressions_are_accepted(expression: str) -> None:
    assert schedule_problem(expression) is None
    assert parse_one(schedule=expression).schedule == expression


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        # the brief's case: four fields counted right, a minute EventBridge has not
        ("cron(99 * * * ? *)", "cron minutes field '99' is out of range 0-59"),
        ("cron(71 8 1 * ? *)", "cron minutes field '71' is out of range 0-59"),
        ("cron(0,99 * * * ? *)", "cron minutes field '0,99': '99' is out of range 0-59"),
        ("cron(0 24 * * ? *)", "cron hours field '24' is out of range 0-23"),
        ("cron(0 20-25 * * ? *)", "cron hours field '20-25': '25' is out of range 0-23"),
        ("cron(0 6 0 * ? *)", "cron day-of-month field '0' is out of range 1-31"),
        ("cron(0 6 32 * ? *)", "cron day-of-month field '32' is out of range 1-31"),
        ("cron(0 6 1 13 ? *)", "cron month field '13' is out of range 1-12"),
        ("cron(0 6 ? * 0 *)", "cron day-of-week field '0' is out of range 1-7"),
        ("cron(0 6 ? * 8 *)", "cron day-of-week field '8' is out of range 1-7"),
        ("cron(0 6 * * ? 1969)", "cron year field '1969' is out of range 1970-2199"),
        ("cron(0 6 * * ? 2200)", "cron year field '2200' is out of range 1970-2199"),
        ("cron(0 dummy ? * MON-FRI *)", "cron hours field 'dummy' is not a number 0-23"),
        ("cron(7 20 * * NOT *)", f"cron day-of-week field 'NOT' is not {DAYS}"),
        ("cron(0 6 ? * mon *)", f"cron day-of-week field 'mon' is not {DAYS} (names are upper case)"),
        ("cron(0 6 ? jan MON *)", f"cron month field 'jan' is not {MONTHS} (names are upper case)"),
        ("cron(0 6 * JANUARY ? *)", f"cron month field 'JANUARY' is not {MONTHS}"),
        ("cron(0 MON * * ? *)", "cron hours field 'MON' is not a number 0-23"),
        ("cron(0 6 * * ? -2030)", "cron year field '-2030': '' is not a number 1970-2199"),
        # '?': only in the day fields, alone, in exactly one of them
        ("cron(0 1 * * * *)", "cron day-of-month '*' and day-of-week '*': " + ONE_DAY_FIELD.format("neither is")),
        ("cron(0 6 1 * MON *)", "cron day-of-month '1' and day-of-week 'MON': " + ONE_DAY_FIELD.format("neither is")),
        ("cron(0 6 ? * ? *)", "cron day-of-month '?' and day-of-week '?': " + ONE_DAY_FIELD.format("both are")),
        ("cron(? 6 * * ? *)", "cron minutes field '?' may not be '?': only day-of-month and day-of-week may"),
        ("cron(0 6 * * ? ?)", "cron year field '?' may not be '?': only day-of-month and day-of-week may"),
        ("cron(0 6 1,? * ? *)", "cron day-of-month field '1,?' must be '?' alone when it uses '?'"),
        # '/': a step 1 to the field's size, never in day-of-week
        ("cron(*/60 * * * ? *)", "cron minutes field '*/60' needs a step 1-59 after '/'"),
        ("cron(0/0 * * * ? *)", "cron minutes field '0/0' needs a step 1-59 after '/'"),
        ("cron(0 */24 * * ? *)", "cron hours field '*/24' needs a step 1-23 after '/'"),
        ("cron(0 6 1/32 * ? *)", "cron day-of-month field '1/32' needs a step 1-31 after '/'"),
        ("cron(0 6 1 1/x ? *)", "cron month field '1/x' needs a step 1-12 after '/'"),
        ("cron(0,5/ 6 * * ? *)", "cron minutes field '0,5/': '5/' needs a step 1-59 after '/'"),
        ("cron(0 6 ? * 2/2 *)", "cron day-of-week field '2/2' may not use '/': its wildcards are , - * ? L #"),
        ("cron(/5 6 * * ? *)", "cron minutes field '/5': '' is not a number 0-59"),
        # lists and ranges
        ("cron(0 6 1,,15 * ? *)", f"cron day-of-month field '1,,15' {EMPTY_ITEM}"),
        ("cron(0, 6 * * ? *)", f"cron minutes field '0,' {EMPTY_ITEM}"),
        (
            "cron(*,5 6 * * ? *)",
            "cron minutes field '*,5' lists '*' with other values, though '*' already means every value",
        ),
        ("cron(0 6 ? * MON-6 *)", f"cron day-of-week field 'MON-6' {MIXED}"),
        ("cron(0 6 ? 1-DEC MON *)", f"cron month field '1-DEC' {MIXED}"),
        (
            "cron(0 6 * * ? 2030-2026)",
            "cron year field '2030-2026' runs backwards: a year range goes from the earlier to the later",
        ),
        ("cron(0 6-* * * ? *)", "cron hours field '6-*': '*' is not a number 0-23"),
        ("cron(0 1-2-3 * * ? *)", "cron hours field '1-2-3': '2-3' is not a number 0-23"),
        # L, W and #: where AWS documents them, alone
        ("cron(L 6 * * ? *)", "cron minutes field 'L' is not a number 0-59"),
        ("cron(0 6 ? L * *)", f"cron month field 'L' is not {MONTHS}"),
        ("cron(0 6 L-3 * ? *)", f"cron day-of-month field 'L-3' {L_OR_W}"),
        ("cron(0 6 L,15 * ? *)", f"cron day-of-month field 'L,15' {L_OR_W}"),
        ("cron(0 6 W * ? *)", f"cron day-of-month field 'W' {L_OR_W}"),
        ("cron(0 6 32W * ? *)", "cron day-of-month field '32W': '32' is out of range 1-31"),
        ("cron(0 6 ? * 8L *)", "cron day-of-week field '8L': '8' is out of range 1-7"),
        (
            "cron(0 6 ? * LW *)",
            "cron day-of-week field 'LW' must be L, dL (the last day d of the month) or d#n (its nth), alone",
        ),
        ("cron(0 6 ? * 6L,2 *)", f"cron day-of-week field '6L,2' lists 'L' {ONE_EXPRESSION}"),
        ("cron(0 6 ? * 3#1,6#3 *)", f"cron day-of-week field '3#1,6#3' lists '#' {ONE_EXPRESSION}"),
        ("cron(0 6 ? * 3#0 *)", "cron day-of-week field '3#0' needs a week 1-5 of the month after '#'"),
        ("cron(0 6 ? * 3#6 *)", "cron day-of-week field '3#6' needs a week 1-5 of the month after '#'"),
        ("cron(0 6 ? * 9#2 *)", "cron day-of-week field '9#2': '9' is out of range 1-7"),
        ("cron(0 6 ? * #2 *)", f"cron day-of-week field '#2': '' is not {DAYS}"),
        ("cron(0 6 15# * ? *)", "cron day-of-month field '15#' is not a number 1-31"),
        # the six fields
        ("cron(0 6 * * ?)", f"must be {CRON}: 6 fields, got 5"),
        ("cron(0 0 6 * * ? *)", f"must be {CRON}: 6 fields, got 7"),
        ("cron()", f"must be {CRON}: 6 fields, got 0"),
        ("cron(INVALID)", f"must be {CRON}: 6 fields, got 1"),
        ("cron( 0 6 * * ? *)", f"must be {CRON} with no white space just inside the parentheses"),
        # rate(value unit)
        ("rate(1 days)", "rate unit 'days' must be 'day' when the value is 1"),
        ("rate(1 hours)", "rate unit 'hours' must be 'hour' when the value is 1"),
        ("rate(1 minutes)", "rate unit 'minutes' must be 'minute' when the value is 1"),
        ("rate(5 hour)", "rate unit 'hour' must be 'hours' when the value is more than 1"),
        ("rate(10 day)", "rate unit 'day' must be 'days' when the value is more than 1"),
        ("rate(0 minutes)", "rate value '0' is not a positive integer"),
        ("rate(-10 minutes)", "rate value '-10' is not a positive integer"),
        ("rate(1.5 hours)", "rate value '1.5' is not a positive integer"),
        ("rate(foo minutes)", "rate value 'foo' is not a positive integer"),
        ("rate(10 seconds)", f"rate unit 'seconds' {UNITS}"),
        ("rate(1 week)", f"rate unit 'week' {UNITS}"),
        ("rate(10 MINUTES)", f"rate unit 'MINUTES' {UNITS}"),
        ("rate(10 minutess)", f"rate unit 'minutess' {UNITS}"),
        ("rate(10)", RATE_SHAPE),
        ("rate()", RATE_SHAPE),
        ("rate( 10 minutes )", RATE_SHAPE),
        ("rate(10  minutes)", RATE_SHAPE),
        # neither
        (" rate(10 minutes)", "must not start or end with white space"),
        ("cron(0 6 * * ? *) ", "must not start or end with white space"),
        ("every day", FORMS),
        ("0 6 * * ? *", FORMS),
        ("cron(0 6 * * ? *", FORMS),
        ("RATE(1 day)", f"{FORMS} ('rate' is written in lower case)"),
        ("Cron(0 6 * * ? *)", f"{FORMS} ('cron' is written in lower case)"),
        ("at(2026-12-31T23:59:59)", FORMS),
    ],
)
def test_invalid_expressions_say_which_part_is_wrong_and_why(expression: str, problem: str) -> None:
    assert schedule_problem(expression) == problem


@pytest.mark.reliability(
    "input",
    "A schedule EventBridge would refuse at deploy: cron(99 * * * ? *), ? in both day fields, rate(1 days)",
    "Refused at synth naming the pipeline, the field, the expression and the bad part",
)
@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (
            "cron(99 * * * ? *)",
            "pipeline 'churn': schedule 'cron(99 * * * ? *)': cron minutes field '99' is out of range 0-59",
        ),
        (
            "cron(0 6 ? * ? *)",
            "pipeline 'churn': schedule 'cron(0 6 ? * ? *)': cron day-of-month '?' and day-of-week '?'",
        ),
        (
            "rate(1 days)",
            "pipeline 'churn': schedule 'rate(1 days)': rate unit 'days' must be 'day' when the value is 1",
        ),
        ("every day", "pipeline 'churn': schedule 'every day': must be rate(value unit) or cron(minutes hours"),
        ("", f"pipeline 'churn': {SCHEDULE_RULE} \"\""),
        (5, f"pipeline 'churn': {SCHEDULE_RULE} 5"),
    ],
)
def test_the_configuration_error_names_the_pipeline_the_field_and_the_bad_part(schedule: Any, expected: str) -> None:
    # GIVEN a pipeline whose schedule EventBridge would refuse at deploy / WHEN it is parsed at synth
    with pytest.raises(ConfigError) as error:
        parse_one(schedule=schedule)

    # THEN the error names the pipeline, the field, the expression and what is wrong in it
    assert str(error.value).startswith(expected)


def test_another_kind_of_expression_is_one_more_entry() -> None:
    # GIVEN the kinds a Scheduler schedule would take: a one-time at(...) (its check here a stand-in)
    kinds = {"at": ExpressionKind("at(yyyy-mm-ddThh:mm:ss)", lambda body: None if body.startswith("2") else "bad")}

    # WHEN expressions are judged against them / THEN only that kind passes, and the error names it
    assert schedule_problem("at(2026-12-31T23:59:59)", kinds=kinds) is None
    assert schedule_problem("at(x)", kinds=kinds) == "bad"
    assert schedule_problem("rate(1 day)", kinds=kinds) == "must be at(yyyy-mm-ddThh:mm:ss)"


@pytest.mark.parametrize("expression", VALID)
def test_the_json_schema_pattern_lets_every_valid_expression_through(expression: str) -> None:
    # An editor checking the pipelines file with the schema must not flag a schedule the synth accepts.
    pattern = PipelineConfig.model_json_schema()["properties"]["schedule"]["pattern"]

    assert re.search(pattern, expression)
