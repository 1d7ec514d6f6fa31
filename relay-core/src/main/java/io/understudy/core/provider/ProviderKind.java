package io.understudy.core.provider;

/** The wire protocol a provider speaks. */
public enum ProviderKind {
    /** OpenAI Chat Completions: OpenAI, Mistral, DeepSeek, Groq, Together, OpenRouter, vLLM, relays. */
    OPENAI,
    /** Anthropic Messages. */
    ANTHROPIC,
    /**
     * Both under one OpenAI-style base URL ({@code …/v1/chat/completions} and {@code …/v1/messages}):
     * Understudy relays, LiteLLM. Each request goes to the endpoint of its own dialect, untranslated.
     */
    OPENAI_AND_ANTHROPIC;

    public static ProviderKind parse(String text) {
        return switch (text.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "openai", "openai-compatible" -> OPENAI;
            case "anthropic" -> ANTHROPIC;
            case "openai+anthropic" -> OPENAI_AND_ANTHROPIC;
            default -> throw new IllegalArgumentException("unknown provider kind '" + text
                    + "' (openai, anthropic or openai+anthropic)");
        };
    }

    /** Serves OpenAI's API (chat, embeddings, models and the rest of {@code /v1/}). */
    public boolean speaksOpenAi() {
        return this != ANTHROPIC;
    }
}
