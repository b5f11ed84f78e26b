"""One conversational turn: the policy, forms, the actions run in process, the articles
and the bot's own sentences."""
