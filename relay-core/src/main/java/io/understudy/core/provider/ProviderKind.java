package io.understudy.core.provider;

/** The wire protocol a provider speaks. */
public enum ProviderKind {
    /** OpenAI Chat Completions: OpenAI, Mistral, DeepSeek, Groq, Together, OpenRouter, vLLM, relays. */
    OPENAI,
    /** Anthropic Messages, translated to and from OpenAI's shape. */
    ANTHROPIC;

    public static ProviderKind parse(String text) {
        return switch (text.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "openai", "openai-compatible" -> OPENAI;
            case "anthropic" -> ANTHROPIC;
            default -> throw new IllegalArgumentException("unknown provider kind '" + text + "' (openai or anthropic)");
        };
    }
}
