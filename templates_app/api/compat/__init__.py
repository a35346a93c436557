"""The SDK-compatible endpoints: an app keeps the official OpenAI or Anthropic SDK and points
its base URL at Cachet (DESIGN §6, README "Keep your SDK")."""
