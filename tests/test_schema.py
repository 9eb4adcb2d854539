"""Sample, Label and Verdict: what fits the data model and what is refused, by field."""

import pytest

from aural.verifiers import FieldError, Label, Sample, Verdict


@pytest.mark.parametrize(
    "label, field",
    [
        ({"choices": ["a"]}, "label.answer"),
        ({"answer": ["B"]}, "label.answer"),
        ({"answer": "B", "choices": "a, b"}, "label.choices"),
        ({"answer": "B", "choices": []}, "label.choices"),
        ({"answer": "B", "choices": ["a", 2]}, "label.choices"),
        ({"answer": "B", "choices": 5}, "label.choices"),
        ({"answer": "B", "choices": True}, "label.choices"),
        ({"answer": "B", "choices": {"a": "b"}}, "label.choices"),
        ({"answer": "B", "kind": "essay"}, "label.kind"),
        (None, "label"),
        (True, "label"),
    ],
)
def test_bad_labels_name_their_field(label, field):
    with pytest.raises(FieldError) as error:
        Label.parse(label)
    assert error.value.field == field


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"response": None}, "response"),
        ({"modality": "video"}, "modality"),
        ({"finish_reason": "abort"}, "finish_reason"),
        ({"prompt": 3}, "prompt"),
    ],
)
def test_bad_samples_name_their_field(fields, field):
    values = {"response": "(B)", "label": "B", "modality": "audio", **fields}
    with pytest.raises(FieldError) as error:
        Sample(**values)
    assert error.value.field == field


def test_labels_keep_extra_fields_and_numbers_become_strings():
    label = Label.parse({"answer": 42, "audio": "clips/q1.wav"})
    assert (label.answer, label.kind, label.extra) == ("42", "number", {"audio": "clips/q1.wav"})
    assert Label.parse(2.5).answer == "2.5"


def test_verdict_equality_ignores_details():
    assert Verdict(1.0, "ok", "B", {"cue": "hum"}) == Verdict(1.0, "ok", "B", {"cue": "buzz"})
    assert Verdict(1.0).passed and not Verdict(0.4, "wrong").passed
