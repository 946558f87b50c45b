"""DAGs the decorator tests run with dag.test() against the emulator."""

from __future__ import annotations

from enum import Enum

import pendulum
from airflow.sdk import dag, task
from pydantic import BaseModel

MODEL = "Meta-Llama-3_3-70B-Instruct"
START = pendulum.datetime(2024, 1, 1, tz="UTC")


class Sentiment(str, Enum):
    positive = "positive"
    negative = "negative"


class Review(BaseModel):
    title: str
    score: int
    sentiment: Sentiment
    tags: list[str]


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
            "required": ["city"],
        },
    },
}


@dag(dag_id="test_chat_mapping", start_date=START, schedule=None, catchup=False)
def chat_mapping() -> None:
    @task
    def load_documents() -> list[str]:
        return ["doc one", "doc two", "doc three"]

    @task.ovh_chat(model=MODEL, system_prompt="Answer in one sentence.", max_tokens=200)
    def summarize(text: str) -> str:
        return f"Summarize: {text}"

    @task.ovh_chat(model=MODEL)
    def ask(topic: str, style: str) -> list[dict[str, str]]:
        return [{"role": "system", "content": f"Be {style}."}, {"role": "user", "content": f"Tell me about {topic}"}]

    @task.ovh_chat(model=MODEL)
    def varied(topic: str) -> dict[str, object]:
        return {"prompt": f"About {topic}", "model": "Qwen3-32B", "temperature": 0.1}

    @task
    def collect(summaries: list[str]) -> list[str]:
        return list(summaries)

    collect(summarize.expand(text=load_documents()))
    summarize.override(task_id="summarize_literal").expand(text=["alpha", "beta"])
    ask.partial(style="brief").expand(topic=["cats", "dogs"])
    ask.override(task_id="ask_kwargs").expand_kwargs(
        [{"topic": "rain", "style": "poetic"}, {"topic": "sun", "style": "dry"}]
    )
    summarize.override(task_id="summarize_other_model", model="gpt-oss-20b")("one text")
    varied.expand(topic=["x", "y"])


@dag(dag_id="test_chat_features", start_date=START, schedule=None, catchup=False)
def chat_features() -> None:
    @task.ovh_chat(model=MODEL, response_format=Review)
    def review() -> str:
        return "Review the film Metropolis"

    @task.ovh_chat(model=MODEL, tools=[WEATHER_TOOL], tool_choice="required")
    def weather() -> str:
        return "What's the weather like in Paris?"

    @task.ovh_chat(model=MODEL, stream=True, extra_body={"stream_options": {"include_usage": True}})
    def streamed() -> str:
        return "Stream me an answer"

    @task.ovh_chat(model=MODEL)
    def jinja() -> str:
        return "Explain {{ var.value.secret_thing }} and {{ ds }} literally"

    @task.ovh_chat(model=MODEL, full_response=True)
    def full() -> str:
        return "Give me everything"

    @task.ovh_chat(model=MODEL, response_format={"type": "json_object"})
    def as_json() -> str:
        return "Answer in JSON"

    review()
    weather()
    streamed()
    jinja()
    full()
    as_json()


@dag(dag_id="test_chat_bad_returns", start_date=START, schedule=None, catchup=False)
def chat_bad_returns() -> None:
    @task.ovh_chat(model=MODEL)
    def returns_none() -> None:
        return None

    @task.ovh_chat(model=MODEL)
    def returns_int() -> int:
        return 42

    @task.ovh_chat(model=MODEL)
    def returns_empty() -> str:
        return "   "

    @task.ovh_chat(model=MODEL)
    def returns_unknown_key() -> dict[str, str]:
        return {"prompt": "hi", "modle": "typo"}

    returns_none()
    returns_int()
    returns_empty()
    returns_unknown_key()


@dag(dag_id="test_embed_batches", start_date=START, schedule=None, catchup=False)
def embed_batches() -> None:
    @task
    def texts() -> list[str]:
        return [f"text number {i}" for i in range(10)]

    @task.ovh_embed(model="BGE-M3", batch_size=4, max_concurrency=2)
    def embed_many(items: list[str]) -> list[str]:
        return items

    embed_many(texts())


@dag(dag_id="test_embed", start_date=START, schedule=None, catchup=False)
def embed_dag() -> None:
    @task.ovh_embed(model="bge-base-en-v1.5")
    def embed_one() -> str:
        return "just one"

    @task.ovh_embed(model="BGE-M3")
    def embed_none() -> list[str]:
        return []

    @task
    def word(i: int) -> str:
        return f"mapped word {i}"

    @task.ovh_embed(model="BGE-M3", batch_size=2)
    def embed_mapped(items: list[str]) -> list[str]:
        return items

    embed_one()
    embed_none()
    embed_mapped(word.expand(i=[0, 1, 2]))


@dag(dag_id="test_embed_bad", start_date=START, schedule=None, catchup=False)
def embed_bad() -> None:
    @task.ovh_embed(model="BGE-M3")
    def mixed() -> list[object]:
        return ["fine", 3, "", "ok"]

    mixed()


@dag(dag_id="test_training_mapped", start_date=START, schedule=None, catchup=False)
def training_mapped() -> None:
    @task.ovh_training(
        region="gra", flavor="ai1-1-gpu", gpu=1, check_interval=0, env_vars={"TOKEN": "train-secret-123"}
    )
    def train(lr: float) -> dict[str, object]:
        return {"image": "pytorch/pytorch", "name": f"lr-{lr}", "command": ["python", "train.py", f"--lr={lr}"]}

    @task.ovh_training(image="pytorch/pytorch", check_interval=0, deferrable=True)
    def train_deferred(lr: float) -> dict[str, object]:
        return {"name": f"deferred-{lr}", "command": ["python", "train.py", f"--lr={lr}"]}

    train.expand(lr=[0.0001, 0.0003, 0.001])
    train_deferred.expand(lr=[0.1, 0.2])


@dag(dag_id="test_training_bad_returns", start_date=START, schedule=None, catchup=False)
def training_bad_returns() -> None:
    @task.ovh_training(check_interval=0)
    def no_image() -> dict[str, object]:
        return {"command": ["python"]}

    @task.ovh_training(image="x", check_interval=0)
    def unknown_key() -> dict[str, object]:
        return {"imagee": "typo"}

    @task.ovh_training(image="x", check_interval=0)
    def not_a_dict() -> int:
        return 3

    no_image()
    unknown_key()
    not_a_dict()


@dag(dag_id="test_training_all_spec_fields", start_date=START, schedule=None, catchup=False)
def training_all_spec_fields() -> None:
    @task.ovh_training(image="pytorch/pytorch", wait_for_completion=False, ssh_public_keys=["ssh-ed25519 AAAA k"])
    def every_field() -> dict[str, object]:
        return {"job_timeout": 600, "timeout_auto_restart": True, "read_user": "reader", "shutdown": "stop"}

    every_field()


chat_mapping()
chat_features()
chat_bad_returns()
embed_batches()
embed_dag()
embed_bad()
training_mapped()
training_bad_returns()
training_all_spec_fields()
