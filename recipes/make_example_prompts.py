"""Write the bundled example prompt set: short audio questions whose answers are known by construction.

    python recipes/make_example_prompts.py [--out examples/prompts]

Three kinds, eight prompts each: which of two tones is higher (multiple choice),
how many beeps (a number), which digit is spoken (espeak-ng; a number). Clips
are 16 kHz mono FLAC, under 2 s each, so the set stays well under 2 MB. The
same seed writes the same set.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile

from aural.policy.audio import load_audio

RATE = 16_000
DIGITS = "zero one two three four five six seven eight nine".split()


def tone(frequency: float, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    fade = np.minimum(1.0, np.minimum(t, seconds - t) / 0.01)  # 10 ms ramps: no clicks
    return (0.4 * np.sin(2 * np.pi * frequency * t) * fade).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


def two_tones(rng: random.Random) -> tuple[np.ndarray, dict]:
    low = rng.choice([220, 262, 330, 392])
    high = low * rng.choice([1.5, 2.0, 2.5])
    first_is_higher = rng.random() < 0.5
    clip = np.concatenate([tone(high if first_is_higher else low, 0.5), silence(0.25), tone(low if first_is_higher else high, 0.5)])
    choices = ["the first tone", "the second tone"]
    question = "Which tone is higher in pitch? (A) the first tone (B) the second tone"
    return clip, {"question": question, "label": {"answer": "A" if first_is_higher else "B", "choices": choices}}


def beeps(rng: random.Random) -> tuple[np.ndarray, dict]:
    count = rng.randint(2, 6)
    parts = []
    for _ in range(count):
        parts += [tone(1000, 0.1), silence(0.15)]
    return np.concatenate(parts), {"question": "How many beeps do you hear? Answer with a number.", "label": str(count)}


def spoken_digit(rng: random.Random, folder: Path) -> tuple[np.ndarray, dict]:
    digit = rng.randrange(10)
    wav = folder / "digit.wav"
    subprocess.run(["espeak-ng", "-s", "140", "-w", str(wav), DIGITS[digit]], check=True)
    return load_audio(wav, RATE), {"question": "Which digit is spoken? Answer with a number.", "label": str(digit)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="examples/prompts", help="folder for the clips; the JSONL goes beside it")
    parser.add_argument("--per-kind", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    with tempfile.TemporaryDirectory() as scratch:
        makers = {"pitch": two_tones, "beeps": beeps, "digit": lambda r: spoken_digit(r, Path(scratch))}
        for kind, make in makers.items():
            for index in range(args.per_kind):
                clip, fields = make(rng)
                name = f"{kind}-{index}.flac"
                soundfile.write(out / name, clip, RATE, format="FLAC")
                lines.append({"id": f"{kind}-{index}", **fields, "audio": f"{out.name}/{name}", "modality": "audio"})
    jsonl = out.with_suffix(".jsonl")
    jsonl.write_text("".join(json.dumps(line) + "\n" for line in lines))
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"wrote {len(lines)} prompts to {jsonl} ({size / 1e6:.2f} MB of audio in {out})")


if __name__ == "__main__":
    main()
