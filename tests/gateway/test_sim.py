"""The prompt-caching simulator: reads, writes, minimums, TTLs, lookback and usage."""

from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import BadRequestError
from gateway.sim import MemoryStore, SimClient
from gateway.tokens import estimate_tokens
from gateway.types import CacheControl, ChatRequest, Message, Part, Tool

SONNET = "sim/claude-sonnet-4-5"  # minimum 1,024 tokens, 4 checkpoints, 5m and 1h
NOVA = "sim/nova-pro"  # minimum 1,024, no tool checkpoints, 5m only, 20K cap
FIVE = CacheControl()
HOUR = CacheControl("1h")

INSTRUCTIONS = "You are a careful analyst. Answer from the document only."
DOCUMENT = "Q3 revenue was 4.2M EUR, up 12% on Q2; churn fell to 2.1%. " * 80  # ~1,200 tokens
APPENDIX = "Appendix: the board approved the hiring plan for Q4 and Q1. " * 80
QUESTION = "What was the revenue?"


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def text(value: str, marker: CacheControl | None = None) -> Part:
    return Part("text", text=value, cache_control=marker)


def ask(
    *system: Part,
    user: tuple[Part, ...] | str = QUESTION,
    model: str = SONNET,
    tools: tuple[Tool, ...] = (),
    max_tokens: int = 256,
) -> ChatRequest:
    """A request with ``system`` parts and one user turn."""
    messages = (Message("system", system),) if system else ()
    messages += (Message("user", user),)
    return ChatRequest(model, messages, tools, {"max_tokens": max_tokens})


def tokens(*texts: str) -> int:
    return sum(estimate_tokens(value) for value in texts)


def make_client(clock: FakeClock | None = None, store: MemoryStore | None = None) -> SimClient:
    clock = clock or FakeClock()
    return SimClient(store or MemoryStore(clock), clock=clock)


def send(client: SimClient, request: ChatRequest):
    return asyncio.run(client.send(request)).usage


def cached_document(marker: CacheControl = FIVE, user: tuple[Part, ...] | str = QUESTION):
    return ask(text(INSTRUCTIONS), text(DOCUMENT, marker), user=user)


def test_first_call_writes_the_prefix_and_second_call_reads_it():
    client = make_client()

    first = send(client, cached_document())
    second = send(client, cached_document())

    prefix = tokens(INSTRUCTIONS, DOCUMENT)
    assert (first.cache_write_5m_tokens, first.cache_read_tokens) == (prefix, 0)
    assert (second.cache_write_tokens, second.cache_read_tokens) == (0, prefix)
    assert first.input_tokens == second.input_tokens == tokens(QUESTION)


def test_raw_usage_has_the_anthropic_fields():
    usage = send(make_client(), ask(text(DOCUMENT, HOUR), text(APPENDIX, FIVE)))

    assert usage.raw == {
        "input_tokens": tokens(QUESTION),
        "cache_creation_input_tokens": tokens(DOCUMENT, APPENDIX),
        "cache_read_input_tokens": 0,
        "cache_creation": {
            "ephemeral_5m_input_tokens": tokens(APPENDIX),
            "ephemeral_1h_input_tokens": tokens(DOCUMENT),
        },
        "output_tokens": usage.output_tokens,
    }


def test_changing_only_the_suffix_still_reads():
    client = make_client()
    send(client, cached_document(user="What was the revenue?"))

    usage = send(client, cached_document(user="And how did churn move over the quarter?"))

    assert usage.cache_read_tokens == tokens(INSTRUCTIONS, DOCUMENT)
    assert usage.cache_write_tokens == 0
    assert usage.input_tokens == tokens("And how did churn move over the quarter?")


def test_changing_a_block_before_a_breakpoint_misses_it_but_reads_an_earlier_one():
    client = make_client()
    send(client, cached_document(user=(text(APPENDIX, FIVE), text(QUESTION))))

    changed = APPENDIX.replace("Q4", "Q2")
    usage = send(client, cached_document(user=(text(changed, FIVE), text(QUESTION))))

    assert usage.cache_read_tokens == tokens(INSTRUCTIONS, DOCUMENT)
    assert usage.cache_write_5m_tokens == tokens(changed)
    assert usage.input_tokens == tokens(QUESTION)


def test_changing_the_first_block_misses_every_breakpoint():
    client = make_client()
    send(client, cached_document(user=(text(APPENDIX, FIVE), text(QUESTION))))

    request = ask(text("Be brief."), text(DOCUMENT, FIVE), user=(text(APPENDIX, FIVE),))
    usage = send(client, request)

    assert usage.cache_read_tokens == 0
    assert usage.cache_write_tokens == tokens("Be brief.", DOCUMENT, APPENDIX)


def test_moving_a_marker_later_still_reads_the_content_cached_before():
    client = make_client()
    send(client, cached_document())

    usage = send(client, ask(text(INSTRUCTIONS), text(DOCUMENT), user=((text(QUESTION, FIVE),))))

    assert usage.cache_read_tokens == tokens(INSTRUCTIONS, DOCUMENT)
    assert usage.cache_write_5m_tokens == tokens(QUESTION)
    assert usage.input_tokens == 0


def test_changing_a_tool_misses_the_system_breakpoint_after_it():
    def with_tool(description: str) -> ChatRequest:
        tool = Tool("search", description, {"type": "object", "properties": {}})
        return ask(text(DOCUMENT, FIVE), tools=(tool,))

    client = make_client()
    send(client, with_tool("Search the knowledge base"))

    usage = send(client, with_tool("Search the wiki"))

    assert usage.cache_read_tokens == 0
    assert usage.cache_write_tokens == usage.prompt_tokens - tokens(QUESTION)


def test_a_marked_string_message_is_the_same_content_as_the_unmarked_string():
    client = make_client()
    send(client, ChatRequest(SONNET, (Message("user", DOCUMENT, FIVE),)))

    later = (Message("user", DOCUMENT), Message("assistant", "Noted."))
    usage = send(client, ChatRequest(SONNET, (*later, Message("user", QUESTION, FIVE))))

    assert usage.cache_read_tokens == tokens(DOCUMENT)
    assert usage.cache_write_5m_tokens == tokens("Noted.", QUESTION)


def test_an_image_counts_1500_tokens():
    image = Part("image_url", data={"url": "https://example.com/chart.png"})

    usage = send(make_client(), ask(user=(image, text(QUESTION))))

    assert usage.input_tokens == 1500 + tokens(QUESTION)


def test_prefix_below_the_minimum_is_neither_written_nor_read():
    client = make_client()
    request = ask(text(INSTRUCTIONS, FIVE))

    first = send(client, request)
    second = send(client, request)

    for usage in (first, second):
        assert (usage.cache_read_tokens, usage.cache_write_tokens) == (0, 0)
        assert usage.input_tokens == tokens(INSTRUCTIONS, QUESTION)


def test_minimum_counts_the_whole_prefix_not_the_marked_block():
    usage = send(make_client(), ask(text(DOCUMENT), text(INSTRUCTIONS, FIVE)))

    assert usage.cache_write_5m_tokens == tokens(DOCUMENT, INSTRUCTIONS)


@pytest.mark.parametrize(("waited", "hit"), [(299, True), (300, False)])
def test_five_minute_entry_is_alive_at_4_59_and_gone_at_5_00(waited, hit):
    clock = FakeClock()
    client = make_client(clock)
    send(client, cached_document())

    clock.advance(waited)
    usage = send(client, cached_document())

    assert (usage.cache_read_tokens > 0) is hit
    assert (usage.cache_write_tokens > 0) is not hit


@pytest.mark.parametrize(("waited", "hit"), [(59 * 60, True), (3600, False)])
def test_one_hour_entry_survives_59_minutes_and_not_60(waited, hit):
    clock = FakeClock()
    client = make_client(clock)
    send(client, cached_document(HOUR))

    clock.advance(waited)
    usage = send(client, cached_document(HOUR))

    assert (usage.cache_read_tokens > 0) is hit
    assert (usage.cache_write_1h_tokens > 0) is not hit


def test_hit_refreshes_the_lifetime():
    clock = FakeClock()
    client = make_client(clock)
    send(client, cached_document())

    clock.advance(240)
    send(client, cached_document())
    clock.advance(240)  # eight minutes after the write, four after the hit
    usage = send(client, cached_document())

    assert usage.cache_read_tokens == tokens(INSTRUCTIONS, DOCUMENT)


def turns(count: int, *, marked: tuple[int, ...] = ()) -> tuple[Part, ...]:
    """``count`` small parts; the last one and those in ``marked`` carry a marker."""
    return tuple(
        text(f"Note {i}.", FIVE if i == count - 1 or i in marked else None) for i in range(count)
    )


@pytest.mark.parametrize(("added", "hit"), [(19, True), (20, False)])
def test_lookback_finds_an_entry_at_most_20_blocks_back(added, hit):
    # Block 0 is the cached document; the only breakpoint is ``added`` blocks after it,
    # so its 20-block window (itself included) reaches block 0 only when added <= 19.
    client = make_client()
    send(client, ask(text(DOCUMENT, FIVE)))

    usage = send(client, ask(text(DOCUMENT), user=turns(added)))

    assert usage.cache_read_tokens == (tokens(DOCUMENT) if hit else 0)
    assert usage.prompt_tokens == tokens(DOCUMENT) + tokens(*(f"Note {i}." for i in range(added)))


def test_an_extra_breakpoint_brings_a_far_entry_back_into_the_window():
    client = make_client()
    send(client, ask(text(DOCUMENT, FIVE)))

    usage = send(client, ask(text(DOCUMENT), user=turns(30, marked=(10,))))

    assert usage.cache_read_tokens == tokens(DOCUMENT)


def test_five_breakpoints_are_rejected_like_the_api():
    parts = tuple(text(f"Part {i}.", FIVE) for i in range(5))

    with pytest.raises(BadRequestError) as caught:
        send(make_client(), ask(*parts))

    assert caught.value.status == 400
    assert caught.value.message == (
        "A maximum of 4 blocks with cache_control may be provided. Found 5."
    )


def test_one_hour_and_five_minute_writes_are_split_by_segment():
    client = make_client()
    user = (text(APPENDIX, FIVE), text(QUESTION))
    first = send(client, ask(text(INSTRUCTIONS), text(DOCUMENT, HOUR), user=user))

    changed = (text(APPENDIX + " Revised.", FIVE), text(QUESTION))
    second = send(client, ask(text(INSTRUCTIONS), text(DOCUMENT, HOUR), user=changed))

    assert first.cache_write_1h_tokens == tokens(INSTRUCTIONS, DOCUMENT)
    assert first.cache_write_5m_tokens == tokens(APPENDIX)
    assert second.cache_read_tokens == tokens(INSTRUCTIONS, DOCUMENT)
    assert second.cache_write_1h_tokens == 0
    assert second.cache_write_5m_tokens == tokens(APPENDIX + " Revised.")


def test_a_below_minimum_one_hour_breakpoint_writes_nothing_at_one_hour():
    # The 1h breakpoint closes a 15-token prefix: no entry, so its tokens belong to the
    # segment of the next breakpoint that is written.
    usage = send(make_client(), ask(text(INSTRUCTIONS, HOUR), text(DOCUMENT, FIVE)))

    assert usage.cache_write_1h_tokens == 0
    assert usage.cache_write_5m_tokens == tokens(INSTRUCTIONS, DOCUMENT)


def test_a_one_hour_breakpoint_after_a_five_minute_one_is_rejected():
    with pytest.raises(BadRequestError):
        send(make_client(), ask(text(DOCUMENT, FIVE), text(APPENDIX, HOUR)))


POOL = (INSTRUCTIONS, DOCUMENT, APPENDIX, QUESTION, "Be brief.", "Cite the page.", "Ünïcode ✓")


@st.composite
def requests(draw: st.DrawFn) -> ChatRequest:
    """A request from a small pool of texts, with up to 4 valid markers."""
    count = draw(st.integers(1, 8))
    chosen = draw(st.lists(st.sampled_from(POOL), min_size=count, max_size=count))
    marked = sorted(draw(st.sets(st.integers(0, count - 1), max_size=4)))
    hours = draw(st.integers(0, len(marked)))  # 1h markers first, as the API requires
    markers = {index: HOUR if n < hours else FIVE for n, index in enumerate(marked)}
    parts = [text(value, markers.get(i)) for i, value in enumerate(chosen)]
    split = draw(st.integers(0, count - 1))
    messages = (Message("system", tuple(parts[:split])),) if split else ()
    return ChatRequest(SONNET, (*messages, Message("user", tuple(parts[split:]))))


def total_tokens(request: ChatRequest) -> int:
    return sum(
        estimate_tokens(part.text or "")
        for message in request.messages
        for part in message.content  # type: ignore[union-attr]
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(requests(), st.sampled_from([0, 60, 299, 300, 3600])), max_size=8))
def test_input_plus_read_plus_write_is_always_the_whole_prompt(calls):
    clock = FakeClock()
    client = make_client(clock)
    for request, wait in calls:
        clock.advance(wait)
        usage = send(client, request)

        counts = (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens)
        assert min(counts) >= 0
        assert sum(counts) == total_tokens(request)
        assert usage.raw["cache_creation_input_tokens"] == usage.cache_write_tokens


def test_same_request_gets_the_same_answer():
    first = asyncio.run(make_client().send(cached_document()))
    again = asyncio.run(make_client().send(cached_document()))
    other = asyncio.run(make_client().send(cached_document(user="How many staff?")))

    assert first.text == again.text != other.text
    assert first.text.startswith(f"Simulated answer ({SONNET}, prompt ")
    assert first.text.endswith(QUESTION)
    assert (first.stop_reason, first.model) == ("end_turn", "claude-sonnet-4-5")
    assert first.usage.output_tokens == estimate_tokens(first.text)
    assert first.request_id.startswith("sim_")


def test_small_max_tokens_truncates_the_answer():
    result = asyncio.run(make_client().send(ask(user=QUESTION, max_tokens=5)))

    assert result.stop_reason == "max_tokens"
    assert result.usage.output_tokens == estimate_tokens(result.text) <= 5
    assert result.text and len(result.text) < 40


def test_max_tokens_zero_prewarms_the_cache():
    client = make_client()
    warm = asyncio.run(client.send(ask(text(DOCUMENT, FIVE), max_tokens=0)))
    usage = send(client, ask(text(DOCUMENT, FIVE)))

    assert (warm.text, warm.stop_reason, warm.usage.output_tokens) == ("", "max_tokens", 0)
    assert warm.usage.cache_write_5m_tokens == tokens(DOCUMENT)
    assert usage.cache_read_tokens == tokens(DOCUMENT)


def test_two_clients_sharing_a_store_share_the_cache():
    clock = FakeClock()
    store = MemoryStore(clock)
    send(make_client(clock, store), cached_document())

    usage = send(make_client(clock, store), cached_document())

    assert usage.cache_read_tokens == tokens(INSTRUCTIONS, DOCUMENT)


def test_parallel_first_requests_all_write():
    clock = FakeClock()
    client = SimClient(MemoryStore(clock), clock=clock, latency=0.01)

    async def both():
        return await asyncio.gather(client.send(cached_document()), client.send(cached_document()))

    results = asyncio.run(both())

    assert [r.usage.cache_write_5m_tokens for r in results] == [tokens(INSTRUCTIONS, DOCUMENT)] * 2


def test_stream_starts_then_yields_deltas_then_one_done_with_the_send_usage():
    async def collect():
        return [event async for event in make_client().stream(cached_document())]

    events = asyncio.run(collect())
    sent = asyncio.run(make_client().send(cached_document()))

    assert [e.type for e in events[:-1]] == ["start"] + ["delta"] * (len(events) - 2)
    assert len(events) > 2 and events[-1].type == "done"
    assert "".join(e.text for e in events[:-1]) == events[-1].result.text == sent.text
    assert events[-1].result.usage == sent.usage


def test_nova_sim_ignores_tool_breakpoints():
    tool = Tool("search", DOCUMENT, {"type": "object", "properties": {}}, FIVE)
    client = make_client()

    with_tool = send(client, ask(tools=(tool,), model=NOVA))
    with_system = send(client, ask(text(APPENDIX, FIVE), tools=(tool,), model=NOVA))

    assert (with_tool.cache_read_tokens, with_tool.cache_write_tokens) == (0, 0)
    assert with_system.cache_read_tokens == 0
    assert with_system.cache_write_5m_tokens == with_system.prompt_tokens - tokens(QUESTION)


def test_nova_sim_rejects_a_one_hour_ttl():
    with pytest.raises(BadRequestError):
        send(make_client(), ask(text(DOCUMENT, HOUR), model=NOVA))


def test_memory_store_expires_entries_by_its_clock():
    clock = FakeClock()
    store = MemoryStore(clock)
    store.set("k", {"tokens": 1}, 10)

    clock.advance(9.9)
    alive = store.get("k")
    clock.advance(0.1)

    assert alive == {"tokens": 1}
    assert store.get("k") is None


def test_from_config_uses_the_configured_store_and_clock():
    clock = FakeClock()
    store = MemoryStore(clock)
    send(SimClient.from_config({"SIM_STORE": store, "SIM_CLOCK": clock}), cached_document())

    usage = send(SimClient(store, clock=clock), cached_document())

    assert usage.cache_read_tokens == tokens(INSTRUCTIONS, DOCUMENT)
    assert SimClient.from_config({}).name == "sim"


class NetworkStore(MemoryStore):
    """A store that says it makes network calls, and notes the threads that use it."""

    blocking = True

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.threads: set[int] = set()

    def get(self, key: str):
        self.threads.add(threading.get_ident())
        return super().get(key)

    def set(self, key: str, value, timeout: float) -> None:
        self.threads.add(threading.get_ident())
        super().set(key, value, timeout)


def test_a_blocking_store_is_used_from_threads_never_the_event_loop():
    clock = FakeClock()
    store = NetworkStore(clock)
    client = SimClient(store, clock=clock)

    async def twice() -> tuple[int, object]:
        await client.send(cached_document())
        return threading.get_ident(), (await client.send(cached_document())).usage

    loop_thread, usage = asyncio.run(twice())
    assert usage.cache_read_tokens > 0  # the entries went through the store
    assert store.threads and loop_thread not in store.threads


def test_a_memory_store_is_used_in_place():
    clock = FakeClock()
    store = MemoryStore(clock)
    client = SimClient(store, clock=clock)
    asyncio.run(client.send(cached_document()))
    assert send(client, cached_document()).cache_read_tokens > 0


GPT = "sim/gpt-5.6-terra"  # borrows openai/gpt-5.6-terra: explicit breakpoints, 30m


def test_openai_explicit_mode_writes_at_each_breakpoint_then_reads_in_openai_usage():
    client = make_client()
    request = ask(text(INSTRUCTIONS), text(DOCUMENT, FIVE), text(APPENDIX, FIVE), model=GPT)

    first = send(client, request)
    second = send(client, request)

    prefix = tokens(INSTRUCTIONS, DOCUMENT, APPENDIX)
    assert (first.cache_write_5m_tokens, first.cache_write_1h_tokens) == (prefix, 0)
    assert first.cache_read_tokens == 0
    assert second.cache_read_tokens == prefix and second.cache_write_tokens == 0
    assert second.raw["prompt_tokens"] == second.prompt_tokens
    assert second.raw["prompt_tokens_details"] == {"cached_tokens": prefix, "cache_write_tokens": 0}
    assert "cache_creation_input_tokens" not in second.raw


@pytest.mark.parametrize(("waited", "hit"), [(29 * 60 + 59, True), (30 * 60, False)])
def test_openai_entries_live_30_minutes_whatever_the_markers_ttl(waited, hit):
    clock = FakeClock()
    client = make_client(clock)
    # A 1h marker is no error on OpenAI: its one TTL is 30 minutes.
    send(client, ask(text(DOCUMENT, HOUR), model=GPT))
    clock.advance(waited)

    assert (send(client, ask(text(DOCUMENT, HOUR), model=GPT)).cache_read_tokens > 0) is hit


def test_openai_takes_no_breakpoint_on_tools_or_assistant_turns():
    client = make_client()
    tool = Tool("lookup", DOCUMENT, {"type": "object"}, cache_control=FIVE)
    request = ChatRequest(
        GPT,
        (
            Message("user", "Hi"),
            Message("assistant", DOCUMENT, cache_control=FIVE),
            Message("user", QUESTION),
        ),
        (tool,),
        {"max_tokens": 64},
    )

    first = send(client, request)

    assert first.cache_write_tokens == 0
    assert send(client, request).cache_read_tokens == 0


def test_openai_reads_only_at_the_requests_own_breakpoints():
    client = make_client()
    send(client, ask(text(DOCUMENT, FIVE), model=GPT))
    # The document's entry exists, but this request's only breakpoint is after the appendix.
    moved = send(client, ask(text(DOCUMENT), text(APPENDIX, FIVE), model=GPT))
    # On Anthropic's rules the lookback would find it.
    send(client, ask(text(DOCUMENT, FIVE)))
    anthropic = send(client, ask(text(DOCUMENT), text(APPENDIX, FIVE)))

    assert moved.cache_read_tokens == 0
    assert anthropic.cache_read_tokens == tokens(DOCUMENT)
