// The template editor's live preview: a moment after typing stops, the form is posted to
// the preview frame (the same request as the Preview button), so the admin sees the sample
// contract as it will print.
(function () {
  "use strict";
  function start() {
    var form = document.getElementById("template-form");
    if (!form) return;
    var url = form.getAttribute("data-preview-url");
    var timer = null;
    function preview() {
      var action = form.getAttribute("action");
      form.setAttribute("action", url);
      form.setAttribute("target", "template-preview");
      form.submit();
      if (action === null) form.removeAttribute("action"); else form.setAttribute("action", action);
      form.removeAttribute("target");
    }
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(preview, 600);
    });
    preview();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
