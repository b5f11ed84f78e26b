"""Handoffs to people: the handoff record and the route a customer takes to a person."""
