"""The reply cache: duplicates of a command are answered again, never executed twice.

PROTOCOL.md §3.2: the device keeps the replies to its last ``reply_cache_size`` commands of the
cached types, keyed by (session_id, seq, msg_type). A command is a duplicate only if it is the
same command: here the whole verified header and the decoded message are compared, which is at
least as strict as comparing the frames' CRCs. The same key with another command replaces the
entry (the host's seq wrapped, or a new command reused a seq).
"""

from __future__ import annotations

from collections import OrderedDict

from firmware_protocol import Header, Message

__all__ = ["ReplyCache"]


class ReplyCache:
    """The last ``size`` (command, encoded reply) pairs, oldest dropped first.

    Args:
        size: how many replies to keep.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[int, int, int], tuple[Header, Message, bytes]] = (
            OrderedDict()
        )

    def __len__(self) -> int:
        """Number of replies kept."""
        return len(self._entries)

    def clear(self) -> None:
        """Forget every reply (a new session opens, the device boots)."""
        self._entries.clear()

    def get(self, header: Header, message: Message) -> bytes | None:
        """The reply already sent for this exact command, or None if it is a new command."""
        entry = self._entries.get((header.session_id, header.seq, header.msg_type))
        if entry is None or entry[0] != header or entry[1] != message:
            return None
        return entry[2]

    def put(self, header: Header, message: Message, reply: bytes) -> None:
        """Remember the encoded ``reply`` sent for a command just executed."""
        key = (header.session_id, header.seq, header.msg_type)
        self._entries.pop(key, None)
        self._entries[key] = (header, message, reply)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
