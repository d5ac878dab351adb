/* Integration wizard: small progressive enhancements over server-rendered forms and htmx.
   - Connect: show the fields of the chosen Jira type.
   - Modals (<dialog>): open after htmx loads them, Escape/Cancel close, focus returns to the opener.
   - Rows: drag and drop by the handle (the up/down buttons do the same from the keyboard).
   - Keep focus on the control that was used when htmx re-renders a part. */
(function () {
  "use strict";

  function syncDeployment(root) {
    root.querySelectorAll("[data-deployment-form]").forEach(function (form) {
      var checked = form.querySelector("input[name=deployment]:checked");
      var value = checked ? checked.value : "cloud";
      form.querySelectorAll("[data-deployment]").forEach(function (part) {
        part.hidden = part.getAttribute("data-deployment") !== value;
      });
    });
  }

  function syncScope(root) {
    var template = root.querySelector("[data-show-when-workspace]");
    if (!template) return;
    var checked = root.querySelector("input[name=scope]:checked");
    template.hidden = !!checked && checked.value === "account";
  }

  document.addEventListener("change", function (event) {
    if (event.target.name === "deployment") syncDeployment(document);
    if (event.target.name === "scope") syncScope(document);
  });

  // --- modals --------------------------------------------------------------------------------
  var openerSelector = null;

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-modal-opener]");
    if (opener) openerSelector = '[hx-get="' + opener.getAttribute("hx-get") + '"]';
    var closer = event.target.closest("[data-modal-close]");
    if (closer) {
      var dialog = closer.closest("dialog");
      if (dialog) dialog.close();
    }
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var input = document.querySelector(copy.getAttribute("data-copy"));
      if (input) {
        input.select();
        if (navigator.clipboard) navigator.clipboard.writeText(input.value).catch(function () {});
        copy.textContent = "Copied";
      }
    }
  });

  function returnFocus() {
    if (!openerSelector) return;
    var opener = document.querySelector(openerSelector);
    if (opener) opener.focus();
  }

  function openDialogs(root) {
    root.querySelectorAll("dialog.modal:not([open])").forEach(function (dialog) {
      dialog.addEventListener("close", function () {
        dialog.remove();
        returnFocus();
      });
      dialog.showModal();
      var first = dialog.querySelector("select, input:not([type=hidden]), button:not([disabled])");
      if (first) first.focus();
    });
  }

  document.body.addEventListener("links-saved", function () {
    document.querySelectorAll("dialog.modal[open]").forEach(function (d) { d.close(); });
  });

  // --- focus kept across htmx swaps ------------------------------------------------------------
  var focusedId = null;
  document.body.addEventListener("htmx:beforeRequest", function () {
    var active = document.activeElement;
    focusedId = active && active.id ? active.id : null;
  });
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.elt || document;
    syncDeployment(document);
    openDialogs(document);
    if (document.querySelector("dialog.modal[open]") && !target.closest("dialog")) return;
    if (focusedId) {
      var again = document.getElementById(focusedId);
      if (again && !again.disabled && again !== document.activeElement) {
        again.focus();
        return;
      }
      if (again && again.disabled) {
        // A row moved to the top or bottom: its other arrow is the next useful control.
        var sibling = /^up-/.test(focusedId)
          ? focusedId.replace(/^up-/, "down-")
          : focusedId.replace(/^down-/, "up-");
        var other = sibling !== focusedId ? document.getElementById(sibling) : null;
        if (other && !other.disabled) other.focus();
      }
    }
  });

  // --- drag and drop of mapping rows -------------------------------------------------------------
  var dragged = null;
  document.addEventListener("mousedown", function (event) {
    var handle = event.target.closest(".drag-handle");
    if (handle) handle.closest(".map-row").setAttribute("draggable", "true");
  });
  document.addEventListener("dragstart", function (event) {
    var row = event.target.closest && event.target.closest(".map-row");
    if (!row) return;
    dragged = row;
    row.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", row.getAttribute("data-id"));
  });
  document.addEventListener("dragover", function (event) {
    if (!dragged) return;
    var over = event.target.closest && event.target.closest(".map-row");
    if (!over || over === dragged || over.parentNode !== dragged.parentNode) return;
    event.preventDefault();
    var box = over.getBoundingClientRect();
    var after = event.clientY > box.top + box.height / 2;
    over.parentNode.insertBefore(dragged, after ? over.nextSibling : over);
  });
  document.addEventListener("drop", function (event) {
    if (dragged) event.preventDefault();
  });
  document.addEventListener("dragend", function () {
    if (!dragged) return;
    var row = dragged;
    dragged = null;
    row.classList.remove("is-dragging");
    row.removeAttribute("draggable");
    var list = row.parentNode;
    var container = document.getElementById("mappings");
    var ids = Array.prototype.map.call(list.querySelectorAll(".map-row"), function (r) {
      return r.getAttribute("data-id");
    });
    if (window.htmx && container) {
      window.htmx.ajax("POST", container.getAttribute("data-reorder-url"), {
        source: container,
        target: "#mappings",
        swap: "outerHTML",
        values: { ids: ids.join(",") },
      });
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    syncDeployment(document);
    syncScope(document);
  });
})();
