"""StepAudio2 in upstream vLLM (no fork): the audio processing and the model, loaded
through the ``aural_step_audio2`` plug-in (`aural.policy.step_audio2_vllm_plugin`).

A prompt carries one ``<audio_patch>`` per clip, as the chat template writes it;
vLLM's processor replaces it with the clip's chunks, ``<audio_start>`` +
``<audio_patch>`` x count + ``<audio_end>`` each, exactly as
`aural.policy.step_audio2_audio.StepAudio2Inputs` does for transformers, and the
audio embeddings fill the ``<audio_patch>`` positions. The encoder and adaptor
are the transformers implementation's own modules (`aural.policy.step_audio2`);
the decoder is vLLM's Qwen2, so tensor parallelism and the KV cache are vLLM's.
Checkpoint names are the released ones (``model.*``, ``lm_head.*``, ``encoder.*``,
``adapter.*``). Every chunk's features are padded to a full chunk's 2,502 frames
(the encoder masks the padding), so chunks of all requests batch together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import nn
from transformers import BatchFeature
from vllm.config import VllmConfig
from vllm.config.multimodal import MultiModalDummyOptions
from vllm.inputs import MultiModalDataDict
from vllm.model_executor.models.interfaces import MultiModalEmbeddings, SupportsMultiModal
from vllm.model_executor.models.utils import AutoWeightsLoader, WeightsMapper, init_vllm_registered_model, maybe_prefix
from vllm.multimodal import MULTIMODAL_REGISTRY
from vllm.multimodal.inputs import MultiModalFieldConfig, MultiModalKwargsItems
from vllm.multimodal.parse import MultiModalDataItems, MultiModalDataParser
from vllm.multimodal.processing import (
    BaseDummyInputsBuilder,
    BaseMultiModalProcessor,
    BaseProcessingInfo,
    PromptReplacement,
    PromptUpdate,
    PromptUpdateDetails,
)
from vllm.sequence import IntermediateTensors

from .step_audio2 import Adaptor, AudioEncoder, StepAudio2Config, chunk_token_counts
from .step_audio2_audio import (
    AUDIO_END,
    AUDIO_PATCH,
    AUDIO_START,
    CHUNK_FRAMES,
    CHUNK_SAMPLES,
    SAMPLE_RATE,
    audio_token_count,
    clip_features,
    pad_features,
)

MAX_CLIP_SECONDS = 300  # the longest clip vLLM plans memory for (12 chunks, 3,780 prompt tokens)


def _fields(hf_inputs: Mapping[str, torch.Tensor]) -> Mapping[str, MultiModalFieldConfig]:
    chunks = hf_inputs.get("chunk_counts", torch.empty(0, dtype=torch.long))
    return {
        "input_features": MultiModalFieldConfig.flat_from_sizes("audio", chunks),
        "feature_attention_mask": MultiModalFieldConfig.flat_from_sizes("audio", chunks),
        "chunk_counts": MultiModalFieldConfig.batched("audio", keep_on_cpu=True),
    }


class StepAudio2ProcessingInfo(BaseProcessingInfo):
    """Clips at 16 kHz mono, any number per prompt."""

    def get_hf_config(self) -> StepAudio2Config:
        return self.ctx.get_hf_config(StepAudio2Config)

    def get_supported_mm_limits(self) -> Mapping[str, int | None]:
        return {"audio": None}

    def get_data_parser(self) -> MultiModalDataParser:
        return MultiModalDataParser(target_sr=SAMPLE_RATE, target_channels=1, expected_hidden_size=self._get_expected_hidden_size())

    def get_mm_max_tokens_per_item(self, seq_len: int, mm_counts: Mapping[str, int]) -> Mapping[str, int]:
        if mm_counts.get("audio", 0) <= 0:
            return {}
        chunks = MAX_CLIP_SECONDS * SAMPLE_RATE // CHUNK_SAMPLES
        return {"audio": chunks * (audio_token_count(CHUNK_FRAMES) + 2)}


class StepAudio2DummyInputsBuilder(BaseDummyInputsBuilder[StepAudio2ProcessingInfo]):
    """Profiling inputs: the longest clip planned for, once per audio allowed."""

    def get_dummy_text(self, mm_counts: Mapping[str, int]) -> str:
        return AUDIO_PATCH * mm_counts.get("audio", 0)

    def get_dummy_mm_data(self, seq_len: int, mm_counts: Mapping[str, int], mm_options: MultiModalDummyOptions) -> MultiModalDataDict:
        return {
            "audio": self._get_dummy_audios(
                length=MAX_CLIP_SECONDS * SAMPLE_RATE, num_audios=mm_counts.get("audio", 0), overrides=mm_options.get("audio")
            )
        }


class StepAudio2MultiModalProcessor(BaseMultiModalProcessor[StepAudio2ProcessingInfo]):
    """Features by Aural's log-mels (no Hugging Face processor exists); each clip's
    ``<audio_patch>`` becomes its chunks' markup."""

    def _call_hf_processor(self, hf_data: Mapping[str, object], hf_kwargs: Mapping[str, object]) -> BatchFeature:
        clips = [clip_features(np.asarray(clip, dtype=np.float32)) for clip in hf_data.get("audio", [])]
        mels = [mel for clip in clips for mel in clip]
        if not mels:
            raise ValueError("an audio clip is under 20 ms: too short for any audio token")
        features, mask = pad_features(mels, CHUNK_FRAMES)
        counts = torch.tensor([len(clip) for clip in clips])
        return BatchFeature({"input_features": features, "feature_attention_mask": mask, "chunk_counts": counts})

    def _get_mm_fields_config(
        self, hf_inputs: BatchFeature, hf_processor_mm_kwargs: Mapping[str, object]
    ) -> Mapping[str, MultiModalFieldConfig]:
        return _fields(hf_inputs)

    def _get_prompt_updates(
        self, mm_items: MultiModalDataItems, hf_processor_mm_kwargs: Mapping[str, object], out_mm_kwargs: MultiModalKwargsItems
    ) -> Sequence[PromptUpdate]:
        start, patch, end = self.info.get_tokenizer().convert_tokens_to_ids([AUDIO_START, AUDIO_PATCH, AUDIO_END])
        data = out_mm_kwargs.get_data()
        frames = data["feature_attention_mask"].sum(-1).tolist() if "feature_attention_mask" in data else []
        counts = data["chunk_counts"].tolist() if "chunk_counts" in data else []
        firsts = np.cumsum([0, *counts]).tolist()

        def chunks_of(item: int) -> PromptUpdateDetails:
            ids: list[int] = []
            for chunk_frames in frames[firsts[item] : firsts[item + 1]]:
                ids += [start, *[patch] * audio_token_count(int(chunk_frames)), end]
            return PromptUpdateDetails.select_token_id(ids, patch)

        return [PromptReplacement(modality="audio", target=[patch], replacement=chunks_of)]


@MULTIMODAL_REGISTRY.register_processor(
    StepAudio2MultiModalProcessor, info=StepAudio2ProcessingInfo, dummy_inputs=StepAudio2DummyInputsBuilder
)
class StepAudio2ForVLLM(nn.Module, SupportsMultiModal):
    """StepAudio2 for vLLM: Aural's encoder and adaptor, vLLM's Qwen2 decoder."""

    hf_to_vllm_mapper = WeightsMapper(orig_to_new_prefix={"model.": "language_model.model.", "lm_head.": "language_model.lm_head."})

    @classmethod
    def get_placeholder_str(cls, modality: str, i: int) -> str | None:
        if modality.startswith("audio"):
            return AUDIO_PATCH
        raise ValueError("StepAudio2 takes audio only")

    def __init__(self, *, vllm_config: VllmConfig, prefix: str = ""):
        super().__init__()
        config: StepAudio2Config = vllm_config.model_config.hf_config
        self.config = config
        with self._mark_tower_model(vllm_config, "audio"):
            self.encoder = AudioEncoder(config.audio_encoder_config)
            self.adapter = Adaptor(config.audio_encoder_config)
        with self._mark_language_model(vllm_config):
            self.language_model = init_vllm_registered_model(
                vllm_config=vllm_config,
                hf_config=config.text_config,
                prefix=maybe_prefix(prefix, "language_model"),
                architectures=["Qwen2ForCausalLM"],
            )
        self.make_empty_intermediate_tensors = self.language_model.make_empty_intermediate_tensors

    def embed_multimodal(self, **kwargs: object) -> MultiModalEmbeddings:
        """One (audio tokens, hidden) tensor per clip: its chunks' adaptor outputs in order."""
        features, mask, counts = (kwargs.get(key) for key in ("input_features", "feature_attention_mask", "chunk_counts"))
        if features is None:
            return []
        features = torch.cat(list(features)) if isinstance(features, (list, tuple)) else features
        mask = torch.cat(list(mask)) if isinstance(mask, (list, tuple)) else mask
        frames = mask.sum(-1)
        states = self.adapter(self.encoder(features, frames))
        chunks = [row[:n] for row, n in zip(states, chunk_token_counts(frames).tolist())]
        counts = torch.as_tensor(counts).flatten().tolist()
        firsts = np.cumsum([0, *counts]).tolist()
        return tuple(torch.cat(chunks[firsts[i] : firsts[i + 1]]) for i in range(len(counts)))

    def forward(
        self,
        input_ids: torch.Tensor | None,
        positions: torch.Tensor,
        intermediate_tensors: IntermediateTensors | None = None,
        inputs_embeds: torch.Tensor | None = None,
        **kwargs: object,
    ) -> torch.Tensor | IntermediateTensors:
        if intermediate_tensors is not None:
            inputs_embeds = None
        return self.language_model.model(input_ids, positions, intermediate_tensors, inputs_embeds=inputs_embeds)

    def compute_logits(self, hidden_states: torch.Tensor) -> torch.Tensor | None:
        return self.language_model.compute_logits(hidden_states)

    def load_weights(self, weights: Iterable[tuple[str, torch.Tensor]]) -> set[str]:
        return AutoWeightsLoader(self).load_weights(weights, mapper=self.hf_to_vllm_mapper)
