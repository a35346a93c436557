"""The send runtime: target resolution, the send flow, invocation recording and its writer,
the database threads, provider clients per event loop, and the ASGI lifespan."""
