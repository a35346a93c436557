/*
 * CodeMirror modes for template text: Jinja ({{ }}, {% %}, {# #}) highlighted by the
 * vendored jinja2 mode, everything else left plain.
 *   "cachet-body": JSON with Jinja inside its strings (the JSON editor).
 *   "cachet-text": plain text with Jinja (the structured editor's text parts).
 */
(function () {
  "use strict";

  /* An overlay that hands Jinja tags to the jinja2 mode and stays out of everything else.
     `closeAtLineEnd`: a JSON string never spans lines, so a tag left open there ends with it. */
  function jinjaOverlay(cmConfig, closeAtLineEnd) {
    const jinja = CodeMirror.getMode(cmConfig, "jinja2");
    return {
      startState: () => ({ inner: null }),
      copyState: (state) => ({ inner: state.inner && CodeMirror.copyState(jinja, state.inner) }),
      token(stream, state) {
        if (closeAtLineEnd && stream.sol()) state.inner = null;
        if (!state.inner) {
          if (stream.match(/^\{[{%#]/, false)) {
            state.inner = CodeMirror.startState(jinja);
          } else {
            stream.next();
            stream.eatWhile(/[^{]/);
            return null;
          }
        }
        const style = jinja.token(stream, state.inner);
        if (!state.inner.intag && !state.inner.incomment) state.inner = null;
        if (style === "tag") return "jinja-delim";
        if (style === "comment") return "jinja-comment";
        return style ? `jinja ${style}` : "jinja";
      },
    };
  }

  CodeMirror.defineMode("cachet-body", (cmConfig) =>
    CodeMirror.overlayMode(
      CodeMirror.getMode(cmConfig, { name: "javascript", json: true }),
      jinjaOverlay(cmConfig, true),
      true
    )
  );

  CodeMirror.defineMode("cachet-text", (cmConfig) =>
    CodeMirror.overlayMode(CodeMirror.getMode(cmConfig, "text/plain"), jinjaOverlay(cmConfig, false))
  );
})();
