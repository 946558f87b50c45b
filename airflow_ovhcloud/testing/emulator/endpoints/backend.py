"""AI Endpoints state and behaviour: the model catalog, scripted chat answers, completions, vectors.

No HTTP here: the backend is called with already validated values and returns plain records; the
request and reply shapes (OpenAI's wire format, streaming) live in
:mod:`~airflow_ovhcloud.testing.emulator.endpoints.responses`.

Without a script, a completion is generated from the request: a reply quoting the last user message
(cut at ``stop`` strings and ``max_tokens`` words), a tool call whose arguments validate against the
tool's schema, or a structured output that validates against the requested JSON schema and differs
from prompt to prompt (its values are seeded by the conversation). A request for ``n`` choices gets
``n`` completions: each takes the next scripted answer, else is generated (choice ``i > 0`` differs
from choice 0, as sampled choices do).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from airflow_ovhcloud.testing.emulator.endpoints.schema_example import schema_example
from airflow_ovhcloud.testing.emulator.endpoints.vectors import embedding_base64, embedding_json

CHAT_MODELS = (
    "Meta-Llama-3_3-70B-Instruct",
    "gpt-oss-120b",
    "gpt-oss-20b",
    "Mistral-Small-3.2-24B-Instruct-2506",
    "Qwen2.5-VL-72B-Instruct",
    "Mixtral-8x7B-Instruct-v0.1",
    "Qwen3-32B",
    "Llama-3.1-8B-Instruct",
    "Mistral-Nemo-Instruct-2407",
    "DeepSeek-R1-Distill-Llama-70B",
)
EMBEDDING_MODELS = (
    ("BGE-M3", 1024),
    ("bge-m3", 1024),
    ("bge-multilingual-gemma2", 3584),
    ("bge-base-en-v1.5", 768),
    ("Qwen3-Embedding-8B", 4096),
)
DEFAULT_DIMENSIONS = 1024


@dataclass(frozen=True)
class Model:
    kind: str  # "chat" | "embedding"
    dimensions: int | None = None


@dataclass(frozen=True)
class ScriptedChat:
    content: str | None
    tool_calls: tuple[tuple[str, str], ...] | None  # (name, JSON arguments)
    finish_reason: str | None
    reasoning: str | None
    usage: dict[str, Any] | None


@dataclass(frozen=True)
class ChatRequest:
    """A validated chat completion request: what the answer is generated from."""

    model: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    tool_choice: Any
    response_format: dict[str, Any] | None
    max_tokens: int | None
    stops: list[str]
    n: int = 1


@dataclass
class Completion:
    content: str | None
    tool_calls: list[dict[str, Any]]
    finish_reason: str
    reasoning: str | None
    usage: dict[str, Any]


def model_entry(kind: str, dimensions: int | None) -> Model:
    """A catalog entry as ``add_model`` describes it; an embedding model without dimensions gets 1024."""
    if kind not in ("chat", "embedding"):
        raise ValueError(f"kind must be 'chat' or 'embedding', not {kind!r}")
    if kind == "chat":
        return Model("chat")
    dimensions = DEFAULT_DIMENSIONS if dimensions is None else dimensions
    if dimensions <= 0:
        raise ValueError("dimensions must be positive")
    return Model("embedding", dimensions)


def scripted_chat(
    content: str | None,
    tool_calls: list[dict[str, Any]] | None,
    finish_reason: str | None,
    reasoning: str | None,
    usage: dict[str, Any] | None,
) -> ScriptedChat:
    """A scripted answer as ``script_chat`` describes it; tool call arguments are kept as JSON text."""
    calls: tuple[tuple[str, str], ...] | None = None
    if tool_calls is not None:
        built = []
        for call in tool_calls:
            name = call.get("name")
            if not isinstance(name, str) or not name:
                raise ValueError("each scripted tool call needs a non-empty 'name'")
            arguments = call.get("arguments", {})
            built.append((name, arguments if isinstance(arguments, str) else json.dumps(arguments)))
        calls = tuple(built)
    return ScriptedChat(content, calls, finish_reason, reasoning, usage)


def words(text: str | None) -> int:
    """The emulator's token count: whitespace-separated words."""
    return len(text.split()) if text else 0


def content_text(content: Any) -> str:
    """Text of a message's content: a string, or the ``text`` parts of a list (images add nothing)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            part["text"]
            for part in content
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
        ]
        return " ".join(texts)
    return ""


def _usage(prompt_tokens: int, completion: Completion) -> dict[str, int]:
    completion_tokens = words(completion.content) + words(completion.reasoning)
    completion_tokens += sum(words(c["function"]["arguments"]) for c in completion.tool_calls)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _tool_call(name: str, arguments: str, index: int, seed: str) -> dict[str, Any]:
    digest = hashlib.sha256("\0".join((seed, str(index), name, arguments)).encode("utf-8")).hexdigest()
    return {"id": "call_" + digest[:24], "type": "function", "function": {"name": name, "arguments": arguments}}


def _conversation_seed(model: str, messages: list[Any]) -> str:
    """What makes tool call ids stable: the same model and conversation give the same ids."""
    return model + json.dumps(messages, sort_keys=True, default=str)


class EndpointsBackend:
    """The catalog and the queue of scripted chat answers; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[str, Model] = {}
        self._scripted: deque[ScriptedChat] = deque()
        self.reset()

    def reset(self) -> None:
        """The built-in catalog, no scripted answer."""
        models = {name: Model("chat") for name in CHAT_MODELS}
        models.update({name: Model("embedding", dims) for name, dims in EMBEDDING_MODELS})
        with self._lock:
            self._models = models
            self._scripted.clear()

    def add_model(self, model_id: str, model: Model) -> None:
        with self._lock:
            self._models[model_id] = model

    def script_chat(self, scripted: ScriptedChat) -> None:
        with self._lock:
            self._scripted.append(scripted)

    def model_ids(self) -> list[str]:
        with self._lock:
            return list(self._models)

    def model(self, model_id: str) -> Model | None:
        with self._lock:
            return self._models.get(model_id)

    def complete(self, request: ChatRequest) -> Completion:
        """The next scripted answer (FIFO), else one generated from the request; usage included."""
        return self.complete_choices(request)[0]

    def complete_choices(self, request: ChatRequest) -> list[Completion]:
        """``request.n`` completions, each the next scripted answer (FIFO) or generated; usage per choice."""
        count = max(1, request.n)
        with self._lock:
            scripts = [self._scripted.popleft() if self._scripted else None for _ in range(count)]
        prompt_tokens = max(1, sum(words(content_text(m.get("content"))) for m in request.messages))
        completions = []
        for choice, scripted in enumerate(scripts):
            if scripted is not None:
                completions.append(self._scripted_completion(scripted, request.model, request.messages, prompt_tokens))
                continue
            completion = self._generate(request, choice)
            completion.usage = _usage(prompt_tokens, completion)
            completions.append(completion)
        return completions

    def vectors(self, model_id: str, texts: list[str], encoding: str = "float") -> list[str]:
        """One unit vector per text in the model's dimensions, each already JSON: an array of floats,
        or with ``encoding="base64"`` a string of little-endian float32s in base64 (OpenAI's form)."""
        found = self.model(model_id)
        dims = (found.dimensions if found else None) or DEFAULT_DIMENSIONS
        if encoding == "base64":
            return [f'"{embedding_base64(model_id, dims, text)}"' for text in texts]
        return [embedding_json(model_id, dims, text) for text in texts]

    @staticmethod
    def _scripted_completion(scripted: ScriptedChat, model: str, messages: list[Any], prompt_tokens: int) -> Completion:
        seed = _conversation_seed(model, messages)
        calls = [_tool_call(n, a, i, seed) for i, (n, a) in enumerate(scripted.tool_calls or ())]
        content = scripted.content
        if content is None and not calls:
            content = ""
        finish = scripted.finish_reason or ("tool_calls" if calls else "stop")
        completion = Completion(content, calls, finish, scripted.reasoning, {})
        completion.usage = dict(scripted.usage) if scripted.usage is not None else _usage(prompt_tokens, completion)
        return completion

    @staticmethod
    def _generate(request: ChatRequest, choice: int = 0) -> Completion:
        """Choice 0 is the documented generated answer; a later choice of the same request differs."""
        model, messages, tools, tool_choice = request.model, request.messages, request.tools, request.tool_choice
        last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
        tool_results = [content_text(m.get("content")) for m in messages[last_user + 1 :] if m.get("role") == "tool"]
        if tools and tool_choice != "none":
            chosen: dict[str, Any] | None = None
            if isinstance(tool_choice, dict):
                wanted = tool_choice["function"]["name"]
                chosen = next(t for t in tools if t["function"]["name"] == wanted)
            elif tool_choice == "required" or not tool_results:
                chosen = tools[0]
            if chosen is not None:
                function = chosen["function"]
                arguments = json.dumps(
                    schema_example(function.get("parameters") or {"type": "object", "properties": {}})
                )
                seed = _conversation_seed(model, messages)  # only when needed: batches answer many plain prompts
                call = _tool_call(function["name"], arguments, 0, f"{seed}\0{choice}" if choice else seed)
                return Completion(None, [call], "tool_calls", None, {})

        if tool_results:
            text = "Based on the tool results: " + "; ".join(tool_results)
        else:
            user_text = content_text(messages[last_user].get("content")) if last_user >= 0 else ""
            text = f"This is a reply from {model} to: {user_text}"
        if choice:
            text = f"Choice {choice + 1}: {text}"

        response_format = request.response_format
        kind = response_format.get("type") if response_format else "text"
        if kind == "json_schema" and response_format is not None:
            schema = response_format["json_schema"].get("schema") or {"type": "object"}
            seed = _conversation_seed(model, messages)
            salt = f"{seed}\0{choice}" if choice else seed
            return Completion(json.dumps(schema_example(schema, seed=salt)), [], "stop", None, {})
        if kind == "json_object":
            return Completion(json.dumps({"answer": text}), [], "stop", None, {})

        finish = "stop"
        positions = [text.find(s) for s in request.stops if s and s in text]
        if positions:
            text = text[: min(positions)]
        split = text.split()
        if request.max_tokens is not None and len(split) > request.max_tokens:
            text = " ".join(split[: request.max_tokens])
            finish = "length"
        return Completion(text, [], finish, None, {})
