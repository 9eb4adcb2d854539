"""Training through OpenRLHF, with audio: PPO configs and their launch (`ppo_config`,
`ppo_launch`, `launch`, checked by `openrlhf_parser`), the prompt file
(`openrlhf_prompts`), the audio plug-in (`openrlhf_agent` for rollouts,
`openrlhf_audio` and `audio_critic` for training, `vllm_weights` for the weight sync),
the CPU transport and device layer (`cpu_device`, `cpu_worker`), the two-step check of a
config (`smoke`, reading `run_record`), and PPO on one CPU (`cpu_ppo`)."""
