// Behaviour for every page, kept out of the HTML so the Content-Security-Policy can refuse
// inline scripts: <select data-autosubmit> submits its form on change, and
// <input data-select-on-focus> selects its text when focused (e.g. a new API key to copy).
document.addEventListener("change", (event) => {
  const select = event.target.closest("[data-autosubmit]");
  if (select && select.form) select.form.submit();
});
document.addEventListener("focusin", (event) => {
  const input = event.target.closest("[data-select-on-focus]");
  if (input) input.select();
});
document.addEventListener("DOMContentLoaded", () => {
  const input = document.querySelector("[data-select-on-focus][autofocus]");
  if (input) input.select();
});
