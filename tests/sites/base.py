"""Tests use the same loopback site as `newswire demo` (flows.localsite)."""

from flows.localsite import LocalSite, SeenRequest, StaticRoute, send_simple

__all__ = ["LocalSite", "SeenRequest", "StaticRoute", "send_simple"]
