/* Errors from htmx requests, shown where the action was, the same in production and DEBUG.
   - 400/409/422 answers are the view's own partial with its message next to the field: the
     <meta name="htmx-config"> in base.html tells htmx to swap them like a success.
   - Any other failure (403, 404, 5xx, the server unreachable) is not swapped: a short message
     appears right after the control that was used, and goes when the next request starts. */
(function () {
  "use strict";

  var WORDS = {
    401: "Your session has ended: log in again, then retry.",
    403: "You may not do this here: ask an account owner or admin.",
    404: "This is no longer there: reload the page to see what is.",
    413: "That was too large to send: send less at once.",
    429: "Too many requests just now: wait a moment and try again.",
  };

  function message(status) {
    if (!status) return "The server could not be reached: check your connection and try again.";
    if (WORDS[status]) return WORDS[status];
    if (status >= 500) {
      return "Something went wrong on the server (HTTP " + status + "): try again; if it keeps " +
        "happening, the server log says why.";
    }
    return "That did not work (HTTP " + status + "): reload the page and try again.";
  }

  function anchor(elt) {
    if (!elt || !elt.closest) return null;
    return elt.closest("form") || elt;
  }

  function clear(elt) {
    var place = anchor(elt);
    if (!place) return;
    var next = place.nextElementSibling;
    if (next && next.classList.contains("htmx-error")) next.remove();
  }

  function show(elt, status) {
    var place = anchor(elt);
    if (!place || !place.parentNode) return;
    clear(elt);
    var note = document.createElement("p");
    note.className = "notice notice-bad htmx-error";
    note.setAttribute("role", "alert");
    note.textContent = message(status);
    place.parentNode.insertBefore(note, place.nextSibling);
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    clear(event.detail.elt);
  });
  document.addEventListener("htmx:responseError", function (event) {
    show(event.detail.elt, event.detail.xhr ? event.detail.xhr.status : 0);
  });
  document.addEventListener("htmx:sendError", function (event) {
    show(event.detail.elt, 0);
  });
})();
