"""The name of every key the Redis store keeps its records under.

The cluster and the rate limiter name their own (p:lock:*, p:live, p:agents_online and
p:rate:*, in bot/store/redis/cluster.py and ratelimit.py), with the same prefix.
"""

from __future__ import annotations

# The keys of one conversation: its events (list), state (JSON), client message ids,
# the ids of its handoffs, its deliveries, its offered-escalation and escalated entries
# (sets), and what the insights counted of it so far (JSON).
CONVERSATION_PARTS = (
    "events",
    "state",
    "messages",
    "handoffs",
    "deliveries",
    "offered",
    "escalated",
    "insights",
)


class Keys:
    """The name of every key; each starts with the prefix, so bots can share a server.

    Layout (p = prefix):
        p:conv:{sender}:events       list of JSON events, oldest first
        p:conv:{sender}:state        JSON state
        p:conv:{sender}:messages     set of client message ids (resend detection)
        p:conv:{sender}:handoffs     set of the conversation's handoff ids
        p:conv:{sender}:deliveries   set of the ids of deliveries about it
        p:conv:{sender}:offered      set of its members of p:offered
        p:conv:{sender}:escalated    set of its members of p:escalated
        p:conv:{sender}:insights     JSON of what the insights counted of it so far
        p:conversations              zset sender -> time of the last event
        p:handoff:{id}               JSON handoff
        p:handoffs:{status}          zset id -> created_at
        p:handoffs:{status}:{route}  zset id -> created_at
        p:offered                    zset [sender, text, time, nonce] -> time, capped
        p:escalated                  zset [sender, time, text, ranked, nonce] -> time
        p:insights:hour:{hour}       hash figure -> count, of one hour (bot/store/tally.py)
        p:insights:counted           mark: the turns stored before the tallies are counted
        p:insights:counting          lease of the process counting them
        p:outbox:next_id             counter of delivery ids
        p:outbox:item:{id}           hash of one delivery
        p:outbox:all                 zset id -> id
        p:outbox:status:{status}     zset id -> id
        p:outbox:due                 zset id -> next attempt, queued items only
        p:outbox:unnamed_sent        zset id -> created_at, sent items of no conversation
        p:agents                     hash username -> JSON agent
        p:session:{token_hash}       JSON session, expiring
        p:agent_sessions:{username}  zset token_hash -> expires_at
        p:applied:{token}            mark of one applied transaction, expiring
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.conversations = f"{prefix}:conversations"
        self.offered = f"{prefix}:offered"
        self.escalated = f"{prefix}:escalated"
        self.insights_counted = f"{prefix}:insights:counted"
        self.insights_counting = f"{prefix}:insights:counting"
        self.next_delivery_id = f"{prefix}:outbox:next_id"
        self.delivery_prefix = f"{prefix}:outbox:item:"
        self.all_deliveries = f"{prefix}:outbox:all"
        self.due = f"{prefix}:outbox:due"
        self.unnamed_sent = f"{prefix}:outbox:unnamed_sent"
        self.agents = f"{prefix}:agents"

    def conversation(self, sender: str, part: str) -> str:
        return f"{self.prefix}:conv:{sender}:{part}"

    def insight_hour(self, hour: int) -> str:
        return f"{self.prefix}:insights:hour:{hour}"

    def handoff(self, handoff_id: str) -> str:
        return f"{self.prefix}:handoff:{handoff_id}"

    def handoffs(self, status: str, route: str | None = None) -> str:
        by_status = f"{self.prefix}:handoffs:{status}"
        return by_status if route is None else f"{by_status}:{route}"

    def delivery(self, item_id: int | str) -> str:
        return f"{self.delivery_prefix}{item_id}"

    def deliveries(self, status: str) -> str:
        return f"{self.prefix}:outbox:status:{status}"

    def session(self, token_hash: str) -> str:
        return f"{self.prefix}:session:{token_hash}"

    def agent_sessions(self, username: str) -> str:
        return f"{self.prefix}:agent_sessions:{username}"
