"""The audio language model Aural samples from and trains: audio in, prompts, loading, generation.

This folder is the package ``aural.policy`` (``policy/model.py`` is ``aural.policy.model``):

    audio           files, bytes or arrays to mono waveforms at the model's rate
    messages        chat messages' audio parts; vLLM's multi_modal_data
    prompt          chat templates: messages to a rendered Prompt (PromptBuilder)
    inputs          the Qwen audio family's model inputs (placeholders expanded, features)
    model           AudioPolicy: loading, sampling (Generation), teacher-forced log-probabilities
    checkpoint      saving a policy that transformers and vLLM both load
    sharding        vLLM tensor parallel and DeepSpeed ZeRO-3 plans for a cluster
    step_audio2, step_audio2_audio, step_audio2_template, step_audio2_vllm, step_audio2_vllm_plugin
                    Step-Audio-R1's family: the model, its audio, its template, in vLLM
    tiny            the tiny random-weight policies of tests and the demo
"""
