"""Aural's reward as a verl reward manager (verl 0.9.1's reward loop).

    reward.reward_manager.source=importlib
    reward.reward_manager.name=AuralRewardManager
    reward.reward_manager.module.path=pkg://aural.rewards.verl_manager
    +reward.reward_kwargs.recipe=step-audio-r1        # optional; also default_modality, eos_tokens

verl's reward loop hands the manager one sample at a time (``run_single``),
with its token ids: the manager decodes them itself, with special tokens. The
prompt's tail shows a ``<think>`` the template pre-filled; a response that
fills the whole response length without an end-of-sequence token is truncated
(in verl's streaming reward loop each response comes unpadded, so that is: no
end-of-sequence token), the same semantics as Aural's OpenRLHF adapter. The
samples that arrive together are scored in one batch through Aural's pool.
verl places each ``reward_score`` at the sample's last valid response token and
builds a ``reward_extra_info`` column from each other key: ``score`` and every
recipe component (0 where a sample's route lacks it). Labels are
``reward_model.ground_truth``: Aural labels, JSON objects or bare answers.
verl's ``custom_reward_function`` is not used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

from verl import DataProto
from verl.experimental.reward_loop.reward_manager.base import RewardManagerBase

from aural.verifiers import Sample

from .batch import Rejection, read_sample
from .recipe import DEFAULT_RECIPE
from .trainer_inputs import DEFAULT_MODALITY, EOS_TOKENS
from .verl import SCORE, cached_recipe, score_samples, verl_sample

PROMPT_TAIL_TOKENS = 16  # enough to see an assistant header and a pre-filled think tag


def eos_token_ids(tokenizer: Any, tokens: Sequence[str] = EOS_TOKENS) -> frozenset[int]:
    """The ids of the end-of-sequence tokens `tokenizer` has whole, and its own ``eos_token_id``."""
    vocabulary = tokenizer.get_vocab()
    ids = {vocabulary[token] for token in tokens if token in vocabulary}
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return frozenset(ids)


class AuralRewardManager(RewardManagerBase):
    """A verl reward manager scoring with an Aural recipe. Settings come from
    ``reward.reward_kwargs``: `recipe` (a name or TOML path, default
    ``step-audio-r1``), `default_modality` (for labels that do not name one,
    default ``audio``) and `eos_tokens` (default: the common chat templates')."""

    def __init__(self, config: Any, tokenizer: Any, compute_score: Any = None, **unused: Any):
        super().__init__(config, tokenizer, compute_score)
        settings = config.reward.get("reward_kwargs") or {}
        self.recipe = cached_recipe(str(settings.get("recipe", DEFAULT_RECIPE)))
        self.default_modality = str(settings.get("default_modality", DEFAULT_MODALITY))
        self.eos_ids = eos_token_ids(tokenizer, list(settings.get("eos_tokens", EOS_TOKENS)))
        self._waiting: list[tuple[Sample | Rejection, asyncio.Future]] = []
        self._scoring: set[asyncio.Task] = set()

    def read(self, data: DataProto) -> Sample | Rejection:
        """The sample of a one-trajectory `data` (its last sequence, as verl's managers take it),
        or why it has none (its label cannot be read): scored 0, the reason logged."""
        item = data[-1]
        prompts, responses, mask = item.batch["prompts"], item.batch["responses"], item.batch["attention_mask"]
        prompt_ids = prompts[mask[: prompts.shape[-1]].bool()][-PROMPT_TAIL_TOKENS:].tolist()
        response_ids = responses[: int(mask[prompts.shape[-1] :].sum())].tolist()
        filled = len(response_ids) == responses.shape[-1]
        ended = False
        while response_ids and response_ids[-1] in self.eos_ids:
            response_ids.pop()
            ended = True
        ground_truth = item.non_tensor_batch["reward_model"]["ground_truth"]
        response, prompt_tail = (cast(Any, self.tokenizer).decode(ids, skip_special_tokens=False) for ids in (response_ids, prompt_ids))
        finish_reason = "length" if filled and not ended else "stop"
        return read_sample(lambda: verl_sample(response, ground_truth, prompt_tail, finish_reason, self.default_modality))

    async def run_single(self, data: DataProto) -> dict[str, Any]:
        """verl's reward-loop hook: ``{"reward_score", "reward_extra_info"}`` for one trajectory.
        Samples that arrive in the same turn of the event loop are scored together."""
        loop = asyncio.get_running_loop()
        reply = loop.create_future()
        self._waiting.append((self.read(data), reply))
        if len(self._waiting) == 1:  # the first of a batch: score once every waiting sample has arrived
            task = loop.create_task(self._score_waiting())
            self._scoring.add(task)
            task.add_done_callback(self._scoring.discard)
        row = await reply
        return {"reward_score": row[SCORE], "reward_extra_info": row}

    async def _score_waiting(self) -> None:
        batch, self._waiting = self._waiting, []
        try:
            rows = await asyncio.get_running_loop().run_in_executor(None, score_samples, self.recipe, [sample for sample, _ in batch])
        except Exception as error:  # noqa: BLE001  (every waiting sample must get an answer)
            for _, reply in batch:
                reply.set_exception(error)
            return
        for (_, reply), row in zip(batch, rows, strict=True):
            reply.set_result(row)
