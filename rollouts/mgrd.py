"""Modality-grounded reasoning distillation (MGRD): keep the candidate chains that reach the
labelled answer with reasoning that is well-formed, cites acoustic evidence (not an
imagined transcript) and is coherent, as judged by the components of the `mgrd` reward
recipe; the kept chains become an SFT set of chat messages. The candidates are a rollout
store scored by that recipe (sampled by ``recipes/mgrd.py``, or written by any teacher).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aural.rewards.batch import score_batch
from aural.rewards.recipe import Recipe
from aural.rewards.scored_jsonl import scored_record
from aural.table import plain_table
from aural.verifiers import Sample

from .prompt_set import PromptRecord, parse_prompt, read_prompt_set
from .store import RolloutStore

CONSTRAINTS = ("format", "grounding", "coherence", "accuracy")


def audio_questions(prompts: Path, out: Path) -> int:
    """Write the audio questions of `prompts` to `out` (audio paths absolute); returns how many."""
    records = [r for r in read_prompt_set(prompts) if r.modality == "audio"]
    out.write_text("".join(json.dumps(r.source, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return len(records)


def sft_example(line: dict[str, Any], think_open: str) -> dict[str, Any]:
    """A kept candidate as chat messages: the question (with its audio) and the chain as the answer,
    opened with `think_open` where the prompt had prefilled it."""
    record = parse_prompt(line["source"], Path("/"))
    opening = think_open + "\n" if record.prefill_think else ""
    return {"id": line["id"], "messages": [*record.messages, {"role": "assistant", "content": opening + line["response"]}]}


def distill(candidates: Path, sft: Path, think_open: str) -> dict[str, Any]:
    """Keep the finished candidates that pass every constraint; write them to `sft` (chains
    prefilled with `think_open` get it back); return the report."""
    kept, total = [], 0
    rejected: dict[str, Counter] = {name: Counter() for name in CONSTRAINTS}
    for block in RolloutStore(candidates).blocks():
        for line in block:
            total += 1
            failed = [name for name in CONSTRAINTS if line["components"][name]["score"] < 1.0]
            for name in failed:
                rejected[name][line["components"][name]["reason"]] += 1
            if not failed and line["finish_reason"] == "stop":
                kept.append(sft_example(line, think_open))
    sft.write_text("".join(json.dumps(example, ensure_ascii=False) + "\n" for example in kept), encoding="utf-8")
    return {
        "candidates": total,
        "kept": len(kept),
        "rejected_by": {name: sum(reasons.values()) for name, reasons in rejected.items()},
        "reasons": {name: dict(reasons.most_common()) for name, reasons in rejected.items()},
    }


def report_table(report: dict[str, Any]) -> str:
    """A distillation report as a plain-text table: rejections per constraint, then what was kept."""
    rows = [("", "candidates", "reasons")]
    rows.append(("sampled", str(report["candidates"]), ""))
    for name in CONSTRAINTS:
        reasons = ", ".join(f"{reason} {count}" for reason, count in report["reasons"][name].items())
        rows.append((f"rejected by {name}", str(report["rejected_by"][name]), reasons))
    rows.append(("kept", str(report["kept"]), ""))
    return plain_table(rows, "MGRD round (a candidate can fail several constraints)")


def store_candidates(store: str | Path, candidates: Sequence[tuple[PromptRecord, str, Sequence[str]]], recipe: Recipe) -> int:
    """Score a teacher's chains and append them to the rollout store `store`, a block per prompt;
    each candidate is (prompt record, its rendered prompt text, the responses). Returns how many."""
    written = RolloutStore(store)
    count = 0
    for record, prompt, responses in candidates:
        lines = [
            {
                "id": f"{record.id}-s{i}",
                "prompt_id": record.id,
                "sample_index": i,
                "samples": len(responses),
                "prompt": prompt,
                "response": response,
                "modality": record.modality,
                "label": record.label,
                "finish_reason": "stop",
                "source": record.source,
            }
            for i, response in enumerate(responses)
        ]
        results = score_batch(
            recipe, [Sample(line["response"], record.label, record.modality, prompt, "stop") for line in lines], progress=False
        )
        written.append([scored_record(line, result) for line, result in zip(lines, results)])
        count += len(lines)
    return count
