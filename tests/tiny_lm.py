"""A tiny chat language model built offline, for trainer tests: a byte-level BPE
tokenizer trained here on a few sentences, a Qwen chat template, and a
randomly initialized two-layer Qwen2."""

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CORPUS = [
    "<think>The pitch rises, then falls over a low hum.</think>The answer is (B).",
    "Which sound is in the clip? (A) a dog barking (B) a cat meowing (C) rain on a roof (D) a car engine",
    "How many beeps do you hear? There are 4 beeps. \\boxed{4}",
    "The quick brown fox jumps over the lazy dog. 0 1 2 3 4 5 6 7 8 9",
]


def build_tiny_lm(folder: Path, seed: int = 0) -> Path:
    """Write the tokenizer and model to `folder`; returns it."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(CORPUS * 4, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>", chat_template=CHAT_TEMPLATE
    )
    tokenizer.save_pretrained(folder)
    torch.manual_seed(seed)
    # fmt: off
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, max_position_embeddings=512, tie_word_embeddings=True, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id
    )
    # fmt: on
    Qwen2ForCausalLM(config).save_pretrained(folder)
    return Path(folder)
