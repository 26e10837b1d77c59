"""A small synthetic dataset whose video questions can only be answered from frame order.

Video-R1's T-GRPO rewards a model for answering better from ordered frames than from shuffled ones. To see
that mechanism work end to end on a laptop we need data where temporal order is *the* signal: a model that
only sees the unordered bag of frames must be at chance, and one that reads the order can be perfect. This
package writes such data in the original record format (``train.json``, ``cot.json``, ``test.json`` plus
``videos/*.mp4`` and ``images/*.png``), and an oracle that recovers every label by measurement so tests can
check the labels without trusting the generator.

Video tasks (all two-option multiple choice, answers balanced per task, chance = 0.5):

* ``direction``   - one coloured square slides horizontally; "A. left" / "B. right".
* ``appearance_order`` - two squares of different colours, each visible on its own half of the clip
  (disjoint intervals of equal length); "which colour appears first?", options are the two colours.
* ``size_change`` - one square whose side changes linearly; "A. grows" / "B. shrinks".

Why shuffled frames carry no information (the multiset argument). Every video sample is drawn as latent
parameters (colours, sizes, positions, speed, per-frame background noise) from the sample's own random
generator, *without looking at the label*; the frames are rendered in a canonical order whose answer is
fixed (moving right, the first-listed colour first, growing), and the label only decides whether that frame
sequence is played forwards or backwards. Reversal permutes frames, so the multiset of frames is exactly
the same function of the latents under both answers: its distribution does not depend on the label, and by
the same token no function of the unordered frames (e.g. a model given a shuffled clip) can beat chance. The
answer is recoverable only from the order: centroid trend, which colour is seen earlier, area trend.
In the appearance task each frame shows exactly one object and both are shown for the same number of
frames, so even "which colour is shown more often" says nothing (reversal alone would already keep any
label-independent interval lengths fair; equal lengths make it evident at a glance).

The codec must not break the argument either. With ordinary inter-frame H.264, the first frame is an
I-frame of different quality than the P-frames that follow, so a shuffled clip would still reveal which
frame came first (and hence the direction). Videos are therefore encoded intra-only (every frame a
keyframe) at a constant quantiser, with one encoder thread: each decoded frame is then a deterministic
function of that frame alone, decoding a reversed clip gives exactly the reversed decoded frames, and the
files are byte-identical for a seed. H.264/yuv420p in MP4 is read by decord, PyAV and qwen-vl-utils.

The shortcut miniature (``shortcut_cue``, off by default). The argument above is what makes order *the*
signal; issue 22 needs the opposite as well: training questions that can *also* be answered from a single
frame, as many real video questions can, so that a model may learn a shortcut instead of the order. With
``shortcut_cue`` the direction task draws one static latent (the square's colour, the background's grey
level or the square's row, see :data:`SHORTCUT_CUES`) from a half chosen by the answer: in the training
splits ``cue_agreement`` of the questions (e.g. 0.9) carry a cue that points to the right direction, the rest
one that points the wrong way; the held-out split breaks the correlation (``test_cue_agreement`` 0.5, or
0.0 to reverse it). Shuffled frames keep the cue and lose the order, so a cue-following model scores the
same on ordered and shuffled frames (high on training questions, chance on the held-out ones), while only a
model that reads the order scores 1.0 everywhere. Every direction record gets ``cue_agrees``, so accuracy
can be split by it. :func:`answer_from_cue` is the single-frame oracle of the cue.

Image tasks (they exercise mixed image+video batches; PNG is lossless so labels are exact):

* ``count``       - 1..5 separated squares; "numerical", e.g. ``<answer>3</answer>``.
* ``square_size`` - one square; its side length in pixels, "regression".
* ``colour``      - one square; two colour options, "multiple choice".

Defaults follow what a tiny random-init model learned on CPU (``demo-notes.md``): 8 frames at 2 fps of
56x56 (the Qwen2.5-VL 2-fps sampler then keeps every frame), squares of 10-14 px, speed >= 4.5 px/frame,
mild noise. Chain-of-thought text in ``cot.json`` is one short templated sentence, because long ``<think>``
targets dilute the single informative answer token in a tiny model's loss.

Layout: :mod:`~video_r1.data.synthetic.spec` (tasks, palette, :class:`SyntheticSpec`, :class:`Sample`),
:mod:`~video_r1.data.synthetic.render` (drawing each task, :func:`generate_sample`),
:mod:`~video_r1.data.synthetic.oracle` (:func:`answer_from_frames`), :mod:`~video_r1.data.synthetic.media`
(:func:`encode_video`, :func:`decode_video`, PNG writing) and :mod:`~video_r1.data.synthetic.writer`
(:func:`make_synthetic`, :func:`check_settings`). Everything is importable from this package.
"""

from __future__ import annotations

from video_r1.data.synthetic.media import decode_video, encode_video
from video_r1.data.synthetic.oracle import _object_mask as _object_mask  # re-exported for the tests
from video_r1.data.synthetic.oracle import answer_from_cue, answer_from_frames
from video_r1.data.synthetic.render import generate_sample
from video_r1.data.synthetic.spec import (
    IMAGE_TASKS,
    PALETTE,
    SHORTCUT_CUES,
    TASK_PROBLEM_TYPES,
    VIDEO_TASKS,
    Sample,
    SyntheticSpec,
)
from video_r1.data.synthetic.writer import check_settings, make_synthetic

__all__ = [
    "IMAGE_TASKS",
    "PALETTE",
    "SHORTCUT_CUES",
    "TASK_PROBLEM_TYPES",
    "VIDEO_TASKS",
    "Sample",
    "SyntheticSpec",
    "answer_from_cue",
    "answer_from_frames",
    "check_settings",
    "decode_video",
    "encode_video",
    "generate_sample",
    "make_synthetic",
]
