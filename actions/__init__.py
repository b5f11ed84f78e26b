"""rasa-sdk custom actions of the PC Patrol assistant.

The bot runs them in process; `python -m rasa_sdk --actions actions` serves the same
actions to Rasa or to the bot over HTTP.
"""
