/* Fingerprints and hashes shown whole ([data-copy]): a click selects the value and copies it
   to the clipboard where the page may write there; otherwise the selection stays for Ctrl+C.
   The element's title says which happened. */
(function () {
  "use strict";

  function select(element) {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function say(element, text) {
    element.title = text;
    element.dataset.copied = text === "copied" ? "true" : "false";
  }

  document.addEventListener("click", function (event) {
    const element = event.target.closest("[data-copy]");
    if (!element) return;
    select(element);
    if (!navigator.clipboard || !window.isSecureContext) {
      say(element, "selected: press Ctrl+C to copy");
      return;
    }
    navigator.clipboard.writeText(element.dataset.copy).then(
      () => say(element, "copied"),
      () => say(element, "selected: press Ctrl+C to copy")
    );
  });
})();
