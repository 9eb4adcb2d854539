"""A small model in Step-Audio-R1's shape, shipped as remote code: the processor
(12.5 audio tokens a second of audio)."""

from transformers import ProcessorMixin


class StepAudioStyleProcessor(ProcessorMixin):
    attributes = ["feature_extractor", "tokenizer"]
    feature_extractor_class = "WhisperFeatureExtractor"
    tokenizer_class = "PreTrainedTokenizerFast"

    def __call__(self, text, audio=None, sampling_rate=16000, return_tensors="pt"):
        batch = {}
        text = list(text)
        if audio:
            features = self.feature_extractor(audio, sampling_rate=sampling_rate, padding="max_length",
                                              return_attention_mask=True, return_tensors=return_tensors)
            batch["input_features"] = features["input_features"]
            batch["feature_attention_mask"] = features["attention_mask"]
            counts = iter((features["attention_mask"].sum(-1) // 8).tolist())
            text = ["".join(piece if i == 0 else "<|AUDIO|>" * next(counts) + piece
                            for i, piece in enumerate(t.split("<|AUDIO|>"))) for t in text]
        batch.update(self.tokenizer(text, add_special_tokens=False, return_tensors=return_tensors))
        return batch
