"""Message bus interface and implementations."""

from common.bus.base import Bus, BusError, BusUnavailable, Message, Publisher, Record, Subscription

__all__ = ["Bus", "BusError", "BusUnavailable", "Message", "Publisher", "Record", "Subscription"]
