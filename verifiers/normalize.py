"""Text normalization shared by the matching verifiers.

`fold_answer` reads a final answer the way a person sees it: invisible marks dropped,
compatibility forms (fullwidth, mathematical, circled letters) folded by NFKC, and
letters that only look like A–J (Greek, Cyrillic, Cherokee, Lisu, small capitals,
enclosed squares) read as those letters. It runs once per answer, in one pass, and
returns ASCII text unchanged without looking at it twice.
"""

from __future__ import annotations

import re
import unicodedata

_NOT_WORD = re.compile(r"[^\w\s]|_")
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")

# Han, kana, Hangul and their compatibility blocks: scripts written without spaces
# between words, so a Latin letter beside them still stands alone.
CJK = "\u1100-\u11ff\u3040-\u30ff\u3100-\u312f\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uffdc"
_CJK_CHAR = re.compile(f"[{CJK}]")
# Characters with no visible form: zero-width spaces and joiners, bidi controls, the
# BOM, soft hyphen, variation selectors, tag characters, and the fillers that render
# blank (Hangul fillers, Braille blank).
INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\U0001d173-\U0001d17a\U000e0000-\U000e007f\U000e0100-\U000e01ef"
)
_INVISIBLE_RUN = re.compile(f"[{INVISIBLE}]+")
# Combining marks still standing on an ASCII letter or digit after NFKC (strike-through,
# underline, enclosing circles): decoration, not part of the letter.
_DECORATION = re.compile(r"(?<=[A-Za-z0-9])[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
# Letters that render like A–J (and a–j) but are other code points, NFKC leaving them be.
_LOOK_ALIKES = {
    "A": "ΑАᎪᗅꓮ𐊠ᴀ",
    "B": "ΒВᏴᗷꓐʙв",
    "C": "СϹᏟꓚⅭ",
    "D": "ᎠꓓⅮᴅ",
    "E": "ΕЕᎬꓰᴇ",
    "F": "Ϝꓝ",
    "G": "Ꮐꓖɢ",
    "H": "ΗНᎻꓧʜн",
    "I": "ΙІӀꓲɪ",
    "J": "ЈᎫꓙᴊ",
    "a": "аɑα",
    "b": "Ƅь",
    "c": "сϲᴄ",
    "d": "ԁ",
    "e": "еҽ",
    "i": "іɩ",
    "j": "јϳ",
}
_FOLD = {ord(c): letter for letter, chars in _LOOK_ALIKES.items() for c in chars}
for _first, _base in ((0x1F130, "A"), (0x1F150, "A"), (0x1F170, "A"), (0x1F1E6, "A")):
    # squared, negative circled, negative squared and regional-indicator letters
    _FOLD.update({_first + i: chr(ord(_base) + i) for i in range(26)})
# Sentence ends of CJK text, so that an answer sentence ends where it does in English.
_FOLD.update({ord("。"): ". ", ord("｡"): ". ", ord("、"): ", "})
_FOLDABLE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_FOLD)) + "]")


def fold_answer(text: str) -> str:
    """`text` as read by eye: invisible marks removed, NFKC, look-alike letters as A–J.

    >>> fold_answer("\\uff22"), fold_answer("\\u0392 or B"), fold_answer("A\\u200b\\u200d"), fold_answer("答案：Ｂ。")
    ('B', 'B or B', 'A', '答案:B. ')
    >>> fold_answer("\\U0001d400\\u24b7")  # mathematical bold A, circled B
    'AB'
    """
    if text.isascii():
        return text
    text = _INVISIBLE_RUN.sub("", text)
    text = unicodedata.normalize("NFKC", text)
    if _FOLDABLE.search(text):
        text = text.translate(_FOLD)
    return _DECORATION.sub("", text)


def has_cjk(text: str) -> bool:
    """Whether `text` holds Han, kana or Hangul.

    >>> has_cjk("猫叫"), has_cjk("a cat")
    (True, False)
    """
    return not text.isascii() and _CJK_CHAR.search(text) is not None


def normalize_text(text: str, strip_articles: bool = False) -> str:
    """Fold as `fold_answer`, casefold, drop punctuation and symbols, and collapse whitespace.

    >>> normalize_text("  The  Dog's bark!  ")
    'the dog s bark'
    >>> normalize_text("The dog", strip_articles=True)
    'dog'
    >>> normalize_text("Ｔｈｅ\\u200b ｄｏｇ。")
    'the dog'
    """
    text = _NOT_WORD.sub(" ", fold_answer(text).casefold())
    if strip_articles:
        text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())
