/* Dashboards (看板): places each tile on its grid row, the "full screen" button (the
   Fullscreen API), and the editor's drag reordering of tiles (SortableJS, vendored; only on
   the editor). Charts are drawn by reports.js.

   A tile's column, width and height are CSS classes; its row (data-y) is set here through
   the CSSOM, which the Content-Security-Policy allows (a style attribute in the markup would
   not be). After each htmx swap (filters applied, the grid refreshed) the new tiles are
   placed again. No inline script: the page's policy forbids it. */
(function () {
  "use strict";

  function place(root) {
    if (!root || !root.querySelectorAll) return;
    var tiles = root.querySelectorAll(".dashboard-tile[data-y]");
    for (var i = 0; i < tiles.length; i++) {
      var y = parseInt(tiles[i].getAttribute("data-y"), 10);
      if (!isNaN(y)) tiles[i].style.gridRowStart = String(y + 1);
    }
  }

  function fullscreen(root) {
    var buttons = root.querySelectorAll ? root.querySelectorAll("[data-dashboard-fullscreen]") : [];
    for (var i = 0; i < buttons.length; i++) {
      var button = buttons[i];
      if (button.getAttribute("data-ready")) continue;
      button.setAttribute("data-ready", "true");
      if (!document.fullscreenEnabled) continue; // stays hidden where the browser cannot
      button.hidden = false;
      button.addEventListener("click", function (event) {
        var target = document.getElementById(event.currentTarget.getAttribute("data-dashboard-fullscreen"));
        if (document.fullscreenElement) document.exitFullscreen();
        else if (target) target.requestFullscreen();
      });
    }
  }

  // After a drag the remove buttons name the tiles' new positions.
  function renumber(list) {
    var buttons = list.querySelectorAll("[data-drop-tile]");
    for (var i = 0; i < buttons.length; i++) buttons[i].value = String(i);
  }

  function sortable(root) {
    if (typeof Sortable === "undefined" || !root.querySelectorAll) return;
    var lists = root.querySelectorAll("[data-dashboard-tiles]");
    for (var i = 0; i < lists.length; i++) {
      if (Sortable.get(lists[i])) continue;
      Sortable.create(lists[i], {
        animation: 0,
        handle: ".drag-handle",
        onEnd: function (event) {
          // Sortable leaves empty style attributes behind; drop them (the policy)
          var moved = event.item;
          if (moved && moved.getAttribute("style") === "") moved.removeAttribute("style");
          renumber(event.to);
        }
      });
    }
  }

  function init(root) {
    place(root);
    fullscreen(root);
    sortable(root);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
  document.addEventListener("fullscreenchange", function () {
    window.dispatchEvent(new Event("resize")); // charts take their new size
  });
})();
