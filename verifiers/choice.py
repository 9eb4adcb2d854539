"""Multiple-choice answers, as in MMAU and MMSU: a letter, the option text, or both.

The final answer is folded first (`fold_answer`: look-alike, fullwidth and decorated
letters read as A–J, invisible marks dropped), then every mention of an option is
found: letters (``B``, ``(b)``, ``B选项``) and option texts (articles, British or
American spelling and the order of two conjuncts aside). A mention that is negated
("not A", "A is wrong", "不是A"), that belongs to another token ("C minor", "C:maj",
"vitamin C") or that is the article "A" / the pronoun "I" names nothing.
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Iterator
from functools import lru_cache
from typing import ClassVar

from .normalize import CJK, fold_answer, normalize_text
from .registry import register
from .schema import Sample, Verdict
from .think import ReadsThink

LETTERS = string.ascii_uppercase[:10]
_WORD = rf"[^\W{CJK}]"  # a word character that is not CJK: CJK text does not join a letter


@lru_cache(maxsize=64)
def _letter_mentions(letters: str) -> re.Pattern[str]:
    """Lone letters among `letters` (either case) not joined to a word: CJK beside them is no word."""
    both = letters + letters.lower()
    return re.compile(rf"(?=[{both}])(?<!{_WORD})(?<![’'\-\\])(?<!{_WORD}\.)([{both}])(?!{_WORD})(?![’'\-#♯♭])(?![.:]{_WORD})")


_NEXT_WORD = re.compile(r"\s+(\w+)")
# Words after a bare "A" or "I" that show it names an option ("A or B", "A probably")
# rather than being the English article or pronoun ("A dog barks", "I hear").
_OPTION_FOLLOWERS = frozenset("or and nor is was seems sounds fits matches would could might must vs versus".split())
_A_FOLLOWERS = _OPTION_FOLLOWERS | frozenset(
    "probably maybe perhaps possibly likely unlikely definitely certainly clearly surely though although but "
    "because since as so then too also again instead here best fits".split()
)
# Signs that a lone letter is an option letter whatever its case: brackets, "option c",
# a colon ("a: a dog"), or another letter joined to it ("B or c", "a/b").
_LETTER_BEFORE = re.compile(
    r"(?:(?:option|choice|answer)s?\W{0,3}|(?<![A-Za-z])[A-Ja-j]\)?\s*(?:,|/|\bor|\band|\bnor|\bvs\.?|\bversus|&)\s*\(?|[(\[]\s?)$",
    re.IGNORECASE,
)
_LETTER_AFTER = re.compile(r"\s?[)\]:]|\)?\s*(?:,|/|or\b|and\b|nor\b|vs\.?|versus\b|&)\s*\(?[A-Ja-j](?![A-Za-z])", re.IGNORECASE)
# Words that make a letter beside them a name, not an option: "vitamin C", "key of A", "C major".
_NAMING_BEFORE = (
    r"vitamin plan grade type class key(?:\s+of)? in note chord string part section side group team size "
    "model row seat gate platform exit level floor wing hepatitis blood"
).split()
_NAMING_AFTER = "major minor maj min flat sharp natural chord key note notes string scale octave dim aug sus m7".split()
_NOT_OPTION_BEFORE = re.compile(rf"\b(?:{'|'.join(_NAMING_BEFORE)})\s+$", re.IGNORECASE)
_NOT_OPTION_AFTER = re.compile(rf"\s*(?:{'|'.join(_NAMING_AFTER)})\b", re.IGNORECASE)
_FILLER = r"(?:definitely|certainly|surely|necessarily|really|just|quite|simply|option|choice|answer|the|a|an|be|is|that|it|選項|选项)"
_NEGATED_BEFORE = re.compile(
    r"(?:\b(?:not|never|no|nor|neither|rather\s+than|instead\s+of|unlike|except|excluding|besides|than|"
    r"as\s+opposed\s+to|other\s+than|compared\s+(?:to|with)|comparing\s+(?:it\s+)?(?:to|with))|n't|不是|并非|並非|而非|不选|不選|排除|非)"
    rf"[\s*\"'“(\[]*(?:{_FILLER}[\s*\"'“(\[]+)*$"
    # a list of the options set aside: "the other options (A, C, D) don't fit"
    r"|\b(?:other|remaining|rest\s+of\s+the)\s+(?:options?|choices?|answers?)[\s(:\[]*(?:[A-Ja-j][)\]]?\s*(?:,|and|or|&)\s*\(?)*$",
    re.IGNORECASE,
)
_NEGATED_AFTER = re.compile(
    r"[\s*\"'”)\]:\-–—]*(?:(?:is|are|was|were|seems|sounds|looks|can|should|be|definitely|clearly|certainly|also|option|choice)\s+){0,3}"
    r"(?:not?\b|\w*n't|never\b|wrong|incorrect|unlikely|false|impossible|ruled\s+out|excluded|eliminated|does\s+not|[✗✘❌×])"
    r"|\s*(?:选项|選項)?\s*(?:不对|不對|错误|錯誤|不正确|不正確|排除|可以排除|不是|不符)"
    # described, not chosen: "a dog barking would be lower", "rain is usually steady"
    r"|[\s*\"'”)\]]*(?:would|will|could|might)\s+(?:\w+\s+){0,2}?(?:lower|higher|louder|quieter|softer|deeper|"
    r"sharper|harsher|rougher|smoother|more|less|different|longer|shorter|slower|faster|lack)\b"
    r"|[\s*\"'”)\]]*(?:is|are|sounds?|tends?\s+to\s+be)\s+(?:usually|typically|generally|normally|often)\b",
    re.IGNORECASE,
)
# Before the mark, options weighed and left: "It could be a dog barking, but …".
_WEIGHED_BEFORE = re.compile(
    rf"\b(?:could|might|may|at\s+first|initially|considered|considering)\s+(?:(?:be|sound\s+like|seem\s+like|have\s+been)\s+)?(?:{_FILLER}\s+)*$",
    re.IGNORECASE,
)
_WINDOW = 48
_RULED_OUT_BUDGET = 256
_LONE = re.compile(r"[\s*_`()\[\]{}.:]*(?:(?:option|choice)\s+)?\(?((?-i:[A-Ja-j]))\)?(?:\s*(?:选项|選項))?[\s*_`().:]*", re.IGNORECASE)
_LEADING_LETTER = re.compile(r"^\s*\(?[A-Ja-j][).:]\s+")
_ARTICLE_WORDS = frozenset(("a", "an", "the"))
_SEPARATOR = r"[\W_]+(?:(?:a|an|the)[\W_]+)?"
_MUSIC = frozenset(("major", "minor", "flat", "sharp", "natural"))


def _option_text(option: str) -> tuple[str, set[str]] | None:
    """A pattern for `option`'s text that tolerates articles, British or American spelling,
    and the two conjuncts of "X and Y" in either order; with the characters it can start with."""
    words = normalize_text(_LEADING_LETTER.sub("", option)).split()
    if len(words) > 1 and not (words[0] == "a" and words[1] in _MUSIC):
        words = [w for w in words if w not in _ARTICLE_WORDS] or words
    if not words:
        return None
    orders = [words]
    if words.count("and") == 1 and 0 < words.index("and") < len(words) - 1:
        cut = words.index("and")
        orders.append(words[cut + 1 :] + ["and"] + words[:cut])
    body = "|".join(_SEPARATOR.join(map(_spelling, order)) for order in orders)
    firsts = {order[0][0] for order in orders}
    if re.match(f"[{CJK}]", words[0]):
        start = ""
    else:
        start, firsts = r"(?<!\w)(?:(?:a|an|the)[\W_]+)?", firsts | {"a", "t"}
    end = "" if re.search(f"[{CJK}]$", words[-1]) else r"(?!\w)"
    return f"{start}(?:{body}){end}", firsts


@lru_cache(maxsize=256)
def _options_pattern(choices: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern for every option's text, group ``o<index>`` naming the option: one scan
    finds them all, leftmost first, the longest option first where two start together."""
    readable = [(index, text) for index, option in enumerate(choices) if (text := _option_text(option)) is not None]
    texts = sorted(readable, key=lambda it: -len(it[1][0]))
    if not texts:
        return None
    firsts: set[str] = set().union(*(t[1] for _, t in texts))
    # The leading look-ahead lets most positions fail on one character test.
    ahead = "(?=[" + "".join(re.escape(c) for c in sorted(firsts)) + "])"
    body = "|".join(f"(?P<o{index}>{source})" for index, (source, _) in texts)
    return re.compile(f"{ahead}(?:{body})", re.IGNORECASE)


_SPELLING_WORDS = {
    "grey": "gr[ae]y",
    "gray": "gr[ae]y",
    "aeroplane": "(?:aero|air)plane",
    "airplane": "(?:aero|air)plane",
    "programme": "program(?:me)?",
    "program": "program(?:me)?",
    "aluminium": "alumini?um",
    "aluminum": "alumini?um",
    "defence": "defen[cs]e",
    "defense": "defen[cs]e",
    "licence": "licen[cs]e",
    "license": "licen[cs]e",
    "practise": "practi[cs]e",
    "practice": "practi[cs]e",
    "tyre": "t[yi]re",
    "tire": "t[yi]re",
}
_SPELLING_RULES = (
    (re.compile(r"(?<=[a-z])ou?r"), "ou?r"),  # colour / color
    (re.compile(r"(?<=[a-z]{2})i[sz](e|ed|es|ing|ation|ations|er|ers)$"), r"i[sz]\1"),  # realise / realize
    (re.compile(r"(?<=[a-z])y[sz](e|ed|es|ing|er)$"), r"y[sz]\1"),  # analyse / analyze
    (re.compile(r"(?<=[a-z]{2})t(?:re|er)(s?)$"), r"t(?:re|er)\1"),  # centre / center
    (re.compile(r"(?<=[a-z]{3})og(?:ue)?(s?)$"), r"og(?:ue)?\1"),  # dialogue / dialog
    (re.compile(r"(?<=[aeiou])ll?(ed|ing|er|ers)$"), r"ll?\1"),  # travelled / traveled
)


def _spelling(word: str) -> str:
    """A pattern for `word` that accepts its British and American spellings."""
    if word in _SPELLING_WORDS:
        return _SPELLING_WORDS[word]
    pattern = re.escape(word)
    if len(word) >= 5 and word.isascii():
        for rule, replacement in _SPELLING_RULES:
            pattern = rule.sub(replacement, pattern, count=1)
    return pattern


def _mentioned(text: str, choices: tuple[str, ...] | None, count: int, weighing: bool = False, enough: int = 2) -> set[int]:
    """The options `text` names by letter or by option text, negated ones left out; the
    scan stops once `enough` are found (two are a hedge, whichever they are).

    The context of a mention is read only until its option is known to be named, and an
    option ruled out more than `_RULED_OUT_BUDGET` times counts as named: the cost stays
    linear however often a text repeats a letter, and repeating "not A" hides no hedge.

    >>> _mentioned("Not A. It is (B), a cat.", ("a dog", "a cat"), 2)
    {1}
    """
    found: set[int] = set()
    ruled_out = [0] * len(LETTERS)

    def consider(index: int, start: int, end: int) -> None:
        if ruled_out[index] >= _RULED_OUT_BUDGET or not _negated(text, start, end, weighing):
            found.add(index)
        else:
            ruled_out[index] += 1

    pattern = _options_pattern(choices) if choices else None
    spans: Iterator[tuple[int, int, int]] = iter(())
    if pattern is not None:
        texts = ((m.start(), m.end(), int(str(m.lastgroup)[1:])) for m in pattern.finditer(text))  # every option is a group
        spans, pending = itertools.tee(texts)
        for start, end, index in pending:
            if index not in found:
                consider(index, start, end)
                if len(found) >= enough:
                    return found
    covered = iter(spans)
    span, previous = next(covered, None), None
    at = 0
    while True:
        # Once an option is named its letter is skipped by the scan itself, in C.
        letters = "".join(letter for index, letter in enumerate(LETTERS[:count]) if index not in found)
        m = _letter_mentions(letters).search(text, at) if letters else None
        if m is None:
            break
        at = m.end()
        while span is not None and span[1] <= m.start():
            span, previous = next(covered, None), span
        if span is not None and span[0] <= m.start():
            continue  # a letter inside an option's text
        index = LETTERS.index(m.group(1).upper())
        if _labels(previous, index, m.start() - 3, m.start()) or _labels(span, index, m.end(), m.end() + 3):
            continue  # the letter of the option text beside it ("a dog barking (A)"): one mention
        if _is_option_letter(text, m.group(1), m.start()):
            consider(index, m.start(), m.end())
        if len(found) >= enough:
            break
    return found


def named_options(text: str, choices: tuple[str, ...] | None, count: int, weighing: bool = False) -> set[int]:
    """The indices of the options `text` names, by letter or by option text; `weighing`
    (text before the mark) leaves out options only entertained ("it could be A, but").

    >>> named_options("The answer is (B) a cat.", ("a dog", "a cat"), 2)
    {1}
    >>> sorted(named_options("Either A or b.", ("a dog", "a cat"), 2))
    [0, 1]
    >>> named_options("A dog is barking, definitely not (B).", ("a dog", "a cat"), 2)
    {0}
    """
    lone = _LONE.fullmatch(text)
    if lone and LETTERS.index(lone.group(1).upper()) < count:
        return {LETTERS.index(lone.group(1).upper())}
    return _mentioned(text, choices, count, weighing)


def _labels(span: tuple[int, int, int] | None, index: int, low: int, high: int) -> bool:
    """Whether `span` is option `index`'s text with its near edge within ``[low, high]``."""
    return span is not None and span[2] == index and (low <= span[1] <= high or low <= span[0] <= high)


def _is_option_letter(text: str, letter: str, at: int) -> bool:
    """Whether the lone letter at `at` names an option rather than a word or part of a name."""
    before = text[max(0, at - _WINDOW) : at]
    after = text[at + 1 : at + 1 + _WINDOW]
    if _NOT_OPTION_BEFORE.search(before) or _NOT_OPTION_AFTER.match(after):
        return False
    if letter in "aiAI" and not after.startswith((")", "]", ":")):
        follower = _NEXT_WORD.match(after)
        followers = _A_FOLLOWERS if letter in "aA" else _OPTION_FOLLOWERS
        if follower and follower[1][0].islower() and follower[1] not in followers:
            return False  # the article "a" or the pronoun "I"
    return letter not in "ai" or _in_letter_context(before, after)


def _in_letter_context(before: str, after: str) -> bool:
    return bool(_LETTER_BEFORE.search(before) or _LETTER_AFTER.match(after))


def _negated(text: str, start: int, end: int, weighing: bool = False) -> bool:
    """Whether the mention at ``text[start:end]`` is ruled out ("not A", "A is wrong", "不是A"),
    only compared ("A would be lower"), or, when `weighing`, only entertained ("it could be A")."""
    before = text[max(0, start - _WINDOW) : start]
    return bool(
        _NEGATED_BEFORE.search(before) or _NEGATED_AFTER.match(text[end : end + _WINDOW]) or (weighing and _WEIGHED_BEFORE.search(before))
    )


def label_index(answer: str, choices: tuple[str, ...] | None) -> int | None:
    """The option a label means, given as a letter or as the option text.

    >>> label_index("(B)", None), label_index("A Cat", ("a dog", "a cat")), label_index("a cow", ("a dog",))
    (1, 1, None)
    """
    answer = fold_answer(answer)
    lone = _LONE.fullmatch(answer)
    if lone and (choices is None or LETTERS.index(lone.group(1).upper()) < len(choices)):
        return LETTERS.index(lone.group(1).upper())
    wanted = normalize_text(answer)
    for index, option in enumerate(choices or ()):
        if normalize_text(_LEADING_LETTER.sub("", option)) == wanted:
            return index
    return None


@register("choice")
class Choice(ReadsThink):
    """Multiple choice: 1.0 when the final answer names exactly the labelled option.

    Only the final answer is read. When it marks an answer (boxed, answer tags,
    ``Answer:``, ``答案是``) naming an option, the marks give the answer, and the rest must
    not contradict them: an option named after the mark, or the one option named before
    it ("…is a bird. Therefore, the answer is B"), that differs from the mark makes the
    answer conflicting; an enumeration of the options before the mark ("(a) … (b) … The
    answer is B") is analysis, not an answer.
    Notes to a grader, HTML comments and asides holding a mark never answer, and conflict
    when they name another option. Naming two different options scores 0
    (``multiple_answers``); naming none scores 0 (``no_answer``). A label that names no
    option, or has more than ten choices (A to J), scores 0 (``bad_label``).

    >>> label = {"answer": "B", "choices": ["a dog", "a cat", "rain"]}
    >>> check = Choice()
    >>> [check(Sample(r, label, "audio")).score for r in ("<think>meow</think>**B**", "<think>meow</think>a cat", "<think>猫</think>答案是B")]
    [1.0, 1.0, 1.0]
    >>> [check(Sample(r, label, "audio")).reason for r in ("<think>hmm</think>A or B", "<think>.</think>The answer is (B). On reflection, (A).")]
    ['multiple_answers', 'multiple_answers']
    """

    REASONS: ClassVar[frozenset[str]] = frozenset({"ok", "wrong", "multiple_answers", "no_answer", "bad_label"})

    def check(self, sample: Sample) -> Verdict:
        label = sample.label
        if label.choices and len(label.choices) > len(LETTERS):
            problem = f"{len(label.choices)} choices; at most {len(LETTERS)} (A to J)"
            return Verdict(0.0, "bad_label", details={"problem": problem})
        expected = label_index(label.answer, label.choices)
        if expected is None:
            return Verdict(0.0, "bad_label")
        count = len(label.choices) if label.choices else len(LETTERS)
        parts = self.answer_parts(sample)
        named: set[int] = set()
        for region in parts.marks:
            named |= named_options(region, label.choices, count)
        conflicting: set[int] = set()
        if named:
            conflicting |= named_options(parts.after, label.choices, count) if parts.after else set()
            stated = named_options(parts.before, label.choices, count, weighing=True)
            if len(stated) == 1:
                conflicting |= stated  # "…is a bird. Therefore, the answer is B."
        else:  # nothing marked, or the marks name no option ("Answer: hard to say. B.")
            named = named_options(parts.main, label.choices, count)
        for aside in parts.asides:
            conflicting |= named_options(aside, label.choices, count)
        if not named:
            return Verdict(0.0, "no_answer")
        if len(named | conflicting) > 1:
            return Verdict(0.0, "multiple_answers", ",".join(LETTERS[i] for i in sorted(named | conflicting)))
        (got,) = named
        return Verdict(1.0 if got == expected else 0.0, "ok" if got == expected else "wrong", LETTERS[got])
