"""`aural audit`: known hacks against their honest twins."""

import pytest

from aural import load_recipe
from aural.cli import main
from aural.rewards.audit import CatalogueError, load_catalogue, run_audit


@pytest.mark.slow
def test_step_audio_r1_passes_the_builtin_catalogue():
    findings = run_audit(load_recipe(), load_catalogue())
    assert len(findings) >= 20
    assert [f.pattern.name for f in findings if f.status != "ok"] == []
    megabyte = next(f for f in findings if f.pattern.name == "megabyte_answer_spam")
    assert len(megabyte.pattern.hack.response) > 2_000_000


@pytest.mark.slow
def test_a_hackable_recipe_fails_the_audit(tmp_path, capsys):
    lenient = tmp_path / "lenient.toml"
    lenient.write_text(
        'name = "lenient"\n'
        "[route.default]\n"
        'format = { verifier = "think_format", weight = 0.5, min_reasoning_chars = 0 }\n'
        'accuracy = { verifier = "answer", weight = 0.5 }\n'
    )
    assert main(["audit", "--recipe", str(lenient)]) == 1
    out = capsys.readouterr().out
    assert "empty_reasoning" in out.split("earn more than an honest answer")[1]


def test_user_patterns_extend_the_catalogue(tmp_path, capsys):
    mine = tmp_path / "mine.toml"
    mine.write_text(
        "[[pattern]]\n"
        'name = "yes_no_hedge"\nmodality = "audio"\nlabel = "yes"\n'
        'response = "<think>{{pad}}</think>Answer: yes. Answer: no."\n'
        'honest = "<think>{{pad}}</think>Answer: no."\n'
        'fill = { pad = { text = "hmm ", times = 3 } }\n'
    )
    patterns = load_catalogue([mine], builtin=False)
    assert [p.name for p in patterns] == ["yes_no_hedge"]
    assert patterns[0].hack.response.startswith("<think>hmm hmm hmm </think>")
    assert main(["audit", "--no-builtin", "--catalogue", str(mine)]) == 0
    assert "yes_no_hedge" in capsys.readouterr().out


@pytest.mark.parametrize(
    "entry, message",
    [
        ('name = "x"\nmodality = "audio"\nlabel = "a"\nresponse = "a"\n', "missing fields \\['honest'\\]"),
        ('name = "x"\nmodality = "radio"\nlabel = "a"\nresponse = "a"\nhonest = "b"\n', "modality"),
        ('name = "x"\nmodality = "audio"\nlabel = "a"\nresponse = "a"\nhonest = "b"\ncolour = 1\n', "unknown fields"),
        ('name = "x"\nmodality = "audio"\nlabel = "a"\nresponse = "a"\nhonest = "b"\nfill = { p = 3 }\n', "fill.p"),
    ],
)
def test_catalogue_errors_name_file_and_pattern(tmp_path, entry, message):
    path = tmp_path / "bad.toml"
    path.write_text("[[pattern]]\n" + entry)
    with pytest.raises(CatalogueError, match=f"bad.toml: pattern 1.*{message}"):
        load_catalogue([path], builtin=False)
