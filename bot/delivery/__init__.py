"""Deliveries that must not get lost: the outbox worker, handoff e-mails and webhook calls."""
