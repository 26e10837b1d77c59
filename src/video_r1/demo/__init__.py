"""``video-r1 demo``: the whole Video-R1 pipeline in miniature, on CPU, without downloads.

Stages (each prints a banner and shows a progress bar):

1. build a small random-init Qwen2.5-VL checkpoint offline (:func:`video_r1.testing.tiny.build_tiny_checkpoint`,
   sizes from the recipe);
2. write the synthetic frame-order dataset (:func:`video_r1.data.synthetic.make_synthetic`): train (RL),
   CoT (SFT) and a held-out test split whose video questions are answerable only from frame order;
3. evaluate the untrained model (``base``), run the SFT cold start (:class:`~video_r1.trainers.VideoSFTTrainer`)
   until it is partly right (:mod:`~video_r1.demo.sft_stop`), evaluate (``sft``), run T-GRPO (:class:`~video_r1.trainers.TGRPOTrainer`) from the SFT weights and
   evaluate (``grpo``). Every evaluation is greedy, on the held-out split, twice: on the ordered frames and
   on the same frames permuted (frame level, seeded per sample), see :class:`ShuffledFramesHFBackend`;
4. write ``report.json``, ``report.md`` and ``curves.png`` (RL curves: accuracy reward, temporal bonus rate,
   mean reward, completion length) to the output directory.

Every size, step count and learning rate comes from a YAML recipe (:class:`DemoRecipe`, shipped as
``video_r1/configs/demo_cpu.yaml``); its ``quick_overrides`` are merged over the rest by ``--quick`` (a few
steps per stage, the CI smoke run). ``--ablation`` runs every RL arm of the recipe's ``arms`` (each a set
of TGRPOConfig overrides; default: GRPO with ``temporal: false`` beside T-GRPO) from the same SFT checkpoint
on several seeds and writes the table of the paper's ablation in miniature, with every arm compared to the
first, paired by seed. ``--recipe shortcut`` (``demo_shortcut.yaml``) is issue 22's ablation: the direction
task with a single-frame shortcut cue (see :mod:`video_r1.data.synthetic`), GRPO, the original T-GRPO and
its variants on five seeds; the held-out split breaks the cue and its accuracy is split by ``cue_agrees``.

Modules: :mod:`~video_r1.demo.recipe` (the recipe, the packaged recipes by name), :mod:`~video_r1.demo.evaluate`
(ordered / shuffled evaluation and its statistics, the cue split), :mod:`~video_r1.demo.pipeline` (the
stages and arms), :mod:`~video_r1.demo.report` (report.json, report.md, ablation table, curves),
:mod:`~video_r1.demo.compare` (the arms over seeds, paired against the baseline arm),
:mod:`~video_r1.demo.sft_stop` (the SFT early stop).

Three recipe choices are specific to the tiny scale and documented in the recipe file:

* ``sft_stop``: SFT stops at the first check (every 10 steps) whose greedy accuracy on 100 RL-split
  questions reaches 0.6, so RL starts from a model that is partly right, whatever the seed's learning jump.

* ``data.cot_style: short`` rewrites the direction task's ``<think>`` for SFT into a compact form of the
  generator's own reasoning: "The red square is on the left in the first frame and on the right in the last
  frame, so it moves right." becomes "First frame: left. Last frame: right. So it moves right." The two
  position words are what must be read from the video; the rest is a copy. With the generator's long
  sentence (``generator``) or a fixed think sentence without these steps, the 0.7M model stayed at chance
  for 400-800 SFT steps (measured on an earlier recipe). Other tasks keep the generator's text.
* Evaluation uses the ``train`` prompt wording (``eval.variant``), the wording SFT and RL saw. The paper's
  evaluation wording ("between the <think> and </think> tags") is reported beside it
  (``eval.compare_variant: eval`` -> ``accuracy_eval_wording``, ordered frames).
"""

from video_r1.demo.compare import compare_arms
from video_r1.demo.evaluate import (
    ShuffledFramesHFBackend,
    evaluate_model,
    paired_difference,
    permute_sample_frames,
    rl_gain,
    sample_permutation,
    standard_error,
)
from video_r1.demo.pipeline import RL_ARMS, SHORT_THINK, run_demo, run_seed, short_cot
from video_r1.demo.recipe import DEFAULT_CONFIG, RECIPES, DemoRecipe, load_recipe, read_recipe
from video_r1.demo.report import ABLATION_ROWS, REPORT_STAGES, ablation_table, render_markdown

__all__ = [
    "ABLATION_ROWS",
    "DEFAULT_CONFIG",
    "RECIPES",
    "REPORT_STAGES",
    "RL_ARMS",
    "SHORT_THINK",
    "DemoRecipe",
    "ShuffledFramesHFBackend",
    "ablation_table",
    "compare_arms",
    "evaluate_model",
    "load_recipe",
    "paired_difference",
    "permute_sample_frames",
    "read_recipe",
    "render_markdown",
    "rl_gain",
    "run_demo",
    "run_seed",
    "sample_permutation",
    "short_cot",
    "standard_error",
]
