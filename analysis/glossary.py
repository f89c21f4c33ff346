"""Plain-language definitions of the technical terms the app uses: shown as help text where a term
appears, and collected on the lesson page. One place, so every page says the same thing."""

TERMS = {
    "pixel value": "The brightness of one pixel, scaled from 0 (black, no ink) to 1 (white): the numbers the "
    "network actually receives.",
    "convolution": "Sliding a small grid of weights (a filter) over the image and, at each position, multiplying "
    "the pixels under it by the weights and adding them up (plus a bias). The result is a new map.",
    "filter": "The small grid of learned weights a convolution slides over its input; each filter makes one "
    "output channel. Also called a kernel.",
    "bias": "A learned number added to every output of a filter or a dense unit, so it can fire even when its "
    "inputs are small, or stay silent unless they are large.",
    "channel": "One map among the several a layer produces, each made by one filter: a detector of one kind of "
    "pattern, at every position of the image.",
    "feature map": "The 2-D grid of one channel's values: where in the image that channel's pattern is found.",
    "receptive field": "The patch of the original image that one unit of a layer can see. It grows with every "
    "convolution and pooling step, so deep units see large parts of the image.",
    "LRN": "Local response normalisation: each value is divided by a measure of how active the neighbouring "
    "channels are at the same position, so channels compete and very large values are damped.",
    "ReLU": "Rectified linear unit: keep positive numbers, replace negative ones by zero.",
    "dropout": "During training only, a random share of values is set to zero (and the rest scaled up), so the "
    "network cannot rely on any one value. At prediction time it does nothing.",
    "inception block": "A layer made of parallel branches (here a 3x3 and a 5x5 convolution, each after a 1x1) "
    "whose outputs are stacked, so the network can look at small and large patterns at once.",
    "1x1 convolution": "A convolution whose filter covers a single position: a weighted mix of the input "
    "channels there. Cheap, and used to reduce the number of channels before a larger filter.",
    "concatenation": "Stacking the channels of several branches into one set of channels.",
    "max pooling": "Keeping only the largest value of each 2x2 window: the map shrinks by half in each "
    "direction and small shifts of the image matter less.",
    "flatten": "Laying the last feature maps out as one long list of numbers, so ordinary (dense) layers can use them.",
    "dense layer": "Every output is a weighted sum of all the inputs plus a bias: here 1,024 numbers become 250 "
    "features, and 250 features become 10 class scores.",
    "batch normalisation": "Shifting and scaling each feature with the mean and variance measured during "
    "training (stored in the model), then by two learned numbers, so features have comparable ranges.",
    "logit": "The raw score of a class before softmax: any number, larger means more likely.",
    "softmax": "Turns the 10 logits into probabilities that add up to 1: exponentiate each, divide by the sum.",
    "probability": "Here: how strongly the network favours a class, as a share of 1. It is not a guarantee of "
    "being right; see the calibration section of the confusion-matrix page.",
    "saliency map": "A picture of which pixels an explanation method says mattered for the answer. A claim to be "
    "tested, not a fact: see 'Can the maps be trusted?'.",
    "Grad-CAM": "A saliency method: weights a layer's channels by the gradient of the class score and adds them "
    "up, giving a coarse heat map at that layer's resolution.",
    "occlusion": "A saliency method: cover each part of the image with a black patch and measure how much the "
    "class probability drops.",
    "deletion test": "Remove the pixels a map ranks highest, 5% at a time, and follow the probability of the "
    "class. If the map shows what the model uses, the probability falls early.",
    "insertion test": "Start from a blurred copy the model cannot read and put the pixels back in the map's order. "
    "If the map is right, the probability comes back early.",
    "fill": "What a removed pixel becomes in a deletion test: black (the background), a blur of the image, or "
    "ROAD's guess from its neighbours. A verdict must hold under every fill, because a map made by blacking "
    "pixels out tends to win the test that blacks pixels out.",
    "ROAD": "Remove And Debias (Rong et al., 2022): a removed pixel is filled with the weighted mean of its "
    "neighbours plus a little noise, so the hole does not itself look like a clue to the model.",
    "area under the curve": "One number for a deletion or insertion curve: the average probability along it "
    "(AUC). Deletion: smaller is better. Insertion: larger is better.",
    "garment control": "A pixel order that knows only where the garment is: its pixels in random order, then the "
    "background. Any map that lies on the garment beats a random order; the fair question is whether it beats "
    "this one.",
    "confidence interval": "The range the true average advantage probably lies in, given the images measured "
    "(95%: wrong about one time in twenty). 'Clear' here means the whole range lies above zero.",
    "bootstrap": "Measuring uncertainty by re-drawing the images measured, with replacement, thousands of times "
    "and seeing how much the average moves.",
    "sign test": "Counts the images a map wins and loses against a control and asks how likely so lopsided a "
    "count would be if the two were equally good (the p-value; small means unlikely).",
    "Spearman correlation": "How similarly two maps rank the pixels, from -1 (opposite) through 0 (unrelated) to 1 "
    "(the same order).",
    "randomisation check": "Replace the model's learned weights with random ones, from the top down, and compute "
    "the map again. A map that stays the same explains the image, not what the model learned.",
    "noise ceiling": "How much a map made with random noise (SmoothGrad) agrees with itself when the noise is drawn "
    "again: no other comparison can be expected to agree more.",
    "feature visualisation": "A synthetic image made by gradient ascent to excite one channel as much as "
    "possible: what the channel 'wants to see', not a real garment.",
}


def define(term: str) -> str:
    """The definition of a term of TERMS (KeyError for an unknown term: every help text must exist)."""
    return TERMS[term]
