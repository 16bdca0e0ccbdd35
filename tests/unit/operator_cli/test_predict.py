"""Predictions from the CLI: reading records, encoding and batching them, splitting answers, errors."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

from operator_cli.predict import (
    CSV,
    JSON,
    JSONLINES,
    MAX_PAYLOAD_BYTES,
    Encoding,
    InputRecord,
    PredictError,
    PredictInputError,
    check_endpoint,
    invoke_batches,
    parse_answer,
    plan_batches,
    read_csv_records,
    read_json_records,
    render_table,
    results_to_json,
)


@dataclass
class FakeRuntime:
    """sagemaker-runtime that answers `{"predictions": [{"score": <first feature * 10>}]}` per CSV row."""

    bodies: list[bytes] = field(default_factory=list)
    error: ClientError | None = None

    def invoke_endpoint(self, **request: Any) -> dict[str, Any]:
        self.bodies.append(request["Body"])
        if self.error is not None:
            raise self.error
        rows = request["Body"].decode().splitlines()
        answer = {"predictions": [{"score": float(row.split(",")[0]) * 10} for row in rows]}
        return {"Body": io.BytesIO(json.dumps(answer).encode()), "ContentType": JSON}


@dataclass
class FakeSageMaker:
    status: str | None = "InService"
    reason: str | None = None

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:  # noqa: N803 - boto3's parameter name
        if self.status is None:
            raise client_error("ValidationException", f"Could not find endpoint {EndpointName}.")
        return {"EndpointStatus": self.status, **({"FailureReason": self.reason} if self.reason else {})}


def client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "InvokeEndpoint")


def csv_records(*rows: str) -> list[InputRecord]:
    return read_csv_records("".join(row + "\n" for row in rows), "--csv rows.csv")


# Reading records


def test_csv_rows_are_records_numbered_from_1_with_their_lines_blank_lines_skipped() -> None:
    records = read_csv_records('1,2\n\n3,"a,b"\n', "--csv rows.csv")

    assert [(r.number, r.line, r.value) for r in records] == [(1, 1, ["1", "2"]), (2, 3, ["3", "a,b"])]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,2\n3,4\n5\n", "--csv rows.csv line 3: 1 field, line 1 has 2"),
        ("\n1,2\n3,4,5\n", "--csv rows.csv line 3: 3 fields, line 2 has 2"),
        ("", "--csv rows.csv: no records"),
        ("\n \n", "--csv rows.csv: no records"),
    ],
)
def test_bad_csv_names_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(PredictInputError) as raised:
        read_csv_records(text, "--csv rows.csv")

    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("text", "values", "lines"),
    [
        ('[{"a": 1}, [1, 2]]', [{"a": 1}, [1, 2]], [0, 0]),
        ('{"a": 1}', [{"a": 1}], [1]),
        ('[1, 2]\n\n{"b": "x"}\n', [[1, 2], {"b": "x"}], [1, 3]),
        ('{\n  "a": 1\n}\n', [{"a": 1}], [1]),
    ],
)
def test_json_records_are_a_list_one_object_or_json_lines(text: str, values: list[Any], lines: list[int]) -> None:
    records = read_json_records(text, "--json-records r.json")

    assert [r.value for r in records] == values
    assert [r.line for r in records] == lines
    assert [r.number for r in records] == list(range(1, len(values) + 1))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1}\n{"a": 2}\n{"a": \n', "--json-records r.json line 3: not valid JSON"),
        ('\n[{"a": 1},\n {"a": }]', "--json-records r.json line 3: not valid JSON"),
        ('[{"a": 1}, "text"]', "--json-records r.json item 2: a record is a JSON object or array, got a string"),
        ('{"a": 1}\n7\n', "--json-records r.json line 2: a record is a JSON object or array, got a number"),
        ("[]", "--json-records r.json: no records"),
        ("  ", "--json-records r.json: no records"),
    ],
)
def test_bad_json_names_the_file_and_the_line_or_item(text: str, message: str) -> None:
    with pytest.raises(PredictInputError) as raised:
        read_json_records(text, "--json-records r.json")

    assert str(raised.value).startswith(message)


# Encoding and batching


@pytest.mark.parametrize(
    ("content_type", "records", "body"),
    [
        (CSV, csv_records("1,a b", '2,"x,y"'), b'1,a b\n2,"x,y"\n'),
        (CSV, read_json_records("[[1.5, null, true]]", "r"), b"1.5,,true\n"),
        (JSON, csv_records("1,2.5,,abc"), b'{"instances": [{"features":[1,2.5,null,"abc"]}]}'),
        (
            JSON,
            read_json_records('[[1, 2], {"features": [3]}]', "r"),
            b'{"instances": [{"features":[1,2]}, {"features":[3]}]}',
        ),
        (
            JSONLINES,
            read_json_records('[{"colour": "red"}, {"colour": "blue"}]', "r"),
            b'{"colour":"red"}\n{"colour":"blue"}\n',
        ),
        ("text/csv; charset=utf-8", csv_records("1,2"), b"1,2\n"),
    ],
)
def test_a_batch_body_carries_the_records_in_the_content_type(
    content_type: str, records: list[InputRecord], body: bytes
) -> None:
    encoding = Encoding.for_content_type(content_type)

    assert encoding.body([encoding.fragment(r) for r in records]) == body


def test_an_object_cannot_be_a_csv_row_and_an_unknown_content_type_is_refused() -> None:
    record = read_json_records('[[1], {"a": 1}]', "r")[1]

    with pytest.raises(PredictInputError, match="record 2 is a JSON object: text/csv takes arrays"):
        Encoding.for_content_type(CSV).fragment(record)
    with pytest.raises(PredictInputError, match="--content-type image/png: the CLI writes"):
        Encoding.for_content_type("image/png")


@pytest.mark.parametrize(
    ("sizes", "batch_size", "max_bytes", "batches"),
    [
        ([10] * 7, 3, MAX_PAYLOAD_BYTES, [range(0, 3), range(3, 6), range(6, 7)]),
        ([10] * 3, 500, MAX_PAYLOAD_BYTES, [range(0, 3)]),
        # JSON: 17 bytes of prefix and suffix, 2 per separator: 17 + 10 + 2 + 10 = 39 fits, a third does not
        ([10, 10, 10, 5], 500, 39, [range(0, 2), range(2, 4)]),
        ([30, 1, 1], 500, 50, [range(0, 2), range(2, 3)]),
    ],
)
def test_batches_hold_at_most_batch_size_records_and_max_bytes(
    sizes: list[int], batch_size: int, max_bytes: int, batches: list[range]
) -> None:
    encoding = Encoding.for_content_type(JSON)

    planned = plan_batches(sizes, encoding, batch_size=batch_size, max_bytes=max_bytes)

    assert planned == batches
    for batch in planned:
        assert encoding.size([sizes[i] for i in batch]) <= max_bytes


def test_a_record_over_the_limit_alone_is_named() -> None:
    with pytest.raises(
        PredictInputError, match="record 2 alone is 101 bytes encoded, over InvokeEndpoint's limit of 100"
    ):
        plan_batches([10, 101], Encoding.for_content_type(CSV), batch_size=5, max_bytes=100)


def test_the_default_limit_is_invoke_endpoints_body_limit_in_botocores_model() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker-runtime")

    assert model.operation_model("InvokeEndpoint").input_shape.members["Body"].metadata["max"] == MAX_PAYLOAD_BYTES


# Answers


@pytest.mark.parametrize(
    ("body", "content_type", "count", "values"),
    [
        (b'{"predictions": [{"score": 0.5}, {"score": 2}]}', JSON, 2, [0.5, 2]),
        (b'{"predictions": [{"score": 0.9, "predicted_label": 1}]}', "application/json; charset=utf-8", 1, [1]),
        (b'{"predictions": ["cat", "dog"]}', JSON, 2, ["cat", "dog"]),
        (b'["cat", "dog"]', JSON, 2, ["cat", "dog"]),
        (b'{"score": 1}\n{"score": 2}\n', JSONLINES, 2, [1, 2]),
        (b"0.5\nlabel-b\n1,0.9\n", CSV, 3, [0.5, "label-b", [1, 0.9]]),
    ],
)
def test_an_answer_splits_into_one_prediction_per_record(
    body: bytes, content_type: str, count: int, values: list[Any]
) -> None:
    predictions = parse_answer(body, content_type, count)

    assert predictions is not None
    assert [p.value for p in predictions] == values


@pytest.mark.parametrize(
    ("body", "content_type", "count"),
    [
        (b'{"predictions": [{"score": 1}]}', JSON, 2),
        (b'{"result": 1}', JSON, 1),
        (b"not json", JSON, 1),
        (b"anything", "text/plain", 1),
        (b"\xff\xfe", CSV, 1),
    ],
)
def test_an_answer_that_cannot_be_split_per_record_is_none(body: bytes, content_type: str, count: int) -> None:
    assert parse_answer(body, content_type, count) is None


def test_a_label_is_shown_with_its_score() -> None:
    predictions = parse_answer(b'{"predictions": [{"score": 0.93, "predicted_label": 1}]}', JSON, 1)

    assert predictions is not None
    assert predictions[0].shown() == "1 (score 0.93)"


# Invoking


def test_records_go_in_batches_and_each_prediction_stays_with_its_record() -> None:
    # GIVEN five records and batches of two
    runtime = FakeRuntime()
    records = csv_records("1,0", "2,0", "3,0", "4,0", "5,0")

    # WHEN they are invoked
    results = invoke_batches(runtime, "ep", records, Encoding.for_content_type(CSV), batch_size=2)

    # THEN three requests went, and each record got its own row's answer
    assert runtime.bodies == [b"1,0\n2,0\n", b"3,0\n4,0\n", b"5,0\n"]
    answers = results_to_json("ep", results)["predictions"]
    assert [(a["record"], a["input"][0], a["prediction"]) for a in answers] == [
        (n, str(n), n * 10.0) for n in range(1, 6)
    ]


def test_a_model_error_names_the_endpoint_and_the_batch() -> None:
    runtime = FakeRuntime(
        error=client_error("ModelError", 'Received client error (400) from primary with message "bad"')
    )

    with pytest.raises(PredictError) as raised:
        invoke_batches(runtime, "ep", csv_records("1,0", "2,0"), Encoding.for_content_type(CSV))

    assert str(raised.value) == (
        'endpoint ep answered an error for records 1-2: Received client error (400) from primary with message "bad"'
    )


@pytest.mark.parametrize(
    ("sagemaker", "message"),
    [
        (FakeSageMaker(status=None), "endpoint ep does not exist in AWS (us-east-1): no run has deployed a model yet"),
        (FakeSageMaker(status="Creating"), "endpoint ep is Creating, not InService"),
        (
            FakeSageMaker(status="Failed", reason="image not found"),
            "endpoint ep is Failed, not InService: it answers no predictions (image not found)",
        ),
    ],
)
def test_an_endpoint_that_cannot_answer_is_reported(sagemaker: FakeSageMaker, message: str) -> None:
    with pytest.raises(PredictError) as raised:
        check_endpoint(sagemaker, "ep", "AWS (us-east-1)")

    assert str(raised.value).startswith(message)


@pytest.mark.parametrize("status", ["InService", "Updating", "SystemUpdating"])
def test_an_endpoint_in_service_or_updating_answers(status: str) -> None:
    check_endpoint(FakeSageMaker(status=status), "ep", "AWS (us-east-1)")


# Output


def test_the_table_lines_up_records_and_predictions_and_shortens_long_records() -> None:
    runtime = FakeRuntime()
    records = csv_records("1," + "9" * 80, "2,0")
    results = invoke_batches(runtime, "ep", records, Encoding.for_content_type(CSV))

    lines = render_table(results, width=20).splitlines()

    assert lines == [
        "    #  record                prediction",
        "    1  1,99999999999999999…  10.0",
        "    2  2,0                   20.0",
    ]


def test_an_answer_that_cannot_be_split_is_printed_as_returned() -> None:
    @dataclass
    class OddRuntime:
        def invoke_endpoint(self, **request: Any) -> dict[str, Any]:
            return {"Body": io.BytesIO(b"two answers in one"), "ContentType": "text/plain"}

    results = invoke_batches(OddRuntime(), "ep", csv_records("1,0", "2,0"), Encoding.for_content_type(CSV))

    assert render_table(results).splitlines()[-2:] == ["records 1-2, answered as text/plain:", "two answers in one"]
    assert results_to_json("ep", results)["unsplit_answers"] == [
        {"records": [1, 2], "content_type": "text/plain", "body": "two answers in one"}
    ]
