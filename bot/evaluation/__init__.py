"""Measuring the NLU and the policy: cross-validation, tests files, threshold sweep, reports.

One concern per module:

- `predictions`: a parsed message, ready to be judged at any answer threshold.
- `judging`: what the policy does with a prediction, and whether that is right.
- `crossval`: stratified k-fold cross-validation over intents/.
- `testsfile`: the rows of a tests file (message, expected outcome, kind), their predictions.
- `scores`: per-label precision, recall, F1 and the confusion matrix.
- `sweep`: answered and wrong answers per answer_threshold, and the recommendation.
- `analysis`: all of the above for one set of predictions.
- `plots`, `htmlpage`, `files`: the PNG figures, the HTML page, the files in --out.
- `console`: the same in the terminal.
- `progress`: a progress bar on stderr.
- `command`: what `pcpatrol-bot evaluate` runs.
"""
