"""Training in a process of its own (`bot.nlu.model.train_elsewhere`): reads the
pickled arguments of `train` from stdin and writes the pickled model, or the exception
training raised, to stdout."""

from __future__ import annotations

import os
import pickle
import sys

from bot.nlu.model import train


def main() -> None:
    # The result keeps the real stdout; whatever training prints (a library, C code)
    # goes to stderr instead of into the pickle.
    result = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    data, params, articles = pickle.load(sys.stdin.buffer)
    outcome: object
    try:
        outcome = train(data, params, articles)
    except Exception as exc:  # the parent raises it as its own
        outcome = exc
    with result:
        pickle.dump(outcome, result, protocol=pickle.HIGHEST_PROTOCOL)


if __name__ == "__main__":
    main()
