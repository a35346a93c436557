"""The REST edge: routes, endpoint views, serializers, API-key auth, throttling, pagination,
OpenAPI and the one exception handler. Views are thin: they call services and selectors."""
