"""The pcpatrol-bot command."""
