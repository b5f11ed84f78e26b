"""The pcpatrol-bot command: `main` builds it from one module per group of sub-commands."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeAlias

# What `main` hands each group's `register`: adds the sub-command NAME with HELP (and
# the --project option every sub-command takes) and returns its parser.
AddCommand: TypeAlias = Callable[[str, str], argparse.ArgumentParser]
