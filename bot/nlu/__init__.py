"""Natural-language understanding: what a customer's message means.

The rest of the project imports from here only. Inside, one module per concern:
`normalize` (text clean-up), `language` (Dutch or English), `words` and `stopwords`
(domain words), `classifier` (the TF-IDF model), `svm_training` (fitting its SVMs),
`candidates` (the intents a message is scored for), `scorer` (scoring one message; what
a stored model holds), `ngrams` (the scorer's n-grams, without scikit-learn),
`segments` (the question in a long message), `evidence` (domain evidence), `fuzzy`
(near-copies of examples), `parser` (a message to a ranked parse), `model` (training
and storing), `training_child` (training in a process of its own), `training_data`
(intents/*.yml).
"""

from bot.nlu.language import Language, detect_language
from bot.nlu.model import ArticleText, TrainedModel, ensure_trained, load, save, train
from bot.nlu.normalize import normalize
from bot.nlu.parser import (
    ALL_STEPS,
    COMPLAINT,
    OUT_OF_SCOPE,
    SOCIAL_INTENTS,
    IntentParser,
    Match,
    ParseResult,
    Steps,
)
from bot.nlu.training_data import (
    INTENT_NAME,
    INTENTS_DIR,
    Example,
    TrainingData,
    load_intents_file,
    load_training_data,
)

__all__ = [
    "ALL_STEPS",
    "COMPLAINT",
    "INTENTS_DIR",
    "INTENT_NAME",
    "OUT_OF_SCOPE",
    "SOCIAL_INTENTS",
    "ArticleText",
    "Example",
    "IntentParser",
    "Language",
    "Match",
    "ParseResult",
    "Steps",
    "TrainedModel",
    "TrainingData",
    "detect_language",
    "ensure_trained",
    "load",
    "load_intents_file",
    "load_training_data",
    "normalize",
    "save",
    "train",
]
