package io.understudy.sim;

/** How one API frames the pieces of a streamed answer. Each method returns whole SSE events. */
interface StreamFormat {
    String start();

    String openText();

    String token(String token);

    String toolCall(String name, String arguments);

    String malformed();

    String finish();

    String done();
}
