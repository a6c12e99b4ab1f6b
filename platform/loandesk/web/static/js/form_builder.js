/* The form builder's drag and drop (SortableJS, vendored). Fields move within and across the
   sections' lists, sections among themselves; on a drop the whole layout is posted to the
   builder's `data-arrange-url` (htmx adds the CSRF header) and the answer replaces #builder.
   Keyboard users have the up/down buttons, which work without any of this.
   After a swap, the element marked `data-focus` (the button just used) gets the focus back. */
(function () {
  "use strict";

  function layoutOf(builder) {
    var layout = [];
    var lists = builder.querySelectorAll("ul[data-sortable=fields]");
    for (var i = 0; i < lists.length; i++) {
      var keys = [];
      var items = lists[i].children;
      for (var j = 0; j < items.length; j++) {
        var key = items[j].getAttribute("data-field-key");
        if (key) keys.push(key);
      }
      layout.push({ section: lists[i].getAttribute("data-section-key"), fields: keys });
    }
    return layout;
  }

  function save(builder) {
    // Sortable leaves empty style attributes on what it moved; htmx would copy them onto the
    // new content while it settles, which the page's Content-Security-Policy refuses.
    var styled = builder.querySelectorAll("[style]");
    for (var i = 0; i < styled.length; i++) styled[i].removeAttribute("style");
    htmx.ajax("POST", builder.getAttribute("data-arrange-url"), {
      target: "#builder",
      swap: "outerHTML",
      values: { layout: JSON.stringify(layoutOf(builder)) }
    });
  }

  function moved(event) {
    return event.from !== event.to || event.oldIndex !== event.newIndex;
  }

  // Sortable's own pointer-driven dragging rather than the browser's HTML5 drag and drop:
  // the same on every browser, touch screens included.
  // No animation: it leaves inline styles behind (see save).
  var common = { animation: 0, forceFallback: true, fallbackTolerance: 3 };

  function options(extra) {
    var found = {};
    for (var key in common) found[key] = common[key];
    for (key in extra) found[key] = extra[key];
    return found;
  }

  function init(root) {
    if (!root || !root.querySelector || typeof Sortable === "undefined") return;
    var builder = root.id === "builder" ? root : root.querySelector("#builder");
    if (!builder) return;
    var onEnd = function (event) { if (moved(event)) save(builder); };
    var lists = builder.querySelectorAll("ul[data-sortable=fields]");
    for (var i = 0; i < lists.length; i++) {
      if (Sortable.get(lists[i])) continue;
      Sortable.create(lists[i], options({
        group: "fields", handle: ".drag-handle", draggable: "li[data-field-key]", onEnd: onEnd
      }));
    }
    var sections = builder.querySelector("[data-sortable=sections]");
    if (sections && !Sortable.get(sections)) {
      Sortable.create(sections, options({
        handle: ".section-handle", draggable: ".builder-section", onEnd: onEnd
      }));
    }
    var focus = builder.querySelector("[data-focus]");
    if (focus && focus.disabled) {  // moved to an end: its other arrow
      var holder = focus.closest("[data-field-key], .builder-section");
      focus = holder && holder.querySelector("button:not([disabled])");
    }
    if (focus) focus.focus();
  }

  document.addEventListener("htmx:load", function (event) { init(event.target); });
  document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
