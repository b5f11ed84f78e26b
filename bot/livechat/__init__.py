"""The agents' side of livechat: accounts and sessions, and what an agent does with a handoff."""
