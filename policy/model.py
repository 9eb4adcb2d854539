"""`AudioPolicy`: an audio language model loaded from a local folder, with
sampling (`generate`) and teacher-forced log-probabilities (`logprobs`).

Qwen2-Audio loads as `Qwen2AudioForConditionalGeneration`; the Qwen2.5-Omni
thinker as `Qwen2_5OmniThinkerForConditionalGeneration`, from a thinker folder
or from the thinker inside a full Qwen2.5-Omni checkpoint (the talker is left
out). StepAudio2 (Step-Audio 2 mini, Step-Audio-R1: a 25 Hz audio encoder, an
adaptor downsampling x2 to 12.5 Hz, a Qwen2 decoder) loads as Aural's own
`StepAudio2ForCausalLM`, with the release's chat template when the folder's
tokenizer has none. Other audio LLMs that ship their own modeling code load
through ``trust_remote_code`` with their own processor. Nothing is fetched
from a hub.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoConfig,
    AutoFeatureExtractor,
    AutoModelForCausalLM,
    AutoProcessor,
    AutoTokenizer,
    PretrainedConfig,
    Qwen2_5OmniThinkerForConditionalGeneration,
    Qwen2AudioForConditionalGeneration,
)

from aural.errors import AuralError
from aural.verifiers.think import CLOSE_TAG, OPEN_TAG, parse_think

from .inputs import AudioInputs
from .prompt import Prompt, PromptBuilder, _local_folder
from .step_audio2 import StepAudio2ForCausalLM
from .step_audio2_audio import AUDIO_PATCH, StepAudio2Inputs

BATCH_SEQUENCES = 64  # sequences decoded together at most (prompts x responses each): a bounded KV cache
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
BUILT_IN = {
    "qwen2_audio": Qwen2AudioForConditionalGeneration,
    "qwen2_5_omni_thinker": Qwen2_5OmniThinkerForConditionalGeneration,
    "qwen2_5_omni": Qwen2_5OmniThinkerForConditionalGeneration,  # the thinker of a full checkpoint
    "step_audio_2": StepAudio2ForCausalLM,
}


def load_audio_model(path: str | Path, config: PretrainedConfig, model_class: type | None = None, **options: Any) -> torch.nn.Module:
    """The model in `path` whose config is `config`, by the class that runs it: a built-in
    audio model's own class (the thinker alone, from a full Qwen2.5-Omni checkpoint), else
    `AutoModelForCausalLM` (models with their own code need ``trust_remote_code=True``).
    `model_class` replaces the built-in class (a subclass of it, say); `options` go to
    ``from_pretrained`` (dtype, attention implementation…).
    """
    if config.model_type == "qwen2_5_omni":
        options = {**options, "config": config.thinker_config, "key_mapping": {r"^thinker\.": ""}}
    model_class = model_class or BUILT_IN.get(config.model_type, AutoModelForCausalLM)
    return model_class.from_pretrained(str(path), **options)


def load_inputs(path: str | Path, config: PretrainedConfig, tokenizer: Any = None) -> AudioInputs | StepAudio2Inputs:
    """The input builder of the built-in audio policy in `path` (whose config is `config`):
    prompt and clips in, token ids with the placeholders expanded and features out. It uses
    `tokenizer` when given (the one a trainer already holds), else the folder's.

    >>> from aural.policy.tiny import tiny_policy
    >>> from transformers import AutoConfig
    >>> load_inputs(tiny_policy(), AutoConfig.from_pretrained(tiny_policy())).sampling_rate
    16000
    """
    tokenizer = tokenizer or AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    if config.model_type == "step_audio_2":
        return StepAudio2Inputs(tokenizer)
    return AudioInputs(tokenizer, AutoFeatureExtractor.from_pretrained(str(path), local_files_only=True))


@dataclass(frozen=True)
class Generation:
    """One sampled response: its text (special tokens left out, as vLLM decodes), token ids
    (with it, when generation stopped), token counts and why it ended (``stop`` or ``length``)."""

    text: str
    token_ids: tuple[int, ...]
    prompt_tokens: int
    finish_reason: str

    @property
    def response_tokens(self) -> int:
        """How many tokens were generated."""
        return len(self.token_ids)

    def reasoning_tokens(self, tokenizer: Any, prefilled: bool) -> int:
        """Tokens inside the think block: counted on the generated ids when the tags are
        single tokens (as in Qwen's vocabularies), else by tokenizing the reasoning text."""
        open_id, close_id = tokenizer.convert_tokens_to_ids([OPEN_TAG, CLOSE_TAG])
        ids = list(self.token_ids)
        if None not in (open_id, close_id) and tokenizer.unk_token_id not in (open_id, close_id):
            start = 0 if prefilled else (ids.index(open_id) + 1 if open_id in ids else len(ids))
            end = ids.index(close_id, start) if close_id in ids[start:] else len(ids) - (self.finish_reason == "stop")
            return max(0, end - start)
        reasoning = parse_think(self.text, OPEN_TAG, CLOSE_TAG, prefilled).reasoning
        return len(tokenizer(reasoning, add_special_tokens=False)["input_ids"]) if reasoning else 0


class AudioPolicy:
    """A loaded audio LLM. Build one with `AudioPolicy.from_pretrained(folder)`.

    `make_inputs(text, audios)` turns a rendered prompt and its clips into the
    model's keyword arguments.
    """

    def __init__(self, model: torch.nn.Module, make_inputs: Callable[..., dict], tokenizer: Any, prompt_builder: PromptBuilder):
        self.model = model
        self.make_inputs = make_inputs
        self.tokenizer = tokenizer
        self.prompt_builder = prompt_builder
        self.eos_token_ids = stop_token_ids(model.config, model.generation_config, tokenizer)
        placeholder = getattr(model.config, "audio_token_index", None)
        self.never_sampled = [placeholder] if placeholder is not None else []  # a clip's slot, never a response token

    @classmethod
    def from_pretrained(
        cls, folder: str | Path, dtype: str = "float32", device: str = "cpu", trust_remote_code: bool = False
    ) -> AudioPolicy:
        """Load the model, its inputs and chat template in `folder`.

        >>> AudioPolicy.from_pretrained("/no/such/model")
        Traceback (most recent call last):
        aural.errors.MissingFile: /no/such/model: no such model folder (models load from local folders only)
        """
        path = _local_folder(folder)
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        local = {"local_files_only": True, "trust_remote_code": trust_remote_code}
        config = AutoConfig.from_pretrained(path, **local)
        if config.model_type not in BUILT_IN and not trust_remote_code:
            raise AuralError(
                f"model type {config.model_type!r} is not built in ({', '.join(BUILT_IN)}); "
                "pass trust_remote_code=True for a model that ships its own modeling code",
                path,
            )
        model = load_audio_model(path, config, dtype=DTYPES[dtype], **local).to(device)
        model.eval()
        if config.model_type == "step_audio_2":  # no feature extractor: its own log-mels, clips cut into chunks
            builder = PromptBuilder.from_pretrained(path)
            if model.config.audio_patch_token_id is None:  # a response's own <audio_start> stays text
                model.config.audio_patch_token_id = builder.tokenizer.convert_tokens_to_ids(AUDIO_PATCH)
            return cls(model, StepAudio2Inputs(builder.tokenizer), builder.tokenizer, builder)
        if config.model_type in BUILT_IN:
            make_inputs: Callable[..., dict] = load_inputs(path, config)
            tokenizer, features = make_inputs.tokenizer, make_inputs.feature_extractor
        else:
            processor = AutoProcessor.from_pretrained(path, **local)
            tokenizer, features = processor.tokenizer, processor.feature_extractor

            def make_inputs(text: str, audios: Sequence[Any]) -> dict:
                return processor(text=[text], audio=list(audios) or None, sampling_rate=features.sampling_rate, return_tensors="pt")

        return cls(model, make_inputs, tokenizer, PromptBuilder(tokenizer, features.sampling_rate))

    def inputs(self, prompt: Prompt) -> dict[str, torch.Tensor]:
        """The model's inputs for `prompt`: token ids with each audio placeholder expanded, and the audio features."""
        batch = self.make_inputs(prompt.text, prompt.audios)
        return {k: v.to(self.model.device) for k, v in batch.items() if isinstance(v, torch.Tensor)}

    @torch.inference_mode()
    def generate(
        self,
        prompts: Sequence[Prompt],
        n: int = 16,
        max_new_tokens: int = 10_240,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int | None = None,
        ignore_eos: bool = False,
    ) -> list[list[Generation]]:
        """`n` responses to each prompt, sampled with transformers (greedy at temperature 0).

        Prompts whose inputs have the same shapes, with one clip at most, are decoded
        together (up to `BATCH_SEQUENCES` sequences a call), so no row is padded; the others
        one at a time. The KV cache grows one step per token, so memory grows linearly with
        the length. Sampling draws from the whole distribution (no top-k), as vLLM does and as
        PPO's log-probabilities assume. `ignore_eos` keeps sampling to `max_new_tokens` (for fixed-length benchmarks).
        The audio placeholder is never sampled: the model would read it as a clip's slot.
        """
        sampling = temperature > 0
        copies = n if sampling else 1  # greedy: one decode serves all n
        inputs = [self.inputs(prompt) for prompt in prompts]
        results: list[list[Generation]] = [[] for _ in prompts]
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            for group in _batches(prompts, inputs, max(1, BATCH_SEQUENCES // copies)):
                batch = {key: torch.cat([inputs[i][key] for i in group]) for key in inputs[group[0]]}
                prompt_length = batch["input_ids"].shape[1]
                rows = self.model.generate(
                    **batch,
                    do_sample=sampling,
                    temperature=temperature if sampling else None,
                    top_p=top_p if sampling else None,
                    top_k=0 if sampling else None,  # the whole vocabulary, as vLLM samples (transformers' default keeps 50)
                    max_new_tokens=max_new_tokens,
                    min_new_tokens=max_new_tokens if ignore_eos else None,
                    num_return_sequences=copies,
                    pad_token_id=self.tokenizer.pad_token_id,
                    eos_token_id=sorted(self.eos_token_ids),
                    suppress_tokens=self.never_sampled or None,
                )
                for position, index in enumerate(group):
                    own = rows[position * copies : (position + 1) * copies]
                    generations = [self._generation(row[prompt_length:].tolist(), prompt_length) for row in own]
                    results[index] = generations if sampling else generations * n
        return results

    def _generation(self, new_tokens: list[int], prompt_tokens: int) -> Generation:
        end = next((i for i, token in enumerate(new_tokens) if token in self.eos_token_ids), None)
        text_tokens = new_tokens if end is None else new_tokens[:end]
        text = self.tokenizer.decode(text_tokens, skip_special_tokens=True)  # as vLLM decodes
        if end is None:
            return Generation(text, tuple(new_tokens), prompt_tokens, "length")
        return Generation(text, tuple(new_tokens[: end + 1]), prompt_tokens, "stop")

    @torch.inference_mode()
    def logprobs(self, prompt: Prompt, response: str | Sequence[int]) -> torch.Tensor:
        """The log-probability of each response token given the prompt and its audio.

        `response` is text (tokenized without special tokens added) or token ids.
        """
        inputs = self.inputs(prompt)
        ids = self.tokenizer(response, add_special_tokens=False)["input_ids"] if isinstance(response, str) else list(response)
        if not ids:
            return torch.zeros(0)
        response_ids = torch.tensor([ids], device=self.model.device)
        prompt_length = inputs["input_ids"].shape[1]
        inputs["input_ids"] = torch.cat([inputs["input_ids"], response_ids], dim=1)
        inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
        logits = self.model(**inputs).logits[0, prompt_length - 1 : -1].float()
        return torch.log_softmax(logits, dim=-1).gather(1, response_ids[0].unsqueeze(1)).squeeze(1).cpu()


def _batches(prompts: Sequence[Prompt], inputs: Sequence[dict[str, torch.Tensor]], size: int) -> list[list[int]]:
    """Indices of `prompts` in decoding groups: those with one clip at most and inputs of the
    same shapes together (at most `size` a group), every other prompt alone."""
    groups: dict[Any, list[int]] = {}
    for index, (prompt, tensors) in enumerate(zip(prompts, inputs)):
        key = tuple((k, tuple(v.shape)) for k, v in sorted(tensors.items())) if len(prompt.audios) <= 1 else index
        groups.setdefault(key, []).append(index)
    return [group[start : start + size] for group in groups.values() for start in range(0, len(group), size)]


def stop_token_ids(config: PretrainedConfig, generation_config: Any, tokenizer: Any) -> frozenset[int]:
    """Every token that ends a response: the generation config's end tokens, the model config's
    (its text config's too) and the tokenizer's, so that a folder listing fewer than its
    family's stops (Step-Audio 2 has three) still stops at each.

    >>> from transformers import GenerationConfig, PretrainedConfig
    >>> sorted(stop_token_ids(PretrainedConfig(eos_token_id=[1, 3]), GenerationConfig(eos_token_id=2), None))
    [1, 2, 3]
    """
    found: set[int] = set()
    for source in (generation_config, config, getattr(config, "text_config", None)):
        eos = getattr(source, "eos_token_id", None)
        found.update([eos] if isinstance(eos, int) else eos or [])
    if getattr(tokenizer, "eos_token_id", None) is not None:
        found.add(tokenizer.eos_token_id)
    return frozenset(found)
