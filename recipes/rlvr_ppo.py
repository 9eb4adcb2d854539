"""PPO through OpenRLHF on an audio policy, from a readable config (same as `aural ppo`).

    python recipes/rlvr_ppo.py recipes/configs/step_audio_r1.toml [--dry-run] [--policy DIR]

With --dry-run it prints the `train_ppo_ray` launch; otherwise it writes the
OpenRLHF prompt file under the config's run.output and runs the launch.
"""

import sys

from aural.cli import main

if __name__ == "__main__":
    sys.exit(main(["ppo", *sys.argv[1:]]))
