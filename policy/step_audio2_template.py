"""The StepAudio2 chat template and prompt conventions, as Step-Audio-R1 is served.

Rendered text matches the template that the Step-Audio-R1 release passes to its
vLLM server (``--chat-template`` in the README of github.com/stepfun-ai/Step-Audio-R1):
turns are ``<|BOT|>role\\n…<|EOT|>``, the user's role is written ``human``, each
audio part is one ``<audio_patch>`` (expanded to the clip's chunks by
`aural.policy.step_audio2_audio.StepAudio2Inputs`), a trailing assistant turn
stays open, and the generation prompt opens the assistant's thinking:
``<|BOT|>assistant\\n<think>\\n``. Generation stops at ``<|EOT|>`` (id 151665 in
the released vocabulary). Multiple-choice questions are written as the
release's examples write them (``examples-vllm_r1.py``): the question, an
instruction line, one ``A. …`` line per option, then the audio.
"""

from __future__ import annotations

from collections.abc import Sequence

STOP_TOKEN = "<|EOT|>"
GENERATION_PROMPT = "<|BOT|>assistant\n<think>\n"
SPECIAL_TOKENS = ("<|BOT|>", "<|EOT|>", "<audio_start>", "<audio_end>", "<audio_patch>")
CHOICE_INSTRUCTION = "Please choose the answer from the following options, do not provide any additional explanations or content: "

CHAT_TEMPLATE = """
{%- macro part_text(part) -%}
  {%- if 'value' in part -%}{{ part['value'] }}{%- else -%}{{ part['text'] }}{%- endif -%}
{%- endmacro -%}
{%- macro body(content) -%}
  {%- if content is string -%}{{ content | replace('<audio_patch>\\n', '<audio_patch>') }}
  {%- elif content is mapping -%}{{ part_text(content) }}
  {%- elif content is iterable -%}
    {%- for part in content -%}
      {%- if part['type'] == 'text' -%}{{ part_text(part) }}
      {%- elif part['type'] == 'audio' -%}<audio_patch>
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
{%- endmacro -%}
{%- set opens_with_system = messages and messages[0]['role'] == 'system' -%}
{%- if tools -%}
  {{- '<|BOT|>system\\n' -}}
  {%- if opens_with_system -%}{{- body(messages[0]['content']) + '<|EOT|>' -}}{%- endif -%}
  {{- '<|BOT|>tool_json_schemas\\n' + tools | tojson + '<|EOT|>' -}}
{%- elif opens_with_system -%}
  {{- '<|BOT|>system\\n' + body(messages[0]['content']) + '<|EOT|>' -}}
{%- endif -%}
{%- for message in messages -%}
  {%- set role = message['role'] -%}
  {%- if role == 'user' -%}
    {{- '<|BOT|>human\\n' + body(message['content']) + '<|EOT|>' -}}
  {%- elif role == 'assistant' -%}
    {{- '<|BOT|>assistant\\n' -}}
    {%- if message['content'] -%}{{- body(message['content']) -}}{%- endif -%}
    {%- if messages[loop.index:] | selectattr('role', 'equalto', 'assistant') | list -%}{{- '<|EOT|>' -}}{%- endif -%}
  {%- elif role != 'function_output' and not (loop.first and role == 'system') -%}
    {{- '<|BOT|>' + role + '\\n' + body(message['content']) + '<|EOT|>' -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- '<|BOT|>assistant\\n<think>\\n' -}}{%- endif -%}
""".strip()


def choice_question(question: str, choices: Sequence[str]) -> str:
    """A multiple-choice question as the release writes it (the audio part goes after it).

    >>> choice_question("Which tone is higher?", ["the first", "the second"]).splitlines()[1:]
    ['Please choose the answer from the following options, do not provide any additional explanations or content: ', 'A. the first', 'B. the second']
    """
    if not 1 <= len(choices) <= 26:
        raise ValueError(f"a multiple-choice question needs 1 to 26 options, got {len(choices)}")
    options = "".join(f"{chr(ord('A') + i)}. {choice}\n" for i, choice in enumerate(choices))
    return f"{question}\n{CHOICE_INSTRUCTION}\n{options}"
