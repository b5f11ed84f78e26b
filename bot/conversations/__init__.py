"""Conversations: a customer message stored, answered and pushed live to every open channel."""
