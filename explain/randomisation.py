"""The model-randomisation sanity check (Adebayo et al., 2018, "Sanity checks for saliency maps").

If a map explains the *model*, destroying the model's learned weights must change the map. The
cascade re-initialises the network from the top down, one stage at a time, each stage keeping the
earlier ones random (the output layer; then the dense layer and its batch normalisation; then
block 4, 3, 2, 1; then the stem), and measures after each stage how similar the maps of the
randomised model are to the trained model's (Spearman rank correlation per image, averaged). A map
that stays similar once the head is random is explaining the image, or the architecture, not what
the model learned.

Random weights come from a freshly built network (the layers' own initialisers, a fixed seed);
batch normalisation returns to its initial state (no scaling, zero mean, unit variance).
"""

from __future__ import annotations

import keras

import model as tgn

# stage name -> layers re-initialised at that stage (cumulative: each stage keeps the earlier ones random)
CASCADE = {
    "output": [tgn.PREDICTIONS],
    "dense": ["head_dense", "head_batchnorm"],
    **{
        f"block{b}": [tgn.block_layer(b, part) for part in ("3x3_reduce", "3x3", "5x5_reduce", "5x5")]
        for b in (4, 3, 2, 1)
    },
    "stem": [tgn.STEM_CONV],
}
STAGE_LABELS = {
    "output": "output layer",
    "dense": "+ dense layer",
    "block4": "+ block 4",
    "block3": "+ block 3",
    "block2": "+ block 2",
    "block1": "+ block 1",
    "stem": "+ stem (all random)",
}
HEAD_RANDOM_STAGE = "dense"  # output and dense layers random: nothing the head learned is left


def cascade(trained: keras.Model, seed: int = 0):
    """Yield (stage, model) for each stage: a copy of ``trained`` with every layer up to that stage random."""
    keras.utils.set_random_seed(seed)
    fresh = tgn.build_tiny_googlenet()
    current = tgn.build_tiny_googlenet()
    current.set_weights(trained.get_weights())
    for stage, names in CASCADE.items():
        for name in names:
            current.get_layer(name).set_weights(fresh.get_layer(name).get_weights())
        yield stage, current
