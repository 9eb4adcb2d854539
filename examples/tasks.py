"""Audio tasks whose answers are known by construction, and a scripted teacher for them:
the training data of the demo (`aural demo`), where a tiny policy learns to listen on CPU.

Two tasks, so one trick cannot pass both:

* ``pitch``: two tones, one in each half of the clip, the higher 1.1 to 1.5 times the
  lower's frequency (200-300 Hz, so 220-450 Hz above; random loudness, lengths and
  onsets); "Which tone is higher in pitch? (A) the first tone (B) the second tone".
  The two ranges overlap: only a comparison within the clip answers it.
* ``count``: two or three beeps of a quarter second, one every 0.6 s or so (600-1,200 Hz,
  random loudness, lengths and onsets); "How many beeps do you hear? Answer with a number."

Every clip lasts exactly `CLIP_SECONDS`, so all prompts of a task have the same length;
answers are balanced within each task. The teacher writes, for a question, candidate
chains of four kinds (`CHAIN_KINDS`): grounded in what the clip holds, reasoning from an
imagined transcript, incoherent (a loop), and grounded but reaching the wrong answer;
MGRD's filter should keep only the first.

>>> rng = random.Random(0)
>>> clip, fields = pitch_example(rng, first_is_higher=True)
>>> len(clip) / RATE, fields["label"]["answer"], fields["task"]
(2.0, 'A', 'pitch')
>>> [kind for kind, _ in teacher_chains(fields, rng)]
['grounded', 'transcript', 'incoherent', 'wrong']
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

RATE = 16_000
CLIP_SECONDS = 2.0
TASKS = ("pitch", "count")
CHAIN_KINDS = ("grounded", "transcript", "incoherent", "wrong")
PITCH_QUESTION = "Which tone is higher in pitch? (A) the first tone (B) the second tone"
PITCH_CHOICES = ["the first tone", "the second tone"]
COUNT_QUESTION = "How many beeps do you hear? Answer with a number."
COUNTS = (2, 3)
NUMBER_WORDS = {2: "two", 3: "three"}


def _tone(frequency: float, seconds: float, loudness: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    fade = np.minimum(1.0, np.minimum(t, seconds - t) / 0.01)  # 10 ms ramps: no clicks
    return (loudness * np.sin(2 * np.pi * frequency * t) * fade).astype(np.float32)


def _place(parts: list[tuple[float, np.ndarray]]) -> np.ndarray:
    """A `CLIP_SECONDS` clip with each (start second, sound) part written at its start."""
    clip = np.zeros(int(CLIP_SECONDS * RATE), np.float32)
    for start, sound in parts:
        at = int(start * RATE)
        clip[at : at + len(sound)] += sound[: len(clip) - at]
    return clip


def pitch_example(rng: random.Random, first_is_higher: bool) -> tuple[np.ndarray, dict[str, Any]]:
    """A two-tone clip and its prompt fields (question, label, task)."""
    low = rng.uniform(200, 300)
    high = low * rng.uniform(1.1, 1.5)  # 220-450 Hz: a high tone of one clip may be below another's low
    first, second = (high, low) if first_is_higher else (low, high)
    length = rng.uniform(0.5, 0.7)
    clip = _place(
        [
            (rng.uniform(0.0, 0.1), _tone(first, length, rng.uniform(0.1, 0.5))),
            (rng.uniform(1.0, 1.1), _tone(second, length, rng.uniform(0.1, 0.5))),
        ]
    )
    label = {"answer": "A" if first_is_higher else "B", "choices": PITCH_CHOICES}
    return clip, {"question": PITCH_QUESTION, "label": label, "task": "pitch"}


def count_example(rng: random.Random, count: int) -> tuple[np.ndarray, dict[str, Any]]:
    """A clip of `count` beeps and its prompt fields (question, label, task)."""
    frequency, length = rng.uniform(600, 1200), rng.uniform(0.22, 0.3)
    parts = [(slot * 0.6 + rng.uniform(0.05, 0.15), _tone(frequency, length, rng.uniform(0.2, 0.5))) for slot in range(count)]
    return _place(parts), {"question": COUNT_QUESTION, "label": str(count), "task": "count"}


def write_task_set(folder: str | Path, per_task: int, seed: int) -> Path:
    """Write `per_task` prompts of each task (clips as FLAC beside them) to `folder`/prompts.jsonl;
    returns that file. Answers are balanced within each task, tasks interleaved."""
    folder = Path(folder)
    (folder / "clips").mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    made = {
        "pitch": [pitch_example(rng, i % 2 == 0) for i in range(per_task)],
        "count": [count_example(rng, COUNTS[i % len(COUNTS)]) for i in range(per_task)],
    }
    for examples in made.values():
        rng.shuffle(examples)
    lines = []
    for index in range(per_task):
        for task in TASKS:
            clip, fields = made[task][index]
            name = f"{task}-{index}"
            soundfile.write(folder / "clips" / f"{name}.flac", clip, RATE, format="FLAC")
            lines.append(json.dumps({"id": name, "audio": f"clips/{name}.flac", "modality": "audio", **fields}) + "\n")
    prompts = folder / "prompts.jsonl"
    prompts.write_text("".join(lines), encoding="utf-8")
    return prompts


def _answer(task: str, answer: str) -> str:
    return f"The answer is ({answer})." if task == "pitch" else f"The answer is {answer}."


def _grounded(task: str, answer: str, rng: random.Random) -> str:
    if task == "pitch":
        high, low = ("first", "second") if answer == "A" else ("second", "first")
        return rng.choice(
            [
                f"The {high} tone is higher in pitch and the {low} tone is lower.",
                f"I hear the {low} tone lower in pitch, so the {high} tone is higher.",
            ]
        )
    word = NUMBER_WORDS[int(answer)]
    return rng.choice([f"I count {word} beeps, each a short tone with a pause.", f"I hear {word} short beeps in a steady rhythm of tones."])


def teacher_chains(fields: dict[str, Any], rng: random.Random) -> list[tuple[str, str]]:
    """One candidate response of each of `CHAIN_KINDS` for the prompt `fields` (the prompt
    opens the think block: each response is the reasoning, ``</think>``, then the answer)."""
    task = fields["task"]
    label = fields["label"]
    answer = label["answer"] if task == "pitch" else label
    wrong = {"A": "B", "B": "A"}[answer] if task == "pitch" else str(COUNTS[1 - COUNTS.index(int(answer))])
    transcript = "The transcript says the answer is the first." if task == "pitch" else "The transcript says how many beeps."
    loop = " ".join(["tone"] * 12)
    return [
        ("grounded", f"{_grounded(task, answer, rng)}</think>{_answer(task, answer)}"),
        ("transcript", f"{transcript}</think>{_answer(task, answer)}"),
        ("incoherent", f"{loop}</think>{_answer(task, answer)}"),
        ("wrong", f"{_grounded(task, wrong, rng)}</think>{_answer(task, wrong)}"),
    ]
