"""JSON-schema example values: one deterministic value that validates against a schema.

Tool-call arguments and structured outputs must validate on the client side, which is what a real
model is asked for; the chat backend uses this to answer without a model. Pure functions of the
schema (no state, no HTTP), so it is tested on its own.
"""

from __future__ import annotations

import copy
import hashlib
import math
from typing import Any

__all__ = ["SchemaExample", "schema_example"]

_FORMAT_EXAMPLES = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "12:00:00",
    "duration": "PT1H",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "https://example.com/",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uuid": "123e4567-e89b-42d3-a456-426614174000",
}
_SHALLOW_DEPTH = 6
_MAX_DEPTH = 40


class SchemaExample:
    """Builds one deterministic value that validates against a JSON schema (pydantic's dialect).

    Tool-call arguments and structured outputs must validate on the client side, which is the
    behaviour a real model is asked for; this reproduces it without a model.
    """

    def __init__(self, root: Any, seed: str | None = None) -> None:
        self.root = root
        # A seed (the prompt) tags free-text strings and shifts enum, boolean and number choices, so
        # two prompts get two different (still valid) values; without one the value is fixed.
        tag = hashlib.sha256(seed.encode("utf-8")).hexdigest()[:8] if seed is not None else ""
        self._tag = tag
        self._salt = int(tag, 16) if tag else 0
        self._text = f"example-{tag}" if tag else "example"

    def resolve(self, schema: Any) -> Any:
        seen = 0
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < _MAX_DEPTH:
            ref: str = schema["$ref"]
            target: Any = self.root
            if ref.startswith("#"):
                for token in ref[1:].split("/"):
                    if not token:
                        continue
                    key = token.replace("~1", "/").replace("~0", "~")
                    if isinstance(target, dict) and key in target:
                        target = target[key]
                    elif isinstance(target, list) and key.isdigit() and int(key) < len(target):
                        target = target[int(key)]
                    else:
                        target = {}
                        break
            else:
                target = {}
            siblings = {k: v for k, v in schema.items() if k not in ("$ref", "default", "description")}
            schema = {**target, **siblings} if isinstance(target, dict) and siblings else target
            seen += 1
        return schema

    def _is_null(self, schema: Any) -> bool:
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return False
        return schema.get("type") == "null" or ("const" in schema and schema["const"] is None)

    def _merge(self, schemas: list[Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for item in schemas:
            item = self.resolve(item)
            if not isinstance(item, dict):
                continue
            if "allOf" in item:
                item = {**self._merge(item["allOf"]), **{k: v for k, v in item.items() if k != "allOf"}}
            for key, value in item.items():
                if key == "properties" and isinstance(value, dict):
                    merged.setdefault("properties", {}).update(value)
                elif key == "required" and isinstance(value, list):
                    merged["required"] = [*merged.get("required", []), *value]
                else:
                    merged.setdefault(key, value)
        return merged

    def value(self, schema: Any, depth: int = 0, variant: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            return None
        schema = self.resolve(schema)
        if schema is True or schema is None:
            return self._text
        if schema is False or not isinstance(schema, dict):
            return None
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return copy.deepcopy(enum[(variant + self._salt) % len(enum)])
        if isinstance(schema.get("allOf"), list):
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            return self.value(self._merge([*schema["allOf"], rest]), depth + 1, variant)
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                usable = [o for o in options if not self._is_null(o)]
                if not usable or (depth >= _SHALLOW_DEPTH and len(usable) < len(options)):
                    return None
                return self.value(usable[0], depth + 1, variant)
        kind = schema.get("type")
        if isinstance(kind, list):
            concrete = [k for k in kind if k != "null"]
            if not concrete or (depth >= _SHALLOW_DEPTH and "null" in kind):
                return None
            kind = concrete[0]
        if kind is None:
            if any(k in schema for k in ("properties", "additionalProperties", "required")):
                kind = "object"
            elif "items" in schema or "prefixItems" in schema:
                kind = "array"
            elif "default" in schema:
                return copy.deepcopy(schema["default"])
            else:
                return self._text if depth else {}
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, depth)
        if kind == "string":
            return self._string(schema, variant)
        shifted = variant + self._salt % 10
        if kind == "integer":
            return int(self._number(schema, shifted, integer=True))
        if kind == "number":
            return float(self._number(schema, shifted, integer=False))
        if kind == "boolean":
            return (variant + self._salt) % 2 == 0
        if kind == "null":
            return None
        return self._text

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = [r for r in schema.get("required") or [] if isinstance(r, str)]
        out: dict[str, Any] = {}
        for name, sub in properties.items():
            if depth >= _SHALLOW_DEPTH and name not in required:
                continue
            out[name] = self.value(sub, depth + 1)
        extra = schema.get("additionalProperties")
        for name in required:
            if name not in out:
                out[name] = self.value(extra if isinstance(extra, dict) else True, depth + 1)
        minimum = schema.get("minProperties")
        index = 0
        while isinstance(minimum, int) and len(out) < minimum and extra is not False:
            index += 1
            out.setdefault(f"key{index}", self.value(extra if isinstance(extra, dict) else True, depth + 1))
        return out

    def _array(self, schema: dict[str, Any], depth: int) -> list[Any]:
        raw_min, raw_max = schema.get("minItems"), schema.get("maxItems")
        min_items = raw_min if isinstance(raw_min, int) else 0
        max_items = raw_max if isinstance(raw_max, int) else None
        raw_prefix = schema.get("prefixItems")
        prefix: list[Any] = raw_prefix if isinstance(raw_prefix, list) else []
        items = schema.get("items", True)
        if isinstance(items, list):  # draft-07 tuple form
            prefix, items = items, schema.get("additionalItems", True)
        floor = min_items if depth >= _SHALLOW_DEPTH else max(1, min_items)
        count = max(floor, len(prefix))
        if items is False:
            count = min(count, len(prefix))
        if max_items is not None:
            count = min(count, max_items)
        return [self.value(prefix[i] if i < len(prefix) else items, depth + 1, variant=i) for i in range(count)]

    def _string(self, schema: dict[str, Any], variant: int) -> str:
        fmt = schema.get("format")
        text = _FORMAT_EXAMPLES.get(fmt, "example") if isinstance(fmt, str) else "example"
        if text == "example":
            text = f"example{variant or ''}" + (f"-{self._tag}" if self._tag else "")
        min_length = schema.get("minLength")
        if isinstance(min_length, int) and len(text) < min_length:
            text += "x" * (min_length - len(text))
        max_length = schema.get("maxLength")
        if isinstance(max_length, int) and len(text) > max_length:
            text = text[:max_length]
        return text

    @staticmethod
    def _number(schema: dict[str, Any], variant: int, *, integer: bool) -> float:
        def num(key: str) -> float | None:
            value = schema.get(key)
            return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

        low, high = num("minimum"), num("maximum")
        low_open, high_open = num("exclusiveMinimum"), num("exclusiveMaximum")
        # Draft-04 spelling: exclusiveMinimum/Maximum are booleans qualifying minimum/maximum.
        if schema.get("exclusiveMinimum") is True and low is not None:
            low, low_open = None, low
        if schema.get("exclusiveMaximum") is True and high is not None:
            high, high_open = None, high
        if integer:
            if low_open is not None:
                low = max(low if low is not None else -math.inf, math.floor(low_open) + 1)
            if high_open is not None:
                high = min(high if high is not None else math.inf, math.ceil(high_open) - 1)
            low = math.ceil(low) if low is not None else None
            high = math.floor(high) if high is not None else None
        else:
            if low_open is not None:
                bound = high if high is not None else high_open
                candidate = low_open + 1 if bound is None or low_open + 1 < bound else (low_open + bound) / 2
                low = max(low if low is not None else -math.inf, candidate)
            if high_open is not None:
                candidate = high_open - 1 if low is None or high_open - 1 > low else (low + high_open) / 2
                high = min(high if high is not None else math.inf, candidate)
        value = 1.0 + variant
        if low is not None and value < low:
            value = low + variant
        if high is not None and value > high:
            value = high
            if low is not None and value < low:
                value = low
        multiple = num("multipleOf")
        if multiple and multiple > 0:
            value = math.ceil(value / multiple) * multiple
            if high is not None and value > high:
                value = math.floor(high / multiple) * multiple
        return value


def schema_example(schema: Any, seed: str | None = None) -> Any:
    """A deterministic value that validates against ``schema`` (``$ref``s resolve within it).

    With ``seed`` (the prompt), free-text strings carry a tag of it and enum, boolean and number
    choices shift with it: another seed gives another valid value.
    """
    return SchemaExample(schema, seed).value(schema)
