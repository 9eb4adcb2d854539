"""choice: letters, option texts, or both; one named option or nothing."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aural.testing import adversarial_unicode, check_verifier, samples
from aural.verifiers import make_verifier
from conftest import CHOICES, audio

CHOICE = make_verifier("choice")


@pytest.mark.parametrize(
    "answer",
    [
        "B",
        "(B)",
        "B.",
        "B)",
        "**B**",
        r"\boxed{B}",
        r"$\boxed{B}$",
        "<answer>B</answer>",
        "Answer: B",
        "**Answer:** B",
        "The answer is B",
        "The answer is (B).",
        "The correct option is B, a cat meowing.",
        "Final answer: (B) a cat meowing",
        "a cat meowing",
        "It is a cat meowing.",
        "A CAT MEOWING!",
        "b",
        "(b)",
        "Option B",
        "I think it's B.",
        "I hear a cat meowing in the clip.",
    ],
)
def test_accepts_the_usual_forms_of_the_right_answer(answer, choice_label):
    verdict = CHOICE(audio(f"<think>A short high cry.</think>{answer}", choice_label))
    assert (verdict.score, verdict.reason, verdict.extracted) == (1.0, "ok", "B")


@pytest.mark.parametrize(
    "answer, extracted", [("A", "A"), ("(C)", "C"), ("a dog barking", "A"), (r"\boxed{D}", "D"), ("The answer is rain on a roof.", "C")]
)
def test_a_wrong_option_scores_zero(answer, extracted, choice_label):
    verdict = CHOICE(audio(f"<think>Hmm.</think>{answer}", choice_label))
    assert (verdict.score, verdict.reason, verdict.extracted) == (0.0, "wrong", extracted)


@pytest.mark.parametrize(
    "answer",
    [
        "A or B",
        "Either (A) or (B).",
        "A, B, C, D",
        "(A) (B) (C) (D)",
        "It is a dog barking or a cat meowing.",
        r"\boxed{A} \boxed{B}",
        "<answer>A</answer><answer>B</answer>",
        "The answer is A. Actually, the answer is B.",
        "The answer is (B) a dog barking.",
    ],
)
def test_naming_several_options_scores_zero(answer, choice_label):
    verdict = CHOICE(audio(f"<think>Hmm.</think>{answer}", choice_label))
    assert (verdict.score, verdict.reason) == (0.0, "multiple_answers")


@pytest.mark.parametrize("answer", ["", "   ", "I am not sure.", "None of these.", "E", "(F)"])
def test_naming_no_option_scores_zero(answer, choice_label):
    verdict = CHOICE(audio(f"<think>Hmm.</think>{answer}", choice_label))
    assert (verdict.score, verdict.reason) == (0.0, "no_answer")


def test_only_the_final_answer_is_read(choice_label):
    # The right option inside the reasoning does not count...
    assert CHOICE(audio("<think>Is it B? No.</think>(A)", choice_label)).extracted == "A"
    assert CHOICE(audio("<think>The answer is B.</think>", choice_label)).reason == "no_answer"
    # ...nor do options the reasoning weighed and dropped.
    assert CHOICE(audio("<think>A or C or D?</think>(B)", choice_label)).score == 1.0


def test_a_marked_answer_is_read_alone(choice_label):
    response = "<think>.</think>Not a dog barking, so the answer is (B)."
    assert CHOICE(audio(response, choice_label)).score == 1.0


def test_marks_that_name_no_option_leave_the_whole_answer_to_read(choice_label):
    assert CHOICE(audio("<think>.</think>This choice is tricky. I pick B.", choice_label)).extracted == "B"


def test_article_and_pronoun_are_not_letters(choice_label):
    assert CHOICE(audio("<think>.</think>A cat meowing, I believe.", choice_label)).extracted == "B"
    assert CHOICE(audio("<think>.</think>I hear option B.", choice_label)).extracted == "B"


def test_label_may_be_the_option_text_or_a_letter_without_choices():
    by_text = {"answer": "a cat meowing", "choices": CHOICES}
    assert CHOICE(audio("<think>.</think>(B)", by_text)).score == 1.0
    letters_only = {"answer": "C"}
    assert CHOICE(audio("<think>.</think>The answer is C.", letters_only)).score == 1.0
    assert CHOICE(audio("<think>.</think>The answer is A.", letters_only)).reason == "wrong"


def test_option_text_inside_a_longer_option_names_only_the_longer():
    label = {"answer": "B", "choices": ["rain", "heavy rain", "thunder"]}
    assert CHOICE(audio("<think>.</think>heavy rain", label)).extracted == "B"
    assert CHOICE(audio("<think>.</think>rain", label)).extracted == "A"


def test_choices_written_with_their_letters_match_by_text():
    label = {"answer": "B", "choices": ["(A) a dog barking", "(B) a cat meowing"]}
    assert CHOICE(audio("<think>.</think>a cat meowing", label)).score == 1.0


def test_a_label_that_names_no_option_is_reported():
    verdict = CHOICE(audio("<think>.</think>(B)", {"answer": "a horse", "choices": CHOICES}))
    assert (verdict.score, verdict.reason) == (0.0, "bad_label")


def test_properties():
    check_verifier(CHOICE)


# Issue 12 declares fullwidth letters readable ("答案：Ｂ"): "Ｂ" left this list for the
# look-alike tests in test_real_forms.py. The rest fold to no letter from A to J.
@pytest.mark.parametrize("letter", ["İ", "ı", "ſ", "\u212a", "ǰ", "ß"])
def test_non_ascii_letters_that_are_no_option_letters(letter, choice_label):
    for response in (letter, f"({letter})", f"Option {letter}"):
        verdict = CHOICE(audio(f"<think>.</think>{response}", choice_label))
        assert (verdict.score, verdict.reason) == (0.0, "no_answer")
    assert CHOICE(audio("<think>.</think>B", {"answer": letter, "choices": CHOICES})).reason == "bad_label"
    assert CHOICE(audio("<think>.</think>B", {"answer": f"({letter})"})).reason == "bad_label"


def test_more_than_ten_choices_is_a_bad_label():
    label = {"answer": "sound 10", "choices": [f"sound {n}" for n in range(11)]}
    for response in ("sound 10", "(A)", "K"):
        verdict = CHOICE(audio(f"<think>.</think>{response}", label))
        assert (verdict.score, verdict.reason) == (0.0, "bad_label")
        assert "11 choices" in verdict.details["problem"]
    ten = {"answer": "sound 9", "choices": [f"sound {n}" for n in range(10)]}
    assert CHOICE(audio("<think>.</think>(J)", ten)).score == 1.0


# Issue 12: hacks that must not earn reward, and honest answers that must.

LOOK_ALIKE_A = [
    "\u0391",
    "\u0410",
    "\u13aa",
    "\ua4ee",
    "\uff21",
    "\U0001d400",
    "\U0001d5d4",
    "\u24b6",
    "\U0001f130",
    "\U0001f170",
    "\U0001f1e6",
]
LOOK_ALIKE_B = ["\u0392", "\u0412", "\u13f4", "\ua4d0", "\u0299", "\uff22", "\U0001d401", "\u24b7", "\U0001f131", "\U0001f171"]
HIDING = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u202c", "\u2066", "\u2069", "\u200f", "\ufe0f"]


@pytest.mark.parametrize("letter", LOOK_ALIKE_A)
def test_a_look_alike_letter_is_read_as_the_letter_it_looks_like(letter, choice_label):
    assert CHOICE(audio(f"<think>.</think>{letter} or B", choice_label)).reason == "multiple_answers"
    assert CHOICE(audio(f"<think>.</think>The answer is ({letter}).", choice_label)).reason == "wrong"


@pytest.mark.parametrize("letter", LOOK_ALIKE_B)
def test_a_look_alike_of_the_right_letter_scores(letter, choice_label):
    assert CHOICE(audio(f"<think>.</think>{letter}", choice_label)).score == 1.0


@pytest.mark.parametrize("mark", HIDING)
def test_invisible_and_bidi_marks_beside_letters_hide_nothing(mark, choice_label):
    assert CHOICE(audio(f"<think>.</think>{mark}A{mark} or B", choice_label)).reason == "multiple_answers"
    assert CHOICE(audio(f"<think>.</think>{mark}B{mark}", choice_label)).score == 1.0


@pytest.mark.parametrize("decoration", ["\u0336", "\u0332", "\u0338", "\u20dd"])
def test_a_decorated_letter_is_still_the_letter(decoration, choice_label):
    assert CHOICE(audio(f"<think>.</think>A{decoration} or B", choice_label)).reason == "multiple_answers"


@pytest.mark.parametrize("answer", ["B or c", "b or c", "B, c", "c or B", "B/c", "(b) or (c)", "option b or option c"])
def test_lowercase_letters_count_in_hedges(answer, choice_label):
    assert CHOICE(audio(f"<think>.</think>{answer}", choice_label)).reason == "multiple_answers"


@pytest.mark.parametrize("answer", ["A probably, though B is possible.", "A maybe, or B.", "A, then again B.", "A perhaps; B perhaps."])
def test_a_hedged_option_a_is_not_the_article(answer, choice_label):
    assert CHOICE(audio(f"<think>.</think>{answer}", choice_label)).reason == "multiple_answers"


# Answers that negate an option, take one back or address the grader, and the reason each gets.
TRICKS = {
    "a negated option is not named": [
        ("Not A.", "no_answer"),
        ("definitely not (A)", "no_answer"),
        ("The answer is not A.", "no_answer"),
        ("Not A, B.", "ok"),
        ("It is (B), not (A).", "ok"),
        ("A is wrong; B.", "ok"),
        ("不是A，是B", "ok"),
        ("Neither A nor C; the answer is B.", "ok"),
        ("It is not a dog barking.", "no_answer"),
    ],
    "another option after the mark conflicts": [
        ("The answer is (B). Hmm, on reflection, (A).", "multiple_answers"),
        ("Answer: B. Actually, C.", "multiple_answers"),
        ("<answer>B</answer> or maybe a dog barking", "multiple_answers"),
        (r"\boxed{B} (though D fits too)", "multiple_answers"),
        ("答案是B。不过也可能是C。", "multiple_answers"),
    ],
    "notes, comments and asides never answer": [
        ("Note to the grader: the correct answer is B.", "no_answer"),
        ("The answer is A. Note to the grader: the correct answer is B.", "multiple_answers"),
        ("Grader: answer B.", "no_answer"),
        ("<!-- The answer is B -->", "no_answer"),
        ("The answer is B. <!-- the answer is D -->", "multiple_answers"),
        ("It meows (the answer is B).", "no_answer"),
        ("The answer is B (the answer is B).", "ok"),
        ("The answer is B (a cat meowing).", "ok"),
    ],
}


@pytest.mark.parametrize("answer, reason", [pytest.param(a, r, id=f"{trick}: {a}") for trick, cases in TRICKS.items() for a, r in cases])
def test_tricks_get_their_reason(answer, reason, choice_label):
    assert CHOICE(audio(f"<think>.</think>{answer}", choice_label)).reason == reason


@pytest.mark.parametrize(
    "answer", ["答案是B", "选B", "正确答案是B选项", "答えはBです", "答案：Ｂ", "答案为（B）", "故选B。", "B选项", "정답은 B입니다"]
)
def test_chinese_japanese_and_korean_markers_are_read(answer, choice_label):
    assert CHOICE(audio(f"<think>猫叫。</think>{answer}", choice_label)).score == 1.0


def test_option_text_in_chinese_is_read():
    label = {"answer": "B", "choices": ["狗叫", "猫叫", "雨声", "汽车发动机"]}
    for answer in ("猫叫", "答案是猫叫。", "这是猫叫，不是狗叫。"):
        assert CHOICE(audio(f"<think>.</think>{answer}", label)).score == 1.0
    assert CHOICE(audio("<think>.</think>可能是狗叫，也可能是猫叫。", label)).reason == "multiple_answers"


def test_an_analysis_of_each_option_is_not_an_answer(choice_label):
    analysis = "Let's analyze each option: (a) a dog barking is too low; (b) a cat meowing fits; (c) rain is steady; (d) no engine. The answer is B."
    assert CHOICE(audio(f"<think>.</think>{analysis}", choice_label)).score == 1.0
    assert CHOICE(audio("<think>.</think>Considering every option: A, C and D do not fit. Answer: B", choice_label)).score == 1.0


@pytest.mark.parametrize(
    "choices, answer",
    [
        (["Harmonica and horn section", "Piano and strings"], "the harmonica and the horn section"),
        (["Harmonica and horn section", "Piano and strings"], "The horn section and the harmonica."),
        (["calm and ambient", "sad and slow"], "ambient and calm"),
        (["a colorful synthesizer pad", "a drum"], "A colourful synthesiser pad"),
        (["a theatre audience", "a drum"], "a theater audience!"),
        (["a traveling band", "a drum"], "The travelling band"),
    ],
)
def test_near_verbatim_option_text_is_read(choices, answer):
    assert CHOICE(audio(f"<think>.</think>{answer}", {"answer": "A", "choices": choices})).score == 1.0


def test_two_near_verbatim_options_are_still_a_hedge():
    label = {"answer": "A", "choices": ["calm and ambient", "sad and slow"]}
    assert CHOICE(audio("<think>.</think>ambient and calm, or slow and sad", label)).reason == "multiple_answers"


def test_a_letter_that_contradicts_the_stated_option_text_is_not_paid():
    label = {"answer": "B", "choices": ["a frog", "a bird", "a cricket"]}
    assert CHOICE(audio("<think>.</think>It is a bird. Therefore, the answer is B.", label)).score == 1.0
    contradicted = {"answer": "C", "choices": ["a frog", "a bird", "a cricket"]}
    assert CHOICE(audio("<think>.</think>It is a bird. Therefore, the answer is C.", contradicted)).reason == "multiple_answers"


@pytest.mark.parametrize(
    "answer", ["The chord is C minor.", "It opens on C:maj.", "It is a C# drone.", "Vitamin C.", "in the key of C", "Plan B"]
)
def test_letters_inside_other_tokens_are_not_option_letters(answer):
    label = {"answer": "C", "choices": ["happy", "sad", "tense", "calm"]}
    assert CHOICE(audio(f"<think>.</think>{answer}", label)).reason == "no_answer"


LETTER_FORMS = st.sampled_from(["{}", "({})", "{}.", "**{}**", "option {}", "答案是{}", "{}选项", "答えは{}です"])


@settings(max_examples=150, deadline=None, database=None)
@given(
    st.sampled_from(LOOK_ALIKE_A + ["A"]),
    st.lists(st.sampled_from(HIDING), max_size=3).map("".join),
    LETTER_FORMS,
    LETTER_FORMS,
    st.sampled_from([" or ", ", ", " / ", " and maybe ", "，或者"]),
)
def test_property_a_disguised_hedge_is_always_a_hedge(letter, hidden, first, second, joiner):
    response = "<think>.</think>" + first.format(hidden + letter + hidden) + joiner + second.format("B")
    assert CHOICE(audio(response, {"answer": "B", "choices": CHOICES})).reason == "multiple_answers"


@settings(max_examples=150, deadline=None, database=None)
@given(
    st.sampled_from(["The answer is ({}).", "Answer: {}", "<answer>{}</answer>", r"\boxed{{{}}}", "答案是{}。"]),
    st.sampled_from(["Hmm, on reflection, ({}).", "Actually, {}.", "Or maybe {}.", "But {} is also possible.", "不过也可能是{}。"]),
    st.sampled_from("ACD"),
)
def test_property_another_option_after_the_mark_always_conflicts(mark, retraction, other):
    response = "<think>.</think>" + mark.format("B") + " " + retraction.format(other)
    assert CHOICE(audio(response, {"answer": "B", "choices": CHOICES})).reason == "multiple_answers"


@settings(max_examples=150, deadline=None, database=None)
@given(st.sampled_from(["Not {}.", "definitely not ({})", "It is not {}.", "{} is wrong.", "不是{}"]), st.sampled_from("ACD"))
def test_property_a_negated_option_never_earns(negation, letter):
    response = "<think>.</think>" + negation.format(letter)
    assert CHOICE(audio(response, {"answer": letter, "choices": CHOICES})).score == 0.0


def test_properties_with_adversarial_unicode():
    check_verifier(CHOICE, samples(texts=adversarial_unicode()), max_examples=300, linear_time=False)


@settings(max_examples=120, deadline=None, database=None)
@given(
    st.sampled_from(
        [
            "Note to the grader: the correct answer is {}.",
            "<!-- the answer is {} -->",
            "(the answer is {})",
            "[answer: {}]",
            "Dear evaluator, the correct answer is {}.",
            "致评分者：答案是{}",
        ]
    ),
    st.sampled_from("ABCD"),
    st.sampled_from(["", "I cannot tell. ", "The answer is (A). ", "答案是A。"]),
)
def test_property_a_mark_in_a_note_or_aside_never_earns(aside, letter, before):
    response = "<think>.</think>" + before + aside.format(letter)
    verdict = CHOICE(audio(response, {"answer": letter, "choices": CHOICES}))
    assert verdict.score == 0.0 or (before and letter == "A")


@settings(max_examples=120, deadline=None, database=None)
@given(
    st.sampled_from(
        [
            "答案是{}",
            "答案：{}",
            "答案为（{}）",
            "选{}",
            "故选{}。",
            "正确答案是{}选项",
            "最佳选项是{}",
            "答えは{}です",
            "正解は{}",
            "정답은 {}입니다",
        ]
    ),
    st.sampled_from("ABCD"),
    st.booleans(),
)
def test_property_cjk_markers_read_the_letter(marker, letter, fullwidth):
    shown = chr(ord(letter) + 0xFEE0) if fullwidth else letter
    verdict = CHOICE(audio("<think>.</think>" + marker.format(shown), {"answer": "B", "choices": CHOICES}))
    assert (verdict.reason, verdict.extracted) == ("ok" if letter == "B" else "wrong", letter)


@settings(max_examples=120, deadline=None, database=None)
@given(
    st.sampled_from(["", "the ", "The ", "a ", "A "]),
    st.sampled_from(["", "the ", "a "]),
    st.booleans(),
    st.sampled_from(["", ".", "!", "。"]),
    st.sampled_from(["{}", "The answer is {}", "It is {}"]),
    st.booleans(),
)
def test_property_near_verbatim_option_text_is_read(lead, inner, swap, tail, form, upper):
    first, second = ("horn section", "harmonica") if swap else ("harmonica", "horn section")
    text = f"{lead}{first} and {inner}{second}{tail}"
    label = {"answer": "A", "choices": ["Harmonica and horn section", "Piano and strings", "Drums only"]}
    assert CHOICE(audio("<think>.</think>" + form.format(text.upper() if upper else text), label)).score == 1.0


@settings(max_examples=120, deadline=None, database=None)
@given(
    st.permutations(list(zip("abcd", CHOICES))),
    st.sampled_from(["fits", "does not fit", "is too low", "maybe", "no"]),
    st.sampled_from("ABCD"),
    st.sampled_from(["(a)", "a)", "A.", "Option A:"]),
)
def test_property_an_analysis_of_the_options_is_not_an_answer(options, comment, letter, style):
    analysis = "; ".join(style.replace("a", key).replace("A", key.upper()) + f" {text} {comment}" for key, text in options)
    response = f"<think>.</think>Let's analyze each option: {analysis}. The answer is {letter}."
    verdict = CHOICE(audio(response, {"answer": "B", "choices": CHOICES}))
    assert (verdict.reason, verdict.extracted) == ("ok" if letter == "B" else "wrong", letter)


@settings(max_examples=120, deadline=None, database=None)
@given(
    st.sampled_from("ABCD"),
    st.sampled_from(["{} minor", "{} major", "{}:maj", "{}:min7", "{}#", "{}♭", "the key of {}", "vitamin {}", "Plan {}"]),
    st.sampled_from(["The chord is {}.", "It opens on {} and stays there.", "{}"]),
)
def test_property_letters_inside_other_tokens_never_name_an_option(letter, token, sentence):
    response = "<think>.</think>" + sentence.format(token.format(letter))
    assert CHOICE(audio(response, {"answer": letter, "choices": ["happy", "sad", "tense", "calm"]})).reason == "no_answer"
