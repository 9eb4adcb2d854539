"""`aural eval`'s audio-dependence check: the controls take the clips' information away,
and the table shows what the audio is worth."""

import contextlib
import hashlib
import io
from importlib import resources

import numpy as np
import pytest

from aural.cli import main as aural
from aural.policy.model import Generation
from aural.policy.tiny import tiny_policy
from aural.rewards.recipe import load_recipe
from aural.rollouts.controls import audio_dependence, shuffled, silenced
from aural.rollouts.engines import HFEngine, SamplingSettings
from aural.rollouts.prompt_set import read_prompt_set

EXAMPLES = resources.files("aural.examples") / "prompts.jsonl"


def fingerprint(clips):
    return hashlib.sha1(b"".join(np.ascontiguousarray(c).tobytes() for c in clips)).hexdigest()


class Listener:
    """An engine that answers from what it hears: it knows which bundled clip is which
    question's, and answers that question's label; on a clip it does not know it says (A)."""

    name = "listener"

    def __init__(self, records):
        self.prompt_builder = HFEngine(tiny_policy()).prompt_builder
        self.answers = {}
        for record in records:
            prompt = self.prompt_builder.build(record.messages, record.prefill_think)
            label = record.label["answer"] if isinstance(record.label, dict) else record.label
            self.answers[fingerprint(prompt.audios)] = (
                f"</think>The answer is ({label})." if isinstance(record.label, dict) else f"</think>The answer is {label}."
            )

    def sample(self, prompts, settings):
        return [
            [Generation(self.answers.get(fingerprint(p.audios), "</think>The answer is (A)."), (1,), 1, "stop")] * settings.n
            for p in prompts
        ]

    def close(self):
        pass


def test_a_policy_that_uses_the_audio_loses_it_under_both_controls():
    records = read_prompt_set(EXAMPLES)
    conditions = audio_dependence(Listener(records), records, load_recipe("step-audio-r1"), SamplingSettings(n=2))
    own, silence, dealt = conditions
    assert [c.name for c in conditions] == ["audio", "silence", "shuffled"] and own.samples == silence.samples == dealt.samples == 48
    assert own.accuracy == 1.0
    pitch_a = sum(1 for r in records if isinstance(r.label, dict) and r.label["answer"] == "A") / len(records)
    assert silence.accuracy == pytest.approx(pitch_a)  # silence: always (A), right only where (A) is the answer
    assert dealt.accuracy < 0.5  # another question's answer is rarely this one's


def test_silence_keeps_each_clips_length_and_shuffling_leaves_no_prompt_its_own_clip():
    engine = HFEngine(tiny_policy())
    prompts = [engine.prompt_builder.build(r.messages, r.prefill_think) for r in read_prompt_set(EXAMPLES)]
    quiet = silenced(prompts)
    assert all(len(q.audios[0]) == len(p.audios[0]) and not q.audios[0].any() for p, q in zip(prompts, quiet))
    dealt = shuffled(prompts, seed=3)
    owner = {id(p.audios): i for i, p in enumerate(prompts)}  # two prompts may hold equal clips: follow the objects
    donors = [owner[id(d.audios)] for d in dealt]
    assert sorted(donors) == list(range(len(prompts))) and all(donor != i for i, donor in enumerate(donors))
    assert [d.text for d in dealt] == [p.text for p in prompts]
    assert [owner[id(d.audios)] for d in shuffled(prompts, seed=3)] == donors != [owner[id(d.audios)] for d in shuffled(prompts, seed=4)]


def test_aural_eval_prints_each_condition_and_the_gaps(tmp_path):
    subset = tmp_path / "prompts.jsonl"
    lines = EXAMPLES.read_text().splitlines()
    subset.write_text("\n".join(lines[:2] + lines[8:10]).replace('"prompts/', f'"{EXAMPLES.parent}/prompts/') + "\n")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert aural(["eval", str(subset), "--max-new-tokens", "4", "--controls", "shuffled"]) == 0
    printed = out.getvalue()
    assert "audio      4" in printed and "shuffled   4" in printed and "silence" not in printed
    assert "audio - shuffled:" in printed


def test_unknown_controls_are_refused():
    with pytest.raises(ValueError, match="unknown control noise"):
        audio_dependence(None, [], load_recipe("step-audio-r1"), SamplingSettings(n=1), ["noise"])
