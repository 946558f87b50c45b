"""AI Endpoints: the model catalog, chat completions (plain, tool calls, structured, streamed) and embeddings.

``backend`` holds the state and the behaviour (no HTTP), ``responses`` the OpenAI wire format and
the routes, ``schema_example`` and ``vectors`` the generated tool arguments and embedding vectors,
``ratelimit`` the per-model sliding windows of the anonymous and keyed rate limits.
"""
