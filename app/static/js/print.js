// "Print" buttons (<button data-print hidden>): the CSP (script-src 'self') refuses inline
// onclick handlers, so the button is wired here, and only shown when this script runs.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
