"""Training in a process of its own (`bot.nlu.model.train_elsewhere`): reads the
pickled arguments of `train` from stdin and writes the pickled model, or the exception
training raised, to stdout."""

from __future__ import annotations

import pickle
import sys

from bot.nlu.model import train


def main() -> None:
    data, params, articles = pickle.load(sys.stdin.buffer)
    outcome: object
    try:
        outcome = train(data, params, articles)
    except Exception as exc:  # the parent raises it as its own
        outcome = exc
    pickle.dump(outcome, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)


if __name__ == "__main__":
    main()
