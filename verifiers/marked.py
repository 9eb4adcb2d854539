"""Where a final answer marks what it answers: ``\\boxed{…}``, ``<answer>…</answer>``,
``Answer: …``, ``The answer is …`` and ``#### …``. Every scan here is linear.
"""

from __future__ import annotations

import re

_BOXED_OR_BRACE = re.compile(
    r"\\(?:boxed|fbox)\s{0,3}\{|\\(?:boxed|fbox)(?![A-Za-z{])\s{0,3}(?P<bare>[^\s{}$\\]{1,100})|[{}]"
)
_ANSWER_PHRASE = re.compile(
    r"(?:\b(?:(?:final|correct|best)\s{1,3})?(?:answer|option|choice)\**\s{0,3}"
    r"(?:is|would\s{1,3}be|should\s{1,3}be|[:=])\**:?|^\s{0,3}####)"
    r"\s{0,3}(?P<answer>(?:[^\n.;!?]|\.(?!\s|$)){1,200})",
    re.IGNORECASE | re.MULTILINE,
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
    found: list[tuple[int, str]] = []
    stack: list[int] = []  # per open brace: where a box's content starts, or -1 for a plain brace (ints: no GC cost)
    for m in _BOXED_OR_BRACE.finditer(text):
        token = m.group()
        if m["bare"] is not None:
            content = m["bare"].rstrip(".,;:")
            if content:
                found.append((m.start("bare"), content))
        elif token == "}":
            if stack:
                start = stack.pop()
                if start >= 0:
                    found.append((start, text[start : m.start()]))
        else:
            stack.append(m.end() if token != "{" else -1)
    return [content for _, content in sorted(found)]


def answer_tags(text: str) -> list[str]:
    """The contents of every closed ``<answer>…</answer>`` in `text`.

    >>> answer_tags("<answer>B</answer> and <answer> C </answer><answer>D")
    ['B', ' C ']
    """
    found = []
    start = text.find(ANSWER_OPEN)
    while start >= 0:
        end = text.find(ANSWER_CLOSE, start + len(ANSWER_OPEN))
        if end < 0:
            break
        found.append(text[start + len(ANSWER_OPEN) : end])
        start = text.find(ANSWER_OPEN, end + len(ANSWER_CLOSE))
    return found


def answer_phrases(text: str) -> list[str]:
    """What follows each ``answer is`` / ``Answer:`` / ``####``, up to the end of its sentence.

    >>> answer_phrases("I think the answer is (B). Final answer: 3.5 kg")
    ['(B)', '3.5 kg']
    """
    return [m["answer"].strip() for m in _ANSWER_PHRASE.finditer(text)]


def marked_answers(text: str) -> list[str]:
    r"""Every marked answer in `text`: boxed, answer tags, then answer phrases.

    Empty when the text marks no answer; the caller then reads the text as a whole.

    >>> marked_answers(r"The answer is \boxed{B}.")
    ['B', '\\boxed{B}']
    """
    return boxed(text) + answer_tags(text) + answer_phrases(text)
