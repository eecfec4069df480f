"""Test helpers: a scripted LLM server for the official OpenAI/Anthropic SDKs."""

from .llm_server import Reply, Request, ScriptedLLMServer

__all__ = ["Reply", "Request", "ScriptedLLMServer"]
