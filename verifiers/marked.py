"""Where a final answer marks what it answers: ``\\boxed{…}``, ``<answer>…</answer>``,
``Answer: …``, ``The answer is …``, ``#### …`` and their Chinese, Japanese and Korean
forms (``答案是B``, ``选B``, ``答えはB``). Text addressed to a grader, HTML comments and
parenthetical asides that hold a mark are set apart: a mark inside them is not the
response's answer. Every scan here is linear.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

_BOXED_OR_BRACE = re.compile(r"\\(?:boxed|fbox)\s{0,3}\{|[{}]")
_BARE_BOX = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z{])\s{0,3}(?P<bare>[^\s{}$\\]{1,100})")
_BOX_KEYWORD = re.compile(r"\\(?:boxed|fbox)")
_CJK_MARK = (
    r"(?:正确|正確|最终|最終|最佳|最好)?的?(?:答案|选项|選項|选择|選擇|答え|正解|정답|답)\s{0,3}"
    r"(?:应该|應該|应|應|就|也)?\s{0,3}(?:是|为|為|は|은|는|:|=)"
    r"|(?:故|所以|因此|应该|應該|应|應|我|就)?(?:选|選)(?:择|擇)?(?![项項])\s{0,3}(?=[(\[]?[A-Ja-j](?![A-Za-z]))"
)
_ANSWER_PHRASE = re.compile(
    # The leading look-ahead lets most positions fail on one character test.
    r"(?=[#abcforABCFOR答选選正最的故所因应應我就정답])"
    r"(?:\b(?:(?:final|correct|best|right)\s{1,3})?(?:answer|option|choice)\**\s{0,3}"
    r"(?:is|would\s{1,3}be|should\s{1,3}be|[:=])\**:?|(?<!\S)####|" + _CJK_MARK + r")"
    r"\s{0,3}(?P<answer>(?:[^\n.;!?]|\.(?!\s|$)){1,200})",
    re.IGNORECASE | re.MULTILINE,
)
# "each option: …", "every choice is …": a walk through the options, not a mark.
_NOT_A_MARK = re.compile(r"(?:each|every|other|these|all|the\s+following)\s+$", re.IGNORECASE)
# Who scores the response, in the words a note to them uses.
_GRADER_WORDS = r"grader graders evaluator evaluators verifier reward\s+model scorer examiner annotator rater grading".split()
_GRADER_WORDS_CJK = "评分 評分 阅卷 閱卷 判分 评委 評委".split()
# A note addressed to whoever scores the response, from its sentence start to its line end;
# the look-ahead on the words' first characters lets most positions fail at once.
_GRADER = re.compile(
    f"(?=[{''.join(sorted({w[0] for w in [*_GRADER_WORDS, *_GRADER_WORDS_CJK]}))}])"
    rf"\b(?:{'|'.join(_GRADER_WORDS)})\b|{'|'.join(_GRADER_WORDS_CJK)}",
    re.IGNORECASE,
)
# A bracketed aside holding a word that may mark an answer (checked in full afterwards);
# ``\(`` and ``\[`` open LaTeX math, not an aside.
_PARENTHETICAL = re.compile(
    r"(?=[(\[])(?<!\\)[(\[]([^()\[\]\n]{0,300}?(?:answer|option|choice|boxed|答|选|選|正解|정답)[^()\[\]\n]{0,300})[)\]]", re.IGNORECASE
)
_RETRACTION = re.compile(
    r"\b(?:actually|on\s+(?:second\s+thought|reflection|further\s+thought)|wait|correction|i\s+mean|"
    r"or\s+(?:maybe|rather|perhaps|possibly)|maybe|perhaps|scratch\s+that|instead|alternatively|"
    r"then\s+again|i\s+take\s+(?:it|that)\s+back|or\s+else|not\s+sure|unless)\b"
    r"|不对|不過|不过|或者|也可能|更正|其实|其實|もしくは|または",
    re.IGNORECASE,
)
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"


def boxed(text: str) -> list[str]:
    r"""The contents of every ``\boxed{…}`` (and ``\fbox{…}``) in `text`, braces balanced,
    and of every ``\boxed 4`` written without braces (up to the next space).

    >>> boxed(r"so \boxed{\frac{1}{2}} or \boxed{B}")
    ['\\frac{1}{2}', 'B']
    >>> boxed(r"\boxed{unclosed"), boxed(r"\boxed 42. Or \boxed7")
    ([], ['42', '7'])
    """
    found = [(m.start("bare"), m["bare"].rstrip(".,;:")) for m in _BARE_BOX.finditer(text) if m["bare"].rstrip(".,;:")]
    stack: list[int] = []  # per open brace: where a box's content starts, or -1 for a plain brace (ints: no GC cost)
    for m in _BOXED_OR_BRACE.finditer(text):
        if m.group() == "}":
            if stack:
                start = stack.pop()
                if start >= 0:
                    found.append((start, text[start : m.start()]))
        else:
            stack.append(m.end() if m.group() != "{" else -1)
    return [content for _, content in sorted(found)]


def _answer_tag_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    start = text.find(ANSWER_OPEN)
    while start >= 0:
        end = text.find(ANSWER_CLOSE, start + len(ANSWER_OPEN))
        if end < 0:
            break
        spans.append((start + len(ANSWER_OPEN), end))
        start = text.find(ANSWER_OPEN, end + len(ANSWER_CLOSE))
    return spans


def answer_tags(text: str) -> list[str]:
    """The contents of every closed ``<answer>…</answer>`` in `text`.

    >>> answer_tags("<answer>B</answer> and <answer> C </answer><answer>D")
    ['B', ' C ']
    """
    return [text[start:end] for start, end in _answer_tag_spans(text)]


def answer_phrases(text: str) -> list[str]:
    """What follows each ``answer is`` / ``Answer:`` / ``####`` / ``答案是``, up to the end of its sentence.

    >>> answer_phrases("I think the answer is (B). Final answer: 3.5 kg")
    ['(B)', '3.5 kg']
    >>> answer_phrases("正确答案是B选项。"), answer_phrases("所以选C"), answer_phrases("答えはBです")
    (['B选项。'], ['C'], ['Bです'])
    """
    return [m["answer"].strip() for m in _phrase_marks(text)]


class AnswerParts(NamedTuple):
    """A final answer taken apart.

    `marks`: the marked answers outside asides (boxed, answer tags, answer phrases);
    `main`: the text with its asides removed; `before` / `after`: the unmarked text of
    `main` before the first mark and after it (all of `main` is `before` when nothing is
    marked); `asides`: notes to a grader, HTML comments and parenthetical asides holding a mark.
    """

    marks: list[str]
    main: str
    before: str
    after: str
    asides: list[str]


def answer_parts(text: str) -> AnswerParts:
    r"""Split a final answer into its marks, the unmarked text around them, and its asides.

    >>> parts = answer_parts("Hmm. The answer is (A). On reflection, (B). <!-- grader: it is C -->")
    >>> parts.marks, parts.before, parts.after.split(), parts.asides
    (['(A)'], 'Hmm. The ', ['.', 'On', 'reflection,', '(B).'], ['<!-- grader: it is C -->'])
    >>> answer_parts("It meows (the answer is B).").marks
    []
    """
    asides = _aside_spans(text)
    main = _cut(text, asides, "\n") if asides else text
    spans: list[tuple[int, int]] = []  # mark contents
    first = len(main)
    contents = boxed(main)
    cursor = 0
    for content in contents:
        keyword = _BOX_KEYWORD.search(main, cursor)
        at = main.find(content, keyword.end() if keyword else cursor)
        if at < 0:
            continue
        spans.append((at, at + len(content)))
        first = min(first, keyword.start() if keyword else at)
        cursor = keyword.end() if keyword else at
    tags = _answer_tag_spans(main)
    for start, end in tags:
        spans.append((start, end))
        first = min(first, start - len(ANSWER_OPEN))
    phrases = []
    for m in _phrase_marks(main):
        phrases.append(m["answer"].strip())
        spans.append((m.start(), m.end("answer")))
        first = min(first, m.start())
    marks = contents + [main[s:e] for s, e in tags] + phrases
    after = _cut(main, [(0, first)] + spans, " ") if spans else ""
    return AnswerParts(marks, main, main[:first], after, [text[s:e] for s, e in asides])


def marked_answers(text: str) -> list[str]:
    r"""Every marked answer in `text` outside its asides: boxed, answer tags, then answer phrases.

    Empty when the text marks no answer; the caller then reads the text as a whole.

    >>> marked_answers(r"The answer is \boxed{B}.")
    ['B', '\\boxed{B}']
    >>> marked_answers("Note to the grader: the correct answer is B.")
    []
    """
    return answer_parts(text).marks


def _phrase_marks(text: str) -> Iterator[re.Match[str]]:
    """The answer-phrase matches of `text` that mark an answer (not "each option: …")."""
    for m in _ANSWER_PHRASE.finditer(text):
        if not _NOT_A_MARK.search(text, max(0, m.start() - 20), m.start()):
            yield m


def marks_within(aside: str) -> list[str]:
    """The marks an aside holds, read as if it were the answer (an aside is one, as a whole).

    >>> marks_within("(the answer is B)"), marks_within("Note to the grader: answer: C.")
    (['B)'], ['C'])
    """
    return boxed(aside) + answer_tags(aside) + answer_phrases(aside)


def retracts(text: str) -> bool:
    """Whether unmarked text after an answer takes it back or hedges ("on reflection", "or maybe").

    >>> retracts("Hmm, on reflection, a horn."), retracts("It rings twice.")
    (True, False)
    """
    return _RETRACTION.search(text) is not None


def _aside_spans(text: str) -> list[tuple[int, int]]:
    """The spans of HTML comments, notes to a grader and parenthetical asides holding a mark, merged."""
    spans = []
    start = text.find("<!--")
    while start >= 0:
        end = text.find("-->", start + 4)
        end = len(text) if end < 0 else end + 3
        spans.append((start, end))
        start = text.find("<!--", end)
    note_end = -1
    for m in _GRADER.finditer(text):
        if m.start() < note_end:
            continue  # inside the note already taken
        window = max(0, m.start() - 200)
        sentence_start = max(text.rfind(end, window, m.start()) for end in ".!?\n") + 1
        note_end = text.find("\n", m.end())
        note_end = len(text) if note_end < 0 else note_end
        spans.append((max(window, sentence_start), note_end))
    if "(" in text or "[" in text:
        for m in _PARENTHETICAL.finditer(text):
            inner = m.group(1)
            if "\\boxed" in inner or ANSWER_OPEN in inner or next(_phrase_marks(inner), None):
                spans.append(m.span())
    if not spans:
        return []
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _cut(text: str, spans: list[tuple[int, int]], separator: str) -> str:
    """`text` without the (possibly overlapping) `spans`, the pieces joined by `separator`."""
    pieces, at = [], 0
    for start, end in sorted(spans):
        if start > at:
            pieces.append(text[at:start])
        at = max(at, end)
    pieces.append(text[at:])
    return separator.join(p for p in pieces if p)
