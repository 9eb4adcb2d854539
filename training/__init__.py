"""Training the audio policy: PPO through OpenRLHF with audio, PPO on one CPU, SFT and DPO with TRL.

This folder is the package ``aural.training`` (``training/cpu_ppo.py`` is ``aural.training.cpu_ppo``):

    ppo_config, ppo_launch, launch       a PPO config TOML to OpenRLHF's train_ppo_ray launch (aural ppo)
    openrlhf_parser                      OpenRLHF's own parser and checks, run without starting anything
    openrlhf_prompts                     a prompt set as OpenRLHF's prompt file
    openrlhf_agent                       the rollout step with audio (--train.agent_func_path)
    openrlhf_audio, audio_critic         audio in OpenRLHF's actor, critic and experience maker: every patch, one release
    vllm_weights                         the engines' side of the weight sync
    cpu_device, cpu_worker               the CPU transport and device layer (gloo for NCCL, CPU for torch.cuda)
    flash_attn_placeholder               the import placeholder for flash-attn
    smoke, run_record                    the two-step CPU check of a config, and what a run did
    cpu_ppo                              PPO on one CPU with OpenRLHF's pieces (the demo's RL)
    sft, self_cognition                  SFT with TRL's SFTTrainer and its format stop; self-cognition DPO
"""
