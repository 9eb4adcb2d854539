"""The README's Python examples run and print what they say."""

import re
import subprocess
import sys
from pathlib import Path

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.DOTALL)


def block(marker):
    (found,) = [b for b in BLOCKS if marker in b]
    return found


def run(code, tmp_path):
    script = tmp_path / "example.py"
    script.write_text(code + "\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_quick_start_prints_its_comments(tmp_path):
    quick_start = block("score_batch(recipe, [hedge])")
    printed = run(quick_start, tmp_path).splitlines()
    assert printed[0] == "1.0 {'accuracy': 'ok', 'format': 'ok'}"
    assert printed[1] == "[0.0]"
    assert "# 1.0 {'accuracy': 'ok', 'format': 'ok'}" in quick_start


def test_adding_a_verifier_example_passes_its_own_check(tmp_path):
    run(block('@register("mentions_pitch")') + "\ntest_mentions_pitch()\n", tmp_path)
