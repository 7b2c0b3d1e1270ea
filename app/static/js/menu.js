// The top menu's groups (<details>, app/templates/_header.html) work without this file;
// with it, one group is open at a time, and Escape or a click elsewhere closes it
// (Escape gives the focus back to the group's summary).
(function () {
  "use strict";
  function groups() {
    return document.querySelectorAll("nav.main-nav details.menu-group");
  }
  document.addEventListener("toggle", function (event) {
    var opened = event.target;
    if (!opened.matches || !opened.matches("nav.main-nav details.menu-group") || !opened.open) return;
    groups().forEach(function (d) { if (d !== opened) d.open = false; });
  }, true);
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    groups().forEach(function (d) {
      if (d.open) {
        d.open = false;
        if (d.contains(document.activeElement)) d.querySelector("summary").focus();
      }
    });
  });
  document.addEventListener("click", function (event) {
    groups().forEach(function (d) {
      if (d.open && !d.contains(event.target)) d.open = false;
    });
  });
})();
